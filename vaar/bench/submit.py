"""Submit to the leaderboard, as a library: validate, score, write the entry, re-render.

``vaar-bench submit`` turns its flags into a :class:`Submission`, calls :func:`submit` and prints
the :class:`SubmitResult`; a host, a notebook or a test calls :func:`submit` the same way. Nothing
here prints: long steps report through ``progress(stage, done, total, text)`` (stages
``"predict"`` for a ``--model`` run and ``"robustness"`` for the robustness track).

A predictions file or a model (run in its own sandboxed process over the dataset's media, never
the labels; :mod:`vaar.bench.sandbox`) is scored against the truth, the entry is written under the
leaderboard's lock and both pages are re-rendered (:func:`vaar.bench.leaderboard.submit_entry`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaar.bench.leaderboard import LOCK_TIMEOUT_S, entry_path, submit_entry
from vaar.bench.make_entry import Cost, DatasetRef, Entry, load_meta, slugify
from vaar.bench.sandbox import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, Limits
from vaar.bench.tasks import DEFAULT_RESAMPLES, DEFAULT_SEED, ScoreReport, Task, get_task
from vaar.bench.truth import TruthSource, keyed_file_identity
from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES
from vaar.core.errors import ConfigError, SubmissionError

#: ``progress(stage, done, total, text)``
Progress = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class ModelRun:
    """A ``--model PKG.MODULE:FACTORY`` submission: how its sandboxed run is limited and timed."""

    spec: str
    batch_size: int | None = None  # clips per predict() call (None: the model's choice)
    latency_clips: int = 16  # clips timed one by one
    timeout_s: float = DEFAULT_TIMEOUT_S  # wall-clock limit of the whole run
    memory_mb: int = DEFAULT_MEMORY_MB  # address-space limit of the model's process
    save_predictions: Path | None = None  # also keep the model's predictions CSV here

    def check(self) -> None:
        if not 0 <= self.latency_clips <= 10_000 or (self.batch_size is not None and not 1 <= self.batch_size <= 256):
            raise ConfigError("--latency-clips must be in [0, 10000] and --batch-size in [1, 256]")
        if not 0 < self.timeout_s <= 7 * 24 * 3600 or not 64 <= self.memory_mb <= 1 << 22:
            raise ConfigError("--model-timeout must be in (0, 604800] s and --model-memory-mb in [64, 4194304]")

    @property
    def limits(self) -> Limits:
        return Limits(self.timeout_s, self.memory_mb)


@dataclass(frozen=True)
class Submission:
    """One submission: exactly one of ``predictions`` and ``model``."""

    name: str  # shown on the leaderboard; its slug names the entry
    source: TruthSource  # the host's labels, or a dataset's split
    task: str = "vaar-cls"
    dataset: Path | None = None  # the published folder: its split's media for a model, its name for the entry
    split: str = "test"
    predictions: Path | None = None
    model: ModelRun | None = None
    leaderboard: Path = Path("leaderboard")
    meta: Path | None = None  # model description YAML (url, modalities, paper, code, notes)
    replace: bool = False  # overwrite an entry of the same name
    lock_timeout: float = LOCK_TIMEOUT_S
    robustness: bool = False  # also run the robustness track (a --model on vaar-cls)
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class SubmitResult:
    path: Path  # the entry written
    entry: dict[str, Any]
    report: ScoreReport
    cost: Cost
    task: Task
    skipped: list[str] = field(default_factory=list)  # entries the re-render left out, and why


def _check(sub: Submission) -> None:
    if (sub.predictions is None) == (sub.model is None):
        raise ConfigError("give a PREDICTIONS file or --model PKG.MODULE:FACTORY (one of them)")
    if sub.robustness and (sub.model is None or sub.task != "vaar-cls"):
        raise ConfigError("--robustness runs a --model on corrupted media: give --model and --task vaar-cls")
    if sub.model is not None:
        sub.model.check()


def _run_model(sub: Submission, model: ModelRun, task: Task, truth: Any, progress: Progress | None) -> tuple[str, Cost]:
    from vaar.bench.sandbox import run_model

    if sub.dataset is None or not task.supports_dataset:
        raise ConfigError("--model runs over a published VAAR dataset's media: give --dataset DIR "
                          "(and a vaar-cls or vaar-binary --task; --labels FILE for private labels)")

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress("predict", done, total, "")

    text, m = run_model(model.spec, sub.dataset, sub.split, truth.clip_ids, batch_size=model.batch_size,
                        latency_clips=model.latency_clips, limits=model.limits, progress=report)
    return text, Cost(parameters=m.parameters, latency_ms_per_clip=m.latency_ms_per_clip,
                      latency_clips=m.latency_clips, device="cpu", threads=m.threads, measured=True,
                      measurement=m.measurement)


def submit(sub: Submission, *, progress: Progress | None = None) -> SubmitResult:
    """Validate and score ``sub``, add its entry to the leaderboard and re-render the pages.

    Raises :class:`~vaar.core.errors.ConfigError` or :class:`~vaar.core.errors.SubmissionError`
    (one line: what is wrong and the fix) before anything is written.
    """
    _check(sub)
    task = get_task(sub.task)
    slug = slugify(sub.name)
    meta = load_meta(sub.meta, sub.name)
    target = entry_path(sub.leaderboard, task.name, slug)
    if target.exists() and not sub.replace:  # checked again under the lock
        raise SubmissionError(f"{target}: an entry {slug!r} for {task.name} exists; "
                              "pass --replace to overwrite it, or choose another --name")
    truth = task.load_truth(sub.source)
    private = sub.source.labels is not None and bool(task.supports_dataset)
    cost = Cost()
    with tempfile.TemporaryDirectory(prefix="vaar-bench-") as tmp:
        preds_path = sub.predictions
        if sub.model is not None:
            text, cost = _run_model(sub, sub.model, task, truth, progress)
            preds_path = Path(sub.model.save_predictions or Path(tmp) / "predictions.csv")
            preds_path.write_text(text, encoding="utf-8")
        assert preds_path is not None
        preds = task.read_predictions(preds_path, truth, max_bytes=sub.max_bytes)
        preds_id = keyed_file_identity(truth.sha256, Path(preds_path), preds.sha256, sub.source.host_secret_file)
    report = task.score(preds, truth, resamples=sub.resamples, seed=sub.seed)
    dataset = DatasetRef(
        source=(sub.dataset.resolve().name if sub.dataset is not None else Path(truth.source).name),
        split=sub.split if sub.dataset is not None else None,
        split_sha256=report.split_sha256,
        version=getattr(truth, "dataset_version", None),
        private=private,
    )
    entry = Entry(slug=slug, model=meta, report=report, dataset=dataset,
                  predictions_sha256=preds_id, cost=cost).to_dict()
    if sub.robustness and sub.model is not None:  # the robustness track (a vaar.bench.hooks tenant), same sandbox
        from vaar.bench.hooks import SUBMIT_TRACKS

        track = SUBMIT_TRACKS.get("robustness")

        def robust_progress(done: int, total: int, text: str) -> None:
            if progress is not None:
                progress("robustness", done, total, text)

        entry["robustness"] = track(
            sub.model.spec, sub.model.limits, sub.dataset, sub.split, sub.leaderboard, task.name, slug,
            resamples=sub.resamples, seed=sub.seed, name=sub.name, progress=robust_progress, truth=truth,
            predictions_dir=sub.model.save_predictions.parent if sub.model.save_predictions else None)
    path, board = submit_entry(sub.leaderboard, entry, replace=sub.replace, lock_timeout=sub.lock_timeout)
    return SubmitResult(path=path, entry=entry, report=report, cost=cost, task=task, skipped=list(board.skipped))
