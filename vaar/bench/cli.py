"""``vaar-bench``: scoring, submissions, leaderboard, and the baselines' features/train/predict."""

from __future__ import annotations

import sys

from vaar._cli import make_main

COMMANDS: dict[str, str] = {
    "score": "vaar.bench.cmd_score",
    "submit": "vaar.bench.cmd_submit",
    "init-model": "vaar.bench.cmd_init_model",
    "leaderboard": "vaar.bench.cmd_leaderboard",
    "schema": "vaar.bench.cmd_schema",
    "robustness": "vaar.robustness.cmd_robustness",
    "serve": "vaar.bench.host.cmd_serve",
    "worker": "vaar.bench.host.cmd_worker",
    "host": "vaar.bench.host.cmd_host",
    "features": "vaar.baselines.cmd_features",
    "train": "vaar.baselines.cmd_train",
    "predict": "vaar.baselines.cmd_predict",
    "train-xd": "vaar.baselines.cmd_xd",
    "xd-frames": "vaar.baselines.cmd_xd_frames",
}

main = make_main("vaar-bench", "Benchmark models on VAAR and XD-Violence.", COMMANDS)

if __name__ == "__main__":
    sys.exit(main(None))
