"""Validate ``xd-violence`` predictions: snippet scores per video, against the host's test set.

Formats (the record is :func:`vaar.core.contracts.predictions.predictions_schema`'s ``xd-violence``):
JSONL/Parquet ``{"video": name, "scores": [snippet scores]}``, or CSV in long form
``video,snippet,score`` (snippets ``0 .. n-1`` once each). Names lose a ``.mp4`` suffix.

Against the fixed test set (``snippets``: every test video -> its expected number of snippet
scores, in the official order) every video must be scored with exactly that many finite scores,
and nothing else; a missing, unknown, repeated or mis-sized video is one line (the file, the
videos, expected and got). Without it (``snippets=None``: annotations only, training's own check)
every annotated video must be scored and any other must be a normal one (``normal_marker``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.core.contracts.predictions import Table, fail
from vaar.core.errors import SubmissionError


@dataclass(frozen=True)
class VideoScores:
    """Validated snippet scores per video, in the ground truth's (official) order."""

    videos: tuple[str, ...]
    scores: tuple[npt.NDArray[np.float64], ...]  # one (S_v,) array per video
    sha256: str
    source: str


def validate_video_table(table: Table, snippets: Mapping[str, int] | None, annotated: Collection[str],
                         normal_marker: str) -> VideoScores:
    """Check ``table`` against the test set; any problem is one clear SubmissionError."""
    videos, scores = _from_long(table) if table.format == "csv" else _from_lists(table)
    p = table.path
    dupes = [v for v, k in Counter(videos).items() if k > 1]
    if dupes:
        raise fail(p, f"{len(dupes)} video(s) scored twice", "give each video one record", dupes)
    if snippets is None:
        _check_annotated(p, videos, annotated, normal_marker)
        return VideoScores(tuple(videos), tuple(scores), table.sha256, str(p))
    given = dict(zip(videos, scores, strict=True))
    _check_test_set(p, videos, given, snippets)
    order = tuple(snippets)
    empty = np.zeros(0, dtype=np.float64)
    return VideoScores(order, tuple(given.get(v, empty) for v in order), table.sha256, str(p))


def _check_annotated(p: Path, videos: list[str], annotated: Collection[str], normal_marker: str) -> None:
    have = set(videos)
    lost = [v for v in annotated if v not in have]
    if lost:
        raise fail(p, f"{len(lost)} annotated video(s) missing", "score every test video", lost)
    unknown = [v for v in videos if v not in annotated and normal_marker not in v]
    if unknown:
        raise fail(p, f"{len(unknown)} video(s) neither annotated nor normal ({normal_marker})",
                   "use the test video names of annotations.txt", unknown)


def _check_test_set(p: Path, videos: list[str], given: Mapping[str, npt.NDArray[np.float64]],
                    snippets: Mapping[str, int]) -> None:
    unknown = [v for v in videos if v not in snippets]
    if unknown:
        raise fail(p, f"{len(unknown)} video(s) not in the XD-Violence test set",
                   "use the 800 official test video names (without .mp4)", unknown)
    lost = [v for v in snippets if v not in given and snippets[v] > 0]
    if lost:
        raise _count_error(p, f"{len(lost)} test video(s) missing (normal ones too)",
                           [(v, snippets[v], 0) for v in lost],
                           f"score every one of the {len(snippets)} test videos")
    wrong = [(v, snippets[v], len(given.get(v, ()))) for v in snippets if len(given.get(v, ())) != snippets[v]]
    if wrong:
        raise _count_error(p, f"{len(wrong)} video(s) with the wrong number of snippet scores", wrong,
                           "send one score per 16-frame snippet, (frames - 1) // 16 a video, as the "
                           "official features have")


def _count_error(path: Path, problem: str, rows: list[tuple[str, int, int]], fix: str) -> SubmissionError:
    """One line naming each violation in full (video: expected E, got G), up to five."""
    shown = "; ".join(f"{v}: expected {e}, got {g}" for v, e, g in rows[:5])
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    return SubmissionError(f"{path}: {problem} ({shown}{more}); {fix}")


def _from_lists(table: Table) -> tuple[list[str], list[npt.NDArray[np.float64]]]:
    p = table.path
    if set(table.columns) != {"video", "scores"}:
        raise fail(p, f"wrong columns {', '.join(table.columns)}",
                   "JSONL/Parquet predictions have exactly `video` and `scores` (a list of snippet scores)")
    videos: list[str] = []
    arrays: list[npt.NDArray[np.float64]] = []
    bad: list[str] = []
    for name, values, where in zip(table.data["video"], table.data["scores"], table.where, strict=False):
        if not isinstance(name, str) or not name.strip():
            bad.append(f"{where}: video {name!r}")
            continue
        arr = _finite_list(values)
        if arr is None:
            bad.append(f"{where}: scores")
            continue
        videos.append(name.strip().removesuffix(".mp4"))
        arrays.append(arr)
    if bad:
        raise fail(p, "records with an empty video name or scores that are not a list of finite numbers",
                   "write {\"video\": name, \"scores\": [numbers]}", bad)
    return videos, arrays


def _finite_list(values: Any) -> npt.NDArray[np.float64] | None:
    if not isinstance(values, (list, tuple)) or any(isinstance(v, bool) for v in values):
        return None
    if not values:
        return np.zeros(0, dtype=np.float64)  # a video shorter than one snippet
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr if arr.ndim == 1 and np.isfinite(arr).all() else None


def _long_columns(table: Table) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The ``snippet`` and ``score`` columns of the long CSV, checked."""
    p = table.path
    if set(table.columns) != {"video", "snippet", "score"}:
        raise fail(p, f"wrong columns {', '.join(table.columns)}", "CSV predictions have columns video,snippet,score")
    try:
        snippet = np.asarray(table.data["snippet"], dtype=np.int64)
    except ValueError:
        bad = [f"{w}: {v!r}" for v, w in zip(table.data["snippet"], table.where, strict=False) if not str(v).strip().isdigit()]
        raise fail(p, "non-integer snippet numbers", "number snippets 0, 1, 2, ... per video", bad) from None
    try:
        score = np.asarray(table.data["score"], dtype=np.float64)
    except ValueError:
        bad = []
        for v, w in zip(table.data["score"], table.where, strict=False):
            try:
                float(v)
            except ValueError:
                bad.append(f"{w}: {v!r}")
        raise fail(p, "non-numeric scores", "write scores as plain numbers", bad) from None
    nonfinite = np.flatnonzero(~np.isfinite(score))
    if nonfinite.size:
        bad = [f"{table.where[i]}: {table.data['score'][i]!r}" for i in nonfinite[:5]]
        raise fail(p, "non-finite scores (NaN or infinity)", "replace them with finite scores", bad, total=nonfinite.size)
    return snippet, score


def _from_long(table: Table) -> tuple[list[str], list[npt.NDArray[np.float64]]]:
    snippet, score = _long_columns(table)
    rows: dict[str, list[int]] = {}
    for i, name in enumerate(table.data["video"]):
        rows.setdefault(name.strip().removesuffix(".mp4"), []).append(i)
    videos: list[str] = []
    arrays: list[npt.NDArray[np.float64]] = []
    gaps: list[str] = []
    for name, idx in rows.items():
        ix = np.asarray(idx)
        order = np.argsort(snippet[ix], kind="stable")
        if not np.array_equal(snippet[ix][order], np.arange(len(ix))):
            gaps.append(name)
            continue
        videos.append(name)
        arrays.append(score[ix][order])
    if gaps:
        raise fail(table.path, "videos whose snippets are not exactly 0 .. n-1 once each", "write one row per snippet", gaps)
    return videos, arrays
