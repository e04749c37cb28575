"""``vaar-bench leaderboard``: re-render LEADERBOARD.md and index.html from the entries."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "re-render leaderboard/LEADERBOARD.md and leaderboard/index.html from leaderboard/entries"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--leaderboard", type=Path, default=Path("leaderboard"), metavar="DIR",
                   help="leaderboard folder (default ./leaderboard)")


def run(args: argparse.Namespace) -> int:
    from vaar.bench.leaderboard import load_entries, rerender

    paths = rerender(args.leaderboard)
    n = len(load_entries(args.leaderboard))
    print(f"rendered {n} entries: " + ", ".join(str(p) for p in paths))
    return 0
