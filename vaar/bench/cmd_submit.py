"""``vaar-bench submit``: validate, score and add an entry to the leaderboard, then re-render it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vaar.bench._args import add_truth_arguments, max_bytes, truth_source

HELP = "validate and score predictions (or a model), add the entry and re-render the leaderboard"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from vaar.bench.leaderboard import LOCK_TIMEOUT_S
    from vaar.bench.sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

    p.add_argument("predictions", type=Path, nargs="?", metavar="PREDICTIONS",
                   help="predictions file (CSV, Parquet or JSONL); omit with --model")
    p.add_argument("--model", metavar="PKG.MODULE:FACTORY",
                   help="score a model instead of a file: run it in its own process over --dataset's media "
                        "(never the labels), on the CPU, measuring parameters and latency (vaar.bench.sandbox)")
    p.add_argument("--name", help="model name shown on the leaderboard (its slug names the entry); "
                                  "not with --remote (the host names entries by team)")
    add_truth_arguments(p)
    p.add_argument("--leaderboard", type=Path, default=Path("leaderboard"), metavar="DIR",
                   help="leaderboard folder (default ./leaderboard)")
    p.add_argument("--meta", type=Path, metavar="MODEL.yaml",
                   help="model description: url, modalities, paper, code, notes (not costs)")
    p.add_argument("--replace", action="store_true", help="overwrite an existing entry of the same name")
    p.add_argument("--batch-size", type=int, default=None, help="clips per predict() call with --model")
    p.add_argument("--latency-clips", type=int, default=16, help="the first N scored clips are requested one at a time with --model (their median is recorded; "
                        "the latency is the per-clip time of every scored request; default 16)")
    p.add_argument("--model-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                   help=f"wall-clock limit for the whole --model run; past it the model is killed (default {DEFAULT_TIMEOUT_S:g})")
    p.add_argument("--model-memory-mb", type=int, default=DEFAULT_MEMORY_MB, metavar="MB",
                   help=f"memory limit of the model's whole process tree (a cgroup where available, else "
                        f"per process; default {DEFAULT_MEMORY_MB})")
    p.add_argument("--lock-timeout", type=float, default=LOCK_TIMEOUT_S, metavar="S",
                   help=f"wait at most this long for another submission's lock (default {LOCK_TIMEOUT_S:g})")
    p.add_argument("--save-predictions", type=Path, metavar="FILE",
                   help="with --model, also write the model's predictions CSV here")
    p.add_argument("--robustness", action="store_true",
                   help="with --model, also score it on the robustness track (vaar-bench robustness) "
                        "and show its mCF1 on the leaderboard")
    p.add_argument("--remote", metavar="URL",
                   help="submit to a hosted benchmark (vaar-bench serve) instead: upload, wait, print the score "
                        "the host releases (vaar.bench.host.client); with it, --model takes FILE.py[:factory]")
    p.add_argument("--token-file", type=Path, metavar="FILE", help="with --remote: the team's token")
    p.add_argument("--wait", type=float, default=600.0, metavar="S",
                   help="with --remote: wait at most this long for the score (default 600; 0: do not wait)")


def run(args: argparse.Namespace) -> int:
    from vaar.bench.submit import ModelRun, Submission, submit
    from vaar.core.errors import ConfigError

    if args.remote is not None:  # the hosted benchmark: upload, wait, print what the host releases
        if (args.predictions is None) == (args.model is None):
            raise ConfigError("give a PREDICTIONS file or --model FILE.py[:factory] (one of them)")
        from vaar.bench.host.cli_submit import submit_remote

        return submit_remote(args)
    if args.name is None:
        raise ConfigError("--name is required: the model name shown on the leaderboard")
    model = None if args.model is None else ModelRun(
        args.model, batch_size=args.batch_size, latency_clips=args.latency_clips, timeout_s=args.model_timeout,
        memory_mb=args.model_memory_mb, save_predictions=args.save_predictions)
    sub = Submission(name=args.name, source=truth_source(args), task=args.task, dataset=args.dataset, split=args.split,
                     predictions=args.predictions, model=model, leaderboard=args.leaderboard, meta=args.meta,
                     replace=args.replace, lock_timeout=args.lock_timeout, robustness=args.robustness,
                     resamples=args.bootstrap, seed=args.seed, max_bytes=max_bytes(args))
    with _Bars() as bars:
        res = submit(sub, progress=bars.update)
    for line in res.skipped:
        print(f"warning: {line}", file=sys.stderr)
    report, cost, task = res.report, res.cost, res.task
    main = report.scores.get(report.main_score)
    shown = "n/a" if main is None else f"{100 * main:.2f}"
    print(f"{task.name}: {args.name} {task.score_labels[report.main_score]} {shown} -> {res.path}")
    if cost.measured:
        params = "not measured (no torch modules)" if cost.parameters is None else str(cost.parameters)
        lat = "n/a" if cost.latency_ms_per_clip is None else f"{cost.latency_ms_per_clip:.1f} ms/clip"
        print(f"  parameters {params} (most held during the run), CPU latency {lat} "
              f"(every scored request, {cost.latency_clips} clips)")
        box = (cost.measurement or {}).get("sandbox") or {}
        if box:
            print(f"  sandbox: {box.get('user')}; {box.get('processes')}; memory {box.get('memory')}; "
                  f"network {box.get('network')}")
    if "robustness" in res.entry:
        rb = res.entry["robustness"]
        slug = res.path.stem
        print(f"  robustness: mCF1 {100 * rb['mcf1']:.2f} (clean {100 * rb['clean_macro_f1']:.2f}), "
              f"heat map {args.leaderboard / 'robustness' / task.name / (slug + '.png')}")
    print(f"  re-rendered {args.leaderboard / 'LEADERBOARD.md'} and {args.leaderboard / 'index.html'}")
    return 0


class _Bars:
    """One progress bar a stage of :func:`vaar.bench.submit.submit`, started on the stage's first report."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._bar: Any = None

    def update(self, stage: str, done: int, total: int, text: str) -> None:
        if text.startswith("plan: "):  # the robustness track's estimate, printed before the work starts
            print(f"  {stage}: {text[6:]}", file=sys.stderr)
            text = ""
        if stage != self._stage:
            from vaar.core._util.progress import ProgressBar

            self._stop()
            self._stage, self._bar = stage, ProgressBar(stage)
            self._bar.start(total)
        self._bar.update(done, total, text)

    def _stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> _Bars:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
