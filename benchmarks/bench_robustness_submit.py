"""Wall time of ``vaar-bench submit --model ... --robustness`` on the sample, first and second time.

The first submission makes every corrupted file (18 corruptions x 5 severities x the test clips)
into a fresh persistent cache; the second finds them all there (issue 24, item 5: targets on 2
cores: first <= 5 min, second <= 2 min for the 20 sample clips). The model is the template that
``vaar-bench init-model`` writes (or, with ``--run``, a trained baseline served by
``vaar.baselines.serve:from_run``). Each run is a fresh process, as a user runs it, from the
model's folder; the machine may be shared, so the load average is printed beside the times.

    .venv/bin/vaar build --sample --out demo          # or make demo
    .venv/bin/python benchmarks/bench_robustness_submit.py --dataset demo/dataset [--run demo/runs/avarnet] [--cache DIR]

With ``--cache`` pointing at a cache that already holds every corrupted file (for instance the
one ``vaar-bench robustness --run`` filled: both paths share it), both runs are "second" runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def submit(args: argparse.Namespace, model_dir: Path, leaderboard: Path, cache: Path, name: str) -> float:
    env = {**os.environ, "VAAR_ROBUSTNESS_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    spec = "mymodel:factory"
    if args.run is not None:
        env["VAAR_BASELINE_RUN"] = str(args.run.resolve())
        spec = "vaar.baselines.serve:from_run"
    cmd = [sys.executable, "-m", "vaar.bench.cli", "submit", "--model", spec, "--name", name,
           "--dataset", str(args.dataset.resolve()), "--split", "test", "--leaderboard", str(leaderboard),
           "--robustness", "--latency-clips", "2", "--bootstrap", "200"]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, cwd=model_dir)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--run", type=Path, help="a run folder of `vaar-bench train` (default: the init-model template)")
    p.add_argument("--cache", type=Path, help="an existing corrupted-media cache to start from (default: a fresh one)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-robust-") as tmp:
        os.chmod(tmp, 0o755)  # the sandboxed model runs as another user: its folder must be readable
        model_dir = Path(tmp) / "model"
        subprocess.run([sys.executable, "-m", "vaar.bench.cli", "init-model", str(model_dir)], check=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL)  # fmt: skip
        lb, cache = Path(tmp) / "lb", a.cache or Path(tmp) / "cache"
        load0 = os.getloadavg()[0]
        first = submit(a, model_dir, lb, cache, "first")
        load1 = os.getloadavg()[0]
        second = submit(a, model_dir, lb, cache, "second")
        load2 = os.getloadavg()[0]
        files = sum(1 for f in cache.rglob("*") if f.is_file())
    model = f"run {a.run}" if a.run else "init-model template"
    print(f"model: {model}; {os.cpu_count()} CPUs")
    print(f"first submit --robustness:  {first:7.1f} s wall (load {load0:.1f} -> {load1:.1f}; {files} files cached)")
    print(f"second submit --robustness: {second:7.1f} s wall (load {load1:.1f} -> {load2:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
