"""`make bench`: run every benchmark script with its default (README) arguments, in turn.

Each script prints its own figures; the README's tables quote them. Run one script alone to
measure one thing (see each script's docstring). Timings are only comparable within one run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ["bench_build.py", "overhead", "--clips", "50"],
    ["bench_build.py", "scaling", "--clips", "50"],
    ["bench_build.py", "memory", "--clips", "200", "1000"],
    ["bench_peer.py"],  # vaar alone unless video2dataset 1.3.0 is installed (see its docstring)
    ["bench_sync.py", "all"],
    ["bench_split.py"],
    ["bench_publish.py", "--clips", "20000"],
    ["bench_score.py"],
    ["bench_features.py"],
    ["bench_train.py"],
    ["bench_ray.py", "--clips", "200"],
    ["bench_review.py", "--clips", "20"],
    ["bench_youtube.py"],  # 300 clips over 30 one-hour YouTube-shaped sources (docs/curate/youtube.md)
]


def main() -> int:
    failed = []
    for run in RUNS:
        print(f"\n=== {' '.join(run)} ===", flush=True)
        rc = subprocess.call([sys.executable, str(HERE / run[0]), *run[1:]])
        if rc != 0:
            failed.append(" ".join(run))
    print("\nall benchmarks ran" if not failed else f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
