"""``vaar-bench submit``: validate, score and add an entry to the leaderboard, then re-render it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vaar.bench._args import add_truth_arguments, is_private, max_bytes, truth_source

HELP = "validate and score predictions (or a model), add the entry and re-render the leaderboard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vaar.bench.leaderboard import LOCK_TIMEOUT_S
    from vaar.bench.sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

    p.add_argument("predictions", type=Path, nargs="?", metavar="PREDICTIONS",
                   help="predictions file (CSV, Parquet or JSONL); omit with --model")
    p.add_argument("--model", metavar="PKG.MODULE:FACTORY",
                   help="score a model instead of a file: run it in its own process over --dataset's media "
                        "(never the labels), on the CPU, measuring parameters and latency (vaar.bench.sandbox)")
    p.add_argument("--name", required=True, help="model name shown on the leaderboard (its slug names the entry)")
    add_truth_arguments(p)
    p.add_argument("--leaderboard", type=Path, default=Path("leaderboard"), metavar="DIR",
                   help="leaderboard folder (default ./leaderboard)")
    p.add_argument("--meta", type=Path, metavar="MODEL.yaml",
                   help="model description: url, modalities, paper, code, notes (not costs)")
    p.add_argument("--replace", action="store_true", help="overwrite an existing entry of the same name")
    p.add_argument("--batch-size", type=int, default=None, help="clips per predict() call with --model")
    p.add_argument("--latency-clips", type=int, default=16, help="clips timed one by one with --model (default 16)")
    p.add_argument("--model-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                   help=f"wall-clock limit for the whole --model run; past it the model is killed (default {DEFAULT_TIMEOUT_S:g})")
    p.add_argument("--model-memory-mb", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                   help=f"address-space limit of the model's process (default {DEFAULT_MEMORY_MB})")
    p.add_argument("--lock-timeout", type=float, default=LOCK_TIMEOUT_S, metavar="S",
                   help=f"wait at most this long for another submission's lock (default {LOCK_TIMEOUT_S:g})")
    p.add_argument("--save-predictions", type=Path, metavar="FILE",
                   help="with --model, also write the model's predictions CSV here")
    p.add_argument("--robustness", action="store_true",
                   help="with --model, also score it on the robustness track (vaar-bench robustness) "
                        "and show its mCF1 on the leaderboard")


def _run_model(args: argparse.Namespace, task: Any, truth: Any) -> tuple[str, Any]:
    from vaar.bench.make_entry import Cost
    from vaar.bench.sandbox import Limits, run_model
    from vaar.core.errors import ConfigError

    if args.dataset is None or not task.supports_dataset:
        raise ConfigError("--model runs over a published VAAR dataset's media: give --dataset DIR "
                          "(and a vaar-cls or vaar-binary --task; --labels FILE for private labels)")
    if not 0 <= args.latency_clips <= 10_000 or (args.batch_size is not None and not 1 <= args.batch_size <= 256):
        raise ConfigError("--latency-clips must be in [0, 10000] and --batch-size in [1, 256]")
    if not 0 < args.model_timeout <= 7 * 24 * 3600 or not 64 <= args.model_memory_mb <= 1 << 22:
        raise ConfigError("--model-timeout must be in (0, 604800] s and --model-memory-mb in [64, 4194304]")

    from vaar.core._util.progress import ProgressBar

    bar = ProgressBar("predict")
    started = False

    def progress(done: int, total: int) -> None:  # the bar starts once the model has answered
        nonlocal started
        if not started:
            bar.start(total)
            started = True
        bar.update(done, total, "")

    try:
        text, m = run_model(args.model, args.dataset, args.split, truth.clip_ids, batch_size=args.batch_size,
                            latency_clips=args.latency_clips, limits=Limits(args.model_timeout, args.model_memory_mb),
                            progress=progress)
    finally:
        if started:
            bar.stop()
    return text, Cost(parameters=m.parameters, latency_ms_per_clip=m.latency_ms_per_clip,
                      latency_clips=m.latency_clips, device="cpu", threads=m.threads, measured=True)


def run(args: argparse.Namespace) -> int:
    import tempfile

    from vaar.bench.leaderboard import entry_path, submit_entry
    from vaar.bench.make_entry import Cost, DatasetRef, Entry, load_meta, slugify
    from vaar.bench.tasks import get_task
    from vaar.bench.truth import keyed_file_identity
    from vaar.core.errors import ConfigError, SubmissionError

    if (args.predictions is None) == (args.model is None):
        raise ConfigError("give a PREDICTIONS file or --model PKG.MODULE:FACTORY (one of them)")
    if args.robustness and (args.model is None or args.task != "vaar-cls"):
        raise ConfigError("--robustness runs a --model on corrupted media: give --model and --task vaar-cls")
    task = get_task(args.task)
    source = truth_source(args)
    slug = slugify(args.name)
    meta = load_meta(args.meta, args.name)
    target = entry_path(args.leaderboard, task.name, slug)
    if target.exists() and not args.replace:  # checked again under the lock
        raise SubmissionError(f"{target}: an entry {slug!r} for {task.name} exists; "
                              "pass --replace to overwrite it, or choose another --name")
    truth = task.load_truth(source)
    private = is_private(args, task)
    cost = Cost()
    with tempfile.TemporaryDirectory(prefix="vaar-bench-") as tmp:
        preds_path = args.predictions
        if args.model is not None:
            text, cost = _run_model(args, task, truth)
            preds_path = Path(args.save_predictions or Path(tmp) / "predictions.csv")
            preds_path.write_text(text, encoding="utf-8")
        preds = task.read_predictions(preds_path, truth, max_bytes=max_bytes(args))
        preds_id = keyed_file_identity(truth.sha256, Path(preds_path), preds.sha256, source.host_secret_file)
    report = task.score(preds, truth, resamples=args.bootstrap, seed=args.seed)
    dataset = DatasetRef(
        source=(args.dataset.resolve().name if args.dataset is not None else Path(truth.source).name),
        split=args.split if args.dataset is not None else None,
        split_sha256=report.split_sha256,
        version=getattr(truth, "dataset_version", None),
        private=private,
    )
    entry = Entry(slug=slug, model=meta, report=report, dataset=dataset,
                  predictions_sha256=preds_id, cost=cost).to_dict()
    if args.robustness:  # the robustness track (a vaar.bench.hooks tenant), in the same sandbox
        from vaar.bench.hooks import SUBMIT_TRACKS
        from vaar.bench.sandbox import Limits
        from vaar.core._util.progress import progress_bar

        track = SUBMIT_TRACKS.get("robustness")
        with progress_bar("robustness") as update:
            entry["robustness"] = track(
                args.model, Limits(args.model_timeout, args.model_memory_mb), args.dataset, args.split,
                args.leaderboard, task.name, slug, resamples=args.bootstrap, seed=args.seed, name=args.name,
                progress=update)
    path, board = submit_entry(args.leaderboard, entry, replace=args.replace, lock_timeout=args.lock_timeout)
    for line in board.skipped:
        print(f"warning: {line}", file=sys.stderr)
    main = report.scores.get(report.main_score)
    shown = "n/a" if main is None else f"{100 * main:.2f}"
    print(f"{task.name}: {args.name} {task.score_labels[report.main_score]} {shown} -> {path}")
    if cost.measured:
        params = "not measured (no torch modules)" if cost.parameters is None else str(cost.parameters)
        lat = "n/a" if cost.latency_ms_per_clip is None else f"{cost.latency_ms_per_clip:.1f} ms/clip"
        print(f"  parameters {params}, CPU latency {lat} (median of {cost.latency_clips})")
    if "robustness" in entry:
        rb = entry["robustness"]
        print(f"  robustness: mCF1 {100 * rb['mcf1']:.2f} (clean {100 * rb['clean_macro_f1']:.2f}), "
              f"heat map {args.leaderboard / 'robustness' / task.name / (slug + '.png')}")
    print(f"  re-rendered {args.leaderboard / 'LEADERBOARD.md'} and {args.leaderboard / 'index.html'}")
    return 0
