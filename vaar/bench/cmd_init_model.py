"""``vaar-bench init-model DIR``: write a template model that ``submit --model`` runs as is."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "write a runnable template model (mymodel.py, model.yaml, SUBMIT.md) into DIR"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, metavar="DIR", help="folder to write into (created; files are never overwritten)")


def run(args: argparse.Namespace) -> int:
    from vaar.bench.init_model import write_template

    t = write_template(args.folder)
    for path in t.files:
        print(f"wrote {path}")
    print(f"submit it from that folder: cd {t.folder} && vaar-bench submit --model {t.spec} --name my-model "
          "--meta model.yaml --dataset DATASET --split test   (see SUBMIT.md)")
    return 0
