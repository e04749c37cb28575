"""Split parameters: the split names, file names and columns, and the resolved config.

:class:`SplitParams` is what ``split.json`` records next to the split files (the resolved
config: algorithm, ratios, seed, folds); :func:`parse_ratios` / :func:`validate_ratios` check
``--ratios``. See :mod:`vaar.curation.split` for the folder contract.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vaar.core.contracts.sums import SUMS_FILE  # noqa: F401  (re-exported: a split folder lists its files in it)
from vaar.core.errors import ConfigError

SPLITS: tuple[str, str, str] = ("train", "validation", "test")
DEFAULT_RATIOS: tuple[float, float, float] = (0.7, 0.1, 0.2)
ALGORITHM = "vaar-greedy-chi2/1"
FOLD_POOL: tuple[str, ...] = ("train", "validation")
"""Splits whose clips the folds partition (the development pool); test is never folded."""

SPLIT_COLUMNS: tuple[str, ...] = ("clip_id", "label", "source_id")
FOLD_COLUMNS: tuple[str, ...] = ("clip_id", "label", "source_id", "fold")
PARAMS_FILE = "split.json"
FOLDS_FILE = "folds.csv"
SPLIT_FILES: tuple[str, ...] = tuple(f"{s}.csv" for s in SPLITS)
MANIFEST_COLUMNS_NEEDED: tuple[str, ...] = ("clip_id", "label", "status", "source_id")
BALANCE_MIN_CLIPS = 50
"""Classes with at least this many clips are held to the 2-point balance bar."""
BALANCE_POINTS = 2.0
"""The bar: a label's share of a split within this many points of its overall share."""

_SHOW = 10  # ids named in one error line


@dataclass(frozen=True)
class SplitItem:
    """One ``ok`` clip as the splitter sees it."""

    clip_id: str
    label: str
    source_id: str | None
    dup_group: str | None = None
    uploader: str | None = None  # ``extractor:uploader``: one channel's clips share camera and watermark


@dataclass(frozen=True)
class SplitParams:
    """The resolved split configuration, written to ``split.json`` next to the split files."""

    ratios: tuple[float, float, float] = DEFAULT_RATIOS
    seed: int = 0
    folds: int | None = None

    def to_json(self) -> bytes:
        doc = {
            "algorithm": ALGORITHM,
            "splits": list(SPLITS),
            "ratios": [float(r) for r in self.ratios],
            "seed": int(self.seed),
            "folds": self.folds,
            "fold_pool": list(FOLD_POOL),
        }
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def show_ids(ids: Iterable[str]) -> str:
    """At most ten ids, sorted, for one error line (``a, b and 3 more``)."""
    ids = sorted(ids)
    more = f" and {len(ids) - _SHOW} more" if len(ids) > _SHOW else ""
    return ", ".join(ids[:_SHOW]) + more


def parse_ratios(text: str) -> tuple[float, float, float]:
    """Parse ``--ratios 0.7,0.1,0.2`` (train, validation, test) and validate it."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"--ratios {text!r}: not numbers; give three fractions for train,validation,test "
            "that sum to 1, e.g. 0.7,0.1,0.2"
        ) from None
    return validate_ratios(values)


def validate_ratios(ratios: Sequence[float], n: int = len(SPLITS)) -> tuple[float, float, float]:
    shown = ",".join(f"{r:g}" for r in ratios)
    fix = "give three fractions for train,validation,test that sum to 1, e.g. 0.7,0.1,0.2"
    if len(ratios) != n:
        raise ConfigError(f"ratios {shown}: {len(ratios)} values, need {n}; {fix}")
    if not all(math.isfinite(r) and r >= 0 for r in ratios):
        raise ConfigError(f"ratios {shown}: each must be a number >= 0; {fix}")
    total = math.fsum(ratios)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"ratios {shown} sum to {total:g}, not 1; {fix}")
    if ratios[0] <= 0:
        raise ConfigError(f"ratios {shown}: the train ratio must be > 0; {fix}")
    return (float(ratios[0]), float(ratios[1]), float(ratios[2]))
