"""Validate VAAR predictions (``vaar-cls``, ``vaar-binary``) against the scored split's clips.

The record format is :func:`vaar.core.contracts.predictions.predictions_schema`; this module checks
the file-level rules, in this order, each failure one line (file, offending rows, fix):

1. columns: ``clip_id`` and ``label``, nothing unknown, ``score_<slug>`` for every class or none
   (``vaar-binary`` also accepts ``score_anomaly``);
2. clip ids: non-empty text, each once, exactly the split's clips;
3. labels: class slugs (``vaar-binary`` also accepts ``anomaly``);
4. scores: finite numbers.

The result is aligned to the split's clip order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vaar.core.contracts.predictions import ANOMALY, CLIP_ID, LABEL, SCORE_PREFIX, Table, fail

SCORE_ANOMALY = SCORE_PREFIX + ANOMALY


@dataclass(frozen=True)
class ClipPredictions:
    """Validated predictions aligned to the ground truth's clip order."""

    labels: npt.NDArray[np.int64]  # (N,) taxonomy index, or -1 for "anomaly" (binary task only)
    scores: npt.NDArray[np.float64] | None  # (N, C) in taxonomy order, or None
    anomaly_score: npt.NDArray[np.float64] | None  # (N,) or None
    sha256: str
    source: str


@dataclass(frozen=True)
class ClipSplit:
    """What a VAAR predictions file is checked against: the split's clips and the taxonomy."""

    clip_ids: Sequence[str]  # in the split's order
    name: str  # the split's file name, for messages
    classes: Sequence[str]  # class slugs in taxonomy order
    normal: str  # the normal class slug


def validate_clip_table(table: Table, split: ClipSplit, *, binary: bool = False) -> ClipPredictions:
    """Check ``table`` against ``split``; any problem is one clear SubmissionError."""
    score_cols = [SCORE_PREFIX + s for s in split.classes]
    has_scores = _check_columns(table, score_cols, binary)
    pos = _positions(table, split)
    labels = np.empty(len(pos), dtype=np.int64)
    labels[pos] = _labels(table, split.classes, binary)
    scores = anomaly = None
    if has_scores:
        mat = np.column_stack([numeric_column(table, c) for c in score_cols])
        scores = np.empty_like(mat)
        scores[pos] = mat
        anomaly = 1.0 - scores[:, list(split.classes).index(split.normal)]
    if binary and SCORE_ANOMALY in table.columns:
        col = numeric_column(table, SCORE_ANOMALY)
        anomaly = np.empty_like(col)
        anomaly[pos] = col
    return ClipPredictions(labels, scores, anomaly, table.sha256, str(table.path))


def _check_columns(table: Table, score_cols: list[str], binary: bool) -> bool:
    """The column rules; returns whether the per-class score columns are present."""
    p, cols = table.path, set(table.columns)
    missing = [c for c in (CLIP_ID, LABEL) if c not in cols]
    if missing:
        raise fail(p, "missing column(s)", f"columns are clip_id, label and optionally score_<class>; found {', '.join(table.columns)}", missing)
    allowed = {CLIP_ID, LABEL, *score_cols} | ({SCORE_ANOMALY} if binary else set())
    unknown = [c for c in table.columns if c not in allowed]
    if unknown:
        classes = ", ".join(c.removeprefix(SCORE_PREFIX) for c in score_cols)
        raise fail(p, "unexpected column(s)", "columns are clip_id, label and optionally "
                   f"score_<class> for every class ({classes})", unknown)
    present = [c for c in score_cols if c in cols]
    if present and len(present) != len(score_cols):
        absent = [c for c in score_cols if c not in cols]
        raise fail(p, "score columns must cover every class or none; missing", "add the missing score columns or drop all of them", absent)
    return bool(present)


def _clip_ids(table: Table) -> list[str]:
    """The ``clip_id`` column as stripped text; empty or non-text ids are refused."""
    ids: list[str] = []
    bad: list[str] = []
    for v, w in zip(table.data[CLIP_ID], table.where, strict=False):
        if isinstance(v, bool) or not isinstance(v, (str, int)) or str(v).strip() == "":
            bad.append(f"{w}: {v!r}")
        ids.append(str(v).strip() if v is not None else "")
    if bad:
        raise fail(table.path, "empty or non-text clip_id", "give every row the clip_id of the split file", bad)
    return ids


def _positions(table: Table, split: ClipSplit) -> npt.NDArray[np.int64]:
    """Each row's index in the split: every clip of the split exactly once, nothing else."""
    p, ids = table.path, _clip_ids(table)
    dupes = [c for c, k in Counter(ids).items() if k > 1]
    if dupes:
        raise fail(p, f"{len(dupes)} duplicate clip_id(s)", "give each clip exactly one row", dupes)
    index = {c: i for i, c in enumerate(split.clip_ids)}
    extra = [c for c in ids if c not in index]
    if extra:
        raise fail(p, f"{len(extra)} clip_id(s) not in the split ({split.name})",
                   "predict exactly the clips of the scored split", extra)
    if len(ids) != len(index):
        have = set(ids)
        lost = [c for c in split.clip_ids if c not in have]
        raise fail(p, f"{len(lost)} clip(s) of the split missing", "predict every clip of the scored split", lost)
    return np.fromiter((index[c] for c in ids), dtype=np.int64, count=len(ids))


def _labels(table: Table, classes: Sequence[str], binary: bool) -> npt.NDArray[np.int64]:
    """The ``label`` column as taxonomy indices (``anomaly`` -> -1 on the binary task), file order."""
    valid = {s: i for i, s in enumerate(classes)}
    if binary:
        valid[ANOMALY] = -1
    labels = np.empty(len(table), dtype=np.int64)
    bad: list[str] = []
    for k, (v, w) in enumerate(zip(table.data[LABEL], table.where, strict=False)):
        key = v.strip() if isinstance(v, str) else v
        if not isinstance(key, str) or key not in valid:
            bad.append(f"{w}: {v!r}")
        else:
            labels[k] = valid[key]
    if bad:
        names = ", ".join(valid)
        raise fail(table.path, f"{len(bad)} label(s) outside the taxonomy", f"labels are class slugs: {names}", bad)
    return labels


def numeric_column(table: Table, column: str) -> npt.NDArray[np.float64]:
    """A column as finite float64, or a SubmissionError naming the bad rows."""
    values = table.data[column]
    bad: list[str] = []
    out = np.empty(len(values), dtype=np.float64)
    try:
        if any(isinstance(v, bool) for v in values):
            raise ValueError
        out[:] = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        for i, v in enumerate(values):
            try:
                if isinstance(v, bool) or v is None:
                    raise ValueError
                out[i] = float(v)
            except (ValueError, TypeError):
                bad.append(f"{table.where[i]}: {v!r}")
        raise fail(table.path, f"non-numeric values in {column}", "write scores as plain numbers", bad) from None
    finite = np.isfinite(out)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        bad = [f"{table.where[i]}: {values[i]!r}" for i in rows[:5]]
        raise fail(table.path, f"non-finite values (NaN or infinity) in {column}",
                   "replace them with finite scores", bad, total=len(rows))
    return out

