"""Wall time of ``vaar-bench submit --model ... --robustness`` on the sample, first and second time.

The first submission makes every corrupted file (18 corruptions x 5 severities x the test clips)
into a fresh persistent cache; the second finds them all there (issue 24, item 5: targets on 2
cores: first <= 5 min, second <= 2 min for the 20 sample clips). Each run is a fresh process, as a
user runs it; the machine may be shared, so the load average is printed beside the times.

    .venv/bin/python benchmarks/bench_robustness_submit.py --dataset demo/dataset --run demo/runs/avarnet \\
        [--cache DIR]

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


def submit(args: argparse.Namespace, leaderboard: Path, cache: Path, name: str) -> float:
    env = {**os.environ, "VAAR_ROBUSTNESS_CACHE": str(cache), "VAAR_BASELINE_RUN": str(args.run),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # fmt: skip
    cmd = [sys.executable, "-m", "vaar.bench.cli", "submit", "--model", "vaar.baselines.serve:from_run",
           "--name", name, "--dataset", str(args.dataset), "--split", "test", "--leaderboard", str(leaderboard),
           "--robustness", "--latency-clips", "2", "--bootstrap", "200"]  # fmt: skip
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--run", type=Path, required=True, help="a run folder of `vaar-bench train`")
    p.add_argument("--cache", type=Path, help="an existing corrupted-media cache to start from (default: a fresh one)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-robust-") as tmp:
        lb, cache = Path(tmp) / "lb", a.cache or Path(tmp) / "cache"
        load0 = os.getloadavg()[0]
        first = submit(a, lb, cache, "first")
        load1 = os.getloadavg()[0]
        second = submit(a, lb, cache, "second")
        load2 = os.getloadavg()[0]
        files = sum(1 for f in cache.rglob("*") if f.is_file())
    print(f"first submit --robustness:  {first:7.1f} s wall (load {load0:.1f} -> {load1:.1f}; {files} files cached)")
    print(f"second submit --robustness: {second:7.1f} s wall (load {load1:.1f} -> {load2:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
