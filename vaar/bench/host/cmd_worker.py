"""``vaar-bench worker HOSTDIR``: score queued submissions (run one or more)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "score the host's queued submissions (public part through the Ladder, private part stored)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hostdir", type=Path, metavar="HOSTDIR", help="folder made by `vaar-bench host init`")
    p.add_argument("--once", action="store_true", help="score what is queued, then exit")
    p.add_argument("--poll", type=float, default=1.0, metavar="S", help="seconds between looks at an empty queue")


def run(args: argparse.Namespace) -> int:
    from vaar.bench.host.config import load_config
    from vaar.bench.host.worker import run_worker
    from vaar.core.errors import ConfigError

    if not 0.05 <= args.poll <= 3600:
        raise ConfigError("--poll must be in [0.05, 3600] seconds")
    load_config(args.hostdir)  # one clean line when HOSTDIR is not a host folder

    def report(job_id: int, outcome: str) -> None:
        print(f"submission {job_id}: {outcome}", file=sys.stderr, flush=True)

    summary = run_worker(args.hostdir, once=args.once, poll_s=args.poll, on_job=report)
    print(f"worker: {summary.scored} scored, {summary.failed} failed, {summary.lost} lost to another worker")
    return 0
