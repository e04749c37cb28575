"""``vaar-bench submit``: validate, score and add an entry to the leaderboard, then re-render it."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaar.bench._args import add_truth_arguments, max_bytes, truth_source

HELP = "validate and score predictions (or a model), add the entry and re-render the leaderboard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("predictions", type=Path, nargs="?", metavar="PREDICTIONS",
                   help="predictions file (CSV, Parquet or JSONL); omit with --model")
    p.add_argument("--model", metavar="PKG.MODULE:FACTORY",
                   help="score a model instead of a file: run it over --dataset's split on the CPU, "
                        "measuring parameters and latency (protocol: vaar.bench.model)")
    p.add_argument("--name", required=True, help="model name shown on the leaderboard (its slug names the entry)")
    add_truth_arguments(p)
    p.add_argument("--leaderboard", type=Path, default=Path("leaderboard"), metavar="DIR",
                   help="leaderboard folder (default ./leaderboard)")
    p.add_argument("--meta", type=Path, metavar="MODEL.yaml",
                   help="model description: url, modalities, paper, code, notes (not costs)")
    p.add_argument("--replace", action="store_true", help="overwrite an existing entry of the same name")
    p.add_argument("--batch-size", type=int, default=None, help="clips per predict() call with --model")
    p.add_argument("--latency-clips", type=int, default=16, help="clips timed one by one with --model (default 16)")
    p.add_argument("--save-predictions", type=Path, metavar="FILE",
                   help="with --model, also write the model's predictions CSV here")


def run(args: argparse.Namespace) -> int:
    import tempfile

    from vaar.bench.entry import Cost, DatasetRef, Entry, load_meta, slugify
    from vaar.bench.leaderboard import entry_path, submit_entry
    from vaar.bench.tasks import get_task
    from vaar.errors import ConfigError, SubmissionError

    if (args.predictions is None) == (args.model is None):
        raise ConfigError("give a PREDICTIONS file or --model PKG.MODULE:FACTORY (one of them)")
    task = get_task(args.task)
    source = truth_source(args)
    slug = slugify(args.name)
    meta = load_meta(args.meta, args.name)
    target = entry_path(args.leaderboard, task.name, slug)
    if target.exists() and not args.replace:  # checked again under the lock
        raise SubmissionError(f"{target}: an entry {slug!r} for {task.name} exists; "
                              "pass --replace to overwrite it, or choose another --name")
    truth = task.load_truth(source)
    cost = Cost()
    with tempfile.TemporaryDirectory(prefix="vaar-bench-") as tmp:
        preds_path = args.predictions
        if args.model is not None:
            if args.dataset is None or not task.supports_dataset:
                raise ConfigError("--model runs over a published VAAR dataset: give --dataset DIR "
                                  "(and a vaar-cls or vaar-binary --task)")
            from vaar._util.progress import progress_bar
            from vaar.bench.model import run_model

            with progress_bar("predict") as update:
                text, cost = run_model(args.model, args.dataset, args.split, truth,
                                       batch_size=args.batch_size, latency_clips=args.latency_clips,
                                       progress=lambda done, total: update(done, total, ""))
            preds_path = Path(args.save_predictions or Path(tmp) / "predictions.csv")
            preds_path.write_text(text, encoding="utf-8")
        preds = task.read_predictions(preds_path, truth, max_bytes=max_bytes(args))
    report = task.score(preds, truth, resamples=args.bootstrap, seed=args.seed)
    dataset = DatasetRef(
        source=(args.dataset.resolve().name if args.dataset is not None else Path(truth.source).name),
        split=args.split if args.dataset is not None else None,
        split_sha256=report.split_sha256,
        version=getattr(truth, "dataset_version", None),
    )
    entry = Entry(slug=slug, model=meta, report=report, dataset=dataset,
                  predictions_sha256=preds.sha256, cost=cost).to_dict()
    path = submit_entry(args.leaderboard, entry, replace=args.replace)
    main = report.scores.get(report.main_score)
    shown = "n/a" if main is None else f"{100 * main:.2f}"
    print(f"{task.name}: {args.name} {task.score_labels[report.main_score]} {shown} -> {path}")
    if cost.measured:
        print(f"  parameters {cost.parameters}, CPU latency {cost.latency_ms_per_clip:.1f} ms/clip "
              f"(median of {cost.latency_clips})")
    print(f"  re-rendered {args.leaderboard / 'LEADERBOARD.md'} and {args.leaderboard / 'index.html'}")
    return 0
