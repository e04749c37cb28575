"""``vaar-bench leaderboard``: re-render the pages from the entries, or re-score stored predictions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "re-render leaderboard/LEADERBOARD.md and index.html from leaderboard/entries (or --rescore them)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vaar.bench._args import add_truth_arguments
    from vaar.bench.leaderboard import LOCK_TIMEOUT_S

    p.add_argument("--leaderboard", type=Path, default=Path("leaderboard"), metavar="DIR",
                   help="leaderboard folder (default ./leaderboard)")
    p.add_argument("--lock-timeout", type=float, default=LOCK_TIMEOUT_S, metavar="S",
                   help=f"wait at most this long for a submission's lock (default {LOCK_TIMEOUT_S:g})")
    p.add_argument("--rescore", type=Path, metavar="PREDICTIONS_DIR",
                   help="host: re-score the stored predictions in this folder (found by their sha256) against "
                        "--labels/--dataset for --task and flag entries whose stored scores differ (exit 1)")
    add_truth_arguments(p)


def run(args: argparse.Namespace) -> int:
    if args.rescore is not None:
        return _rescore(args)
    from vaar.bench.leaderboard import rerender

    paths, board = rerender(args.leaderboard, lock_timeout=args.lock_timeout)
    for line in board.skipped:
        print(f"warning: {line}", file=sys.stderr)
    skipped = f" ({len(board.skipped)} invalid skipped)" if board.skipped else ""
    print(f"rendered {len(board.entries)} entries{skipped}: " + ", ".join(str(p) for p in paths))
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from vaar.bench._args import max_bytes, truth_source
    from vaar.bench.leaderboard import load_board
    from vaar.bench.rescore import rescore
    from vaar.bench.tasks import get_task

    task = get_task(args.task)
    source = truth_source(args)
    truth = task.load_truth(source)
    secret = None
    if truth.sha256.startswith("hmac-sha256:"):  # a private split: entries name their files by HMAC
        from vaar.core.contracts.private_split import load_secret

        secret = load_secret(source.host_secret_file)
    board = load_board(args.leaderboard)
    for line in board.skipped:
        print(f"warning: {line}", file=sys.stderr)
    results = rescore(task, truth, [e for e in board.entries if e["task"] == task.name], args.rescore,
                      max_bytes=max_bytes(args), secret=secret)
    for r in results:
        print(f"{r.status:<11} {task.name}/{r.slug}: {r.detail}")
    bad = [r for r in results if r.status != "ok"]
    print(f"{len(results)} entries: {len(results) - len(bad)} reproduced in every field, {len(bad)} flagged")
    return 1 if bad else 0
