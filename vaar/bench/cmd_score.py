"""``vaar-bench score``: score a predictions file against a split, with bootstrap intervals."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaar.bench._args import add_truth_arguments, is_private, max_bytes, truth_source

HELP = "score a predictions file (CSV, Parquet or JSONL) against the labels of a split"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("predictions", type=Path, metavar="PREDICTIONS", help="predictions file to score")
    add_truth_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--per-class", action="store_true",
                   help="host only: also show per-class scores on private labels (--labels); never hand "
                        "this output to a submitter")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from vaar.bench.summary import format_report
    from vaar.bench.tasks import get_task

    task = get_task(args.task)
    source = truth_source(args)
    truth = task.load_truth(source)
    preds = task.read_predictions(args.predictions, truth, max_bytes=max_bytes(args))
    report = task.score(preds, truth, resamples=args.bootstrap, seed=args.seed)
    if is_private(args, task) and not args.per_class:
        report = dataclasses.replace(report, per_class={})
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        print(format_report(report, task.score_labels, str(args.predictions)))
    return 0
