"""``vaar publish``: a manifest and the media it points to → a Hugging Face dataset folder.

::

    vaar publish build/manifest.parquet --splits splits/v1 --out build/dataset
    vaar publish build/manifest.parquet --out build/dataset            # make a split here
    vaar publish build/manifest.parquet --splits splits/v1 --licenses cc-by,cc-by-sa,cc0 --out build/open

Reads only the manifest (and the clip and audio files it names, relative to its folder). Exit
codes: 0 published; 2 bad input or nothing publishable (one line; an older dataset folder at
``--out`` is then moved aside to ``OUT.stale``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vaar.curation.publish.private_sources import add_private_test_arguments
from vaar.curation.publish.release import add_release_arguments
from vaar.curation.publish.result_text import result_lines

HELP = "publish the ok clips of a manifest as a Hugging Face dataset folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("manifest", type=Path, metavar="MANIFEST", help="manifest.parquet written by `vaar build`")
    p.add_argument("--out", type=Path, required=True, metavar="DATASET", help="dataset folder to write")
    p.add_argument("--splits", type=Path, metavar="DIR",
                   help="committed split folder (splits/vN, verified against its SHA256SUMS); "
                        "default: make a split of the manifest's ok clips")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of a split made here")
    p.add_argument("--ratios", default="0.7,0.1,0.2", metavar="T,V,T",
                   help="train,validation,test fractions of a split made here")  # fmt: skip
    p.add_argument("--shard-mb", type=int, default=500, help="target size of a data shard, MB")
    add_private_test_arguments(p)
    p.add_argument("--taxonomy", metavar="YAML", help="taxonomy file (default: the packaged one)")
    p.add_argument("--licenses", metavar="IDS",
                   help="publish only clips whose video licence is one of these, e.g. cc-by,cc-by-sa,cc0 "
                        "(redistributable media); default: all, the card counts the unknown ones")  # fmt: skip
    add_release_arguments(p)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from vaar.core.errors import ConfigError
    from vaar.core.taxonomy import load_taxonomy
    from vaar.curation.licences import parse_families
    from vaar.curation.publish.folder import PublishConfig, publish
    from vaar.curation.publish.private_sources import private_test_options
    from vaar.curation.publish.release import release_options
    from vaar.curation.split import parse_ratios

    if args.shard_mb < 1:
        raise ConfigError(f"--shard-mb {args.shard_mb}: need a size >= 1 MB")
    cfg = PublishConfig(ratios=parse_ratios(args.ratios), seed=args.seed, shard_bytes=args.shard_mb << 20,
                        **private_test_options(args), **release_options(args),
                        licenses=parse_families(args.licenses) if args.licenses is not None else None)  # fmt: skip
    res = publish(args.manifest, args.splits, args.out, cfg, taxonomy=load_taxonomy(args.taxonomy))
    con = Console(highlight=False, soft_wrap=True)
    for line in result_lines(res):
        con.print(line)
    return 0
