"""Arguments shared by ``vaar-bench score`` and ``vaar-bench submit`` (argparse only)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_TASK = "vaar-cls"
TASKS_HELP = "vaar-cls | vaar-binary | xd-violence"


def add_truth_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default=DEFAULT_TASK, help=f"task ({TASKS_HELP}; default {DEFAULT_TASK})")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--labels", type=Path, metavar="FILE",
                   help="ground truth: labels CSV (clip_id,label) or, for xd-violence, annotations.txt")
    g.add_argument("--dataset", type=Path, metavar="DIR", help="published dataset folder (made by `vaar build`)")
    p.add_argument("--split", default="test", help="split of --dataset to score (default test)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0 for none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--max-mb", type=float, default=200.0, help="refuse predictions files above this size (default 200)")


def truth_source(args: argparse.Namespace):  # -> vaar.bench.truth.TruthSource
    from vaar.bench.truth import TruthSource
    from vaar.errors import ConfigError

    if args.bootstrap < 0:
        raise ConfigError("--bootstrap must be 0 or more")
    return TruthSource(labels=args.labels, dataset=args.dataset, split=args.split)


def max_bytes(args: argparse.Namespace) -> int:
    return int(args.max_mb * 1024 * 1024)
