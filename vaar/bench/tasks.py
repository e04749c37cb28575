"""Task registry: a task knows its ground truth, its predictions format and its scores.

Tasks register by decorator and are looked up by name (names as data, as timm's
``@register_model`` / ``create_model``)::

    @register_task
    class VaarCls(Task): name = "vaar-cls" ...

    get_task("vaar-cls")      # an unknown name lists the valid ones

Registered: ``vaar-cls`` and ``vaar-binary`` (:mod:`vaar.bench.vaar_tasks`), ``xd-violence``
(:mod:`vaar.bench.xd_task`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from vaar.bench.metrics import FloatArray, percentile_interval
from vaar.bench.truth import TruthSource
from vaar.core._util.registry import Registry
from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES
from vaar.core.contracts.task_meta import TASKS as TASK_META

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
_TASK_MODULES = ("vaar.bench.vaar_tasks", "vaar.bench.xd_task")


@dataclass(frozen=True)
class ScoreReport:
    """What ``vaar-bench score --json`` prints and a leaderboard entry stores."""

    task: str
    n: int
    split_sha256: str
    main_score: str
    scores: dict[str, float | None]
    ci95: dict[str, list[float] | None]
    per_class: dict[str, dict[str, float | None]]
    resamples: int
    seed: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n": self.n,
            "split_sha256": self.split_sha256,
            "main_score": self.main_score,
            "scores": self.scores,
            "ci95": self.ci95,
            "per_class": self.per_class,
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "level": 0.95},
            **({"details": self.details} if self.details else {}),
        }


class Task(ABC):
    """One benchmark task. Subclasses set ``name`` and ``truth_help`` and implement three steps;
    ``title``, ``main_score`` and ``score_labels`` come from the task's row in
    :data:`vaar.core.contracts.task_meta.TASKS` (the data the entry contract is built from)."""

    name: ClassVar[str]
    title: ClassVar[str]
    main_score: ClassVar[str]
    #: score name -> column header, in display order
    score_labels: ClassVar[dict[str, str]]
    #: what the labels are (for ``--help`` and errors)
    truth_help: ClassVar[str]
    supports_dataset: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return
        meta = TASK_META.get(name)
        if meta is None:
            raise TypeError(f"task {name!r} has no row in vaar.core.contracts.task_meta.TASKS")
        cls.title, cls.main_score, cls.score_labels = meta.title, meta.main_score, dict(meta.score_labels)

    @abstractmethod
    def load_truth(self, source: TruthSource) -> Any:
        """Read and check the ground truth."""

    @abstractmethod
    def read_predictions(self, path: Path, truth: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
        """Read and validate an untrusted predictions file against ``truth``."""

    @abstractmethod
    def score(self, predictions: Any, truth: Any, *, resamples: int = DEFAULT_RESAMPLES,
              seed: int = DEFAULT_SEED) -> ScoreReport:
        """Point scores, percentile bootstrap intervals and per-class scores."""


_T = TypeVar("_T", bound=type[Task])
TASKS: Registry[type[Task]] = Registry("task", modules=_TASK_MODULES)


def register_task(cls: _T) -> _T:
    TASKS.add(cls.name, cls)
    return cls


def task_names() -> tuple[str, ...]:
    return tuple(TASKS.names())


def get_task(name: str) -> Task:
    return TASKS.get(name)()


def finish(
    task: Task,
    *,
    n: int,
    split_sha256: str,
    point: dict[str, float | None],
    samples: dict[str, list[FloatArray]],
    per_class: dict[str, dict[str, float | None]],
    resamples: int,
    seed: int,
    details: dict[str, Any] | None = None,
) -> ScoreReport:
    """Assemble a report: ``samples`` holds bootstrap blocks per score name."""
    ci95: dict[str, list[float] | None] = {}
    dropped: dict[str, int] = {}  # resamples where a score is undefined (NaN), left out of its interval
    for name in task.score_labels:
        blocks = samples.get(name)
        interval = None
        if point.get(name) is not None and blocks:
            values = np.concatenate(blocks)
            interval = percentile_interval(values)
            p = point[name]
            if interval and p is not None:  # a percentile interval of e.g. mean AP (resamples that miss a
                # class) can lie wholly on one side of the point: widened to contain it, as entries must
                interval = (min(interval[0], p), max(interval[1], p))
            if (nan := int(np.count_nonzero(~np.isfinite(values)))):
                dropped[name] = nan
        ci95[name] = list(interval) if interval else None
    details = dict(details or {})
    if dropped:
        details["bootstrap_dropped"] = dropped
    return ScoreReport(
        task=task.name, n=n, split_sha256=split_sha256, main_score=task.main_score,
        scores={k: point.get(k) for k in task.score_labels}, ci95=ci95, per_class=per_class,
        resamples=resamples, seed=seed, details=details,
    )


def as_float(x: float | np.floating[Any]) -> float | None:
    """A finite float, or None for NaN (an undefined score)."""
    v = float(x)
    return v if np.isfinite(v) else None
