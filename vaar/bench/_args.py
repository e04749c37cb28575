"""Arguments shared by ``vaar-bench score``, ``submit`` and ``leaderboard --rescore`` (argparse only)."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_TASK = "vaar-cls"
TASKS_HELP = "vaar-cls | vaar-binary | xd-violence"


def add_truth_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", default=DEFAULT_TASK, help=f"task ({TASKS_HELP}; default {DEFAULT_TASK})")
    p.add_argument("--labels", type=Path, metavar="FILE",
                   help="ground truth: labels CSV (clip_id,label) or, for xd-violence, annotations.txt; "
                        "for a VAAR task these are the host's private labels: no per-class scores are "
                        "published (with --dataset, the dataset supplies only the media for --model)")
    p.add_argument("--host-secret-file", type=Path, metavar="FILE",
                   help="host secret that published private --labels (else $VAAR_HOST_SECRET): the split "
                        "identity is then the card's hmac-sha256, never a plain sha256 of the labels")
    p.add_argument("--dataset", type=Path, metavar="DIR", help="published dataset folder (made by `vaar build`)")
    p.add_argument("--split", default="test", help="split of --dataset to score (default test)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0 for none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--max-mb", type=float, default=200.0, help="refuse predictions files above this size (default 200)")


def truth_source(args: argparse.Namespace):  # -> vaar.bench.truth.TruthSource
    """``--labels`` when given (the host's labels), else ``--dataset``'s split."""
    from vaar.bench.truth import TruthSource
    from vaar.core.errors import ConfigError

    if args.bootstrap < 0 or args.bootstrap > 100_000:
        raise ConfigError("--bootstrap must be between 0 and 100000")
    if not 0 <= args.seed < 2**63:
        raise ConfigError("--seed must be between 0 and 2**63 - 1")
    if args.max_mb <= 0 or args.max_mb > 10_000:
        raise ConfigError("--max-mb must be between 0 and 10000")
    if args.labels is not None:
        return TruthSource(labels=args.labels, split=args.split, host_secret_file=args.host_secret_file)
    return TruthSource(dataset=args.dataset, split=args.split)


def is_private(args: argparse.Namespace, task) -> bool:  # type: ignore[no-untyped-def]  # task: vaar.bench.tasks.Task
    """Labels held by the host (``--labels`` on a VAAR task): per-class detail stays with the host."""
    return args.labels is not None and bool(task.supports_dataset)


def max_bytes(args: argparse.Namespace) -> int:
    return int(args.max_mb * 1024 * 1024)
