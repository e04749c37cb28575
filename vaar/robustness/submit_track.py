"""The ``vaar-bench submit --robustness`` hook: run the track for a ``--model`` submission.

``robustness_for_entry`` scores the model on every corruption x severity (:func:`run_robustness`
with the model's ``predict``), copies the heat map to ``LEADERBOARD/robustness/<task>/<slug>.png``
and returns the block stored in the entry (:func:`vaar.robustness.board.entry_block`).
The model is reached through :func:`model_predict`, the one place that turns ``--model`` into a
``predict(clips)`` callable: where submissions run in a sandboxed process, that callable is the
sandbox's, so the corrupted clips go through the same sandbox as the clean ones.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vaar.bench.hooks import SUBMIT_TRACKS


def model_predict(spec: str, limits: Any = None) -> Any:
    """``predict(clips)`` of the ``--model`` factory, answered by the model's own sandboxed process
    (:class:`vaar.bench.sandbox.SandboxedPredict`; a context manager: close it when done)."""
    from vaar.bench.sandbox import Limits, SandboxedPredict

    return SandboxedPredict(spec, limits if limits is not None else Limits())


def robustness_for_entry(
    predict: Callable[[Sequence[Any]], Any], dataset: Path, split: str, leaderboard: Path, task: str, slug: str,
    *, resamples: int = 1000, seed: int = 0, cache: Path | None = None, name: str | None = None,
    corruptions: Sequence[str] | None = None, severities: Sequence[int] = (1, 2, 3, 4, 5),
    progress: Callable[[int, int, str], None] | None = None, predictions_dir: Path | None = None,
    batch_size: int | None = None, truth: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """The entry's robustness block; ``predictions_dir``: where the per-condition predictions
    (the ``--rescore`` input, named by the block's ``predictions_sha256``) are kept, beside the
    clean predictions file; ``batch_size``: clips per ``predict`` call (default: the model's own,
    as for the clean run); ``truth``: the labels the clean run was scored on (``--labels`` on a
    host), else the split's own."""
    from vaar.core._util.atomic import atomic_write_bytes
    from vaar.robustness.board import entry_block
    from vaar.robustness.scoring import run_robustness

    with tempfile.TemporaryDirectory(prefix="vaar-robust-") as tmp:
        res = run_robustness(predict, dataset, Path(tmp) / "out", split=split, resamples=resamples,
                             corruptions=corruptions, severities=severities,
                             bootstrap_seed=seed, cache=cache, name=name, progress=progress,
                             batch_size=batch_size or _batch_size(predict), truth=truth)  # fmt: skip
        target = leaderboard / "robustness" / task / f"{slug}.png"
        atomic_write_bytes(target, (res.out / "heatmap.png").read_bytes())
        if predictions_dir is not None:
            atomic_write_bytes(predictions_dir / f"{slug}.robustness.csv", (res.out / "predictions.csv").read_bytes())
        return entry_block(res.summary)


def _batch_size(predict: Any) -> int:
    """The sandboxed model's clips per request (:meth:`SandboxedPredict.batch_size`), else the default."""
    from vaar.bench.sandbox import DEFAULT_BATCH_SIZE

    own = getattr(predict, "batch_size", None)
    return int(own()) if callable(own) else DEFAULT_BATCH_SIZE


def run_for_model(
    spec: str, limits: Any, dataset: Path, split: str, leaderboard: Path, task: str, slug: str, **kwargs: Any
) -> dict[str, Any]:
    """The ``submit --robustness`` track (:data:`vaar.bench.hooks.SUBMIT_TRACKS`): the ``--model``
    in its sandbox, scored on every corruption x severity; returns the entry's block."""
    with model_predict(spec, limits) as predict:
        return robustness_for_entry(predict, dataset, split, leaderboard, task, slug, **kwargs)


SUBMIT_TRACKS.add("robustness", run_for_model)
