"""``vaar-bench xd-frames``: the host's frame counts of the XD-Violence test videos (frames.csv)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "XD-Violence host file: frame count of every test video (ROOT/frames.csv) for scoring"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, required=True, help="XD-Violence folder: test/*.mp4, annotations.txt")
    p.add_argument("--out", type=Path, help="where to write (default ROOT/frames.csv, beside annotations.txt)")


def run(args: argparse.Namespace) -> int:
    from vaar.baselines.xd_violence import read_layout, write_frame_counts
    from vaar.bench.truth import xd_official_test_videos

    layout = read_layout(args.root)
    out = args.out or args.root / "frames.csv"
    counts = write_frame_counts(layout.test, out)
    missing = [v for v in xd_official_test_videos() if v not in counts]
    print(f"{out}: {len(counts)} test videos, {sum(counts.values())} frames")
    if missing:
        print(f"{len(missing)} official test video(s) not in {args.root}/test (first: {missing[0]}); "
              "the scorer needs all 800")
        return 1
    return 0
