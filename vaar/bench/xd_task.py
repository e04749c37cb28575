"""The ``xd-violence`` task: frame-level violence scores on the XD-Violence test set.

Protocol of Wu et al., "Not only Look, but also Listen: Learning Multimodal Violence Detection
under Weak Supervision", ECCV 2020: a model scores each 16-frame snippet of a test video; every
snippet score is repeated over its 16 frames; the frame ground truth of a video has
``16 x #snippets`` frames, 1 inside the ``annotations.txt`` ranges (clipped to that length),
0 elsewhere and for every unannotated (normal) video; AP is ``auc(recall, precision)`` of
scikit-learn's ``precision_recall_curve`` over all frames of all videos. scikit-learn's
``average_precision_score`` on the same frames is reported beside it as ``ap``.

Predictions (one of):

* JSONL -- one object per video: ``{"video": "<name>", "scores": [s0, s1, ...]}``;
* Parquet -- columns ``video`` (string) and ``scores`` (list of floats);
* CSV -- long format ``video,snippet,score``, snippets numbered ``0 .. n-1`` for each video.

The test set is fixed by the host (:mod:`vaar.bench.truth`): the 800 official test videos,
names without ``.mp4``, every one scored, each with exactly ``(frames - 1) // 16`` snippet scores
for its frame count in the host's ``frames.csv``. A missing, unknown, repeated or mis-sized
video is refused (one line: the file, the videos, expected and got); so a submission cannot
shorten the truth by sending fewer scores or leave out the normal videos.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.bench import metrics as M
from vaar.bench.tables import DEFAULT_MAX_BYTES, Table, fail, read_table
from vaar.bench.tasks import ScoreReport, Task, as_float, finish, register_task
from vaar.bench.truth import (
    XD_NORMAL_MARKER,
    TruthSource,
    XDAnnotations,
    load_xd_truth,
    xd_frame_truth,
)
from vaar.errors import ConfigError, SubmissionError

SNIPPET_FRAMES = 16
NORMAL_MARKER = XD_NORMAL_MARKER


@dataclass(frozen=True)
class VideoScores:
    """Validated snippet scores per video, in the ground truth's (official) order."""

    videos: tuple[str, ...]
    scores: tuple[npt.NDArray[np.float64], ...]  # one (S_v,) array per video
    sha256: str
    source: str


def read_video_scores(path: Path, truth: XDAnnotations, *, max_bytes: int = DEFAULT_MAX_BYTES) -> VideoScores:
    table = read_table(path, max_bytes=max_bytes)
    if table.format == "csv":
        videos, scores = _from_long(table)
    else:
        videos, scores = _from_lists(table)
    p = table.path
    dupes = [v for v, k in Counter(videos).items() if k > 1]
    if dupes:
        raise fail(p, f"{len(dupes)} video(s) scored twice", "give each video one record", dupes)
    if truth.frames is None:  # annotations only (training's own check): annotated + label_A videos
        have = set(videos)
        lost = [v for v in truth.ranges if v not in have]
        if lost:
            raise fail(p, f"{len(lost)} annotated video(s) missing", "score every test video", lost)
        unknown = [v for v in videos if v not in truth.ranges and NORMAL_MARKER not in v]
        if unknown:
            raise fail(p, f"{len(unknown)} video(s) neither annotated nor normal ({NORMAL_MARKER})",
                       "use the test video names of annotations.txt", unknown)
        return VideoScores(tuple(videos), tuple(scores), table.sha256, str(p))
    given = dict(zip(videos, scores, strict=True))
    unknown = [v for v in videos if v not in truth.frames]
    if unknown:
        raise fail(p, f"{len(unknown)} video(s) not in the XD-Violence test set",
                   "use the 800 official test video names (without .mp4)", unknown)
    lost = [v for v in truth.frames if v not in given and truth.snippets(v) > 0]
    if lost:
        raise _count_error(p, f"{len(lost)} test video(s) missing (normal ones too)",
                           [(v, truth.snippets(v), 0) for v in lost],
                           f"score every one of the {len(truth.frames)} test videos")
    wrong = [(v, truth.snippets(v), len(given.get(v, ()))) for v in truth.frames
             if len(given.get(v, ())) != truth.snippets(v)]
    if wrong:
        raise _count_error(p, f"{len(wrong)} video(s) with the wrong number of snippet scores", wrong,
                           "send one score per 16-frame snippet, (frames - 1) // 16 a video, as the "
                           "official features have")
    order = tuple(truth.frames)
    empty = np.zeros(0, dtype=np.float64)
    return VideoScores(order, tuple(given.get(v, empty) for v in order), table.sha256, str(p))


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


def _from_long(table: Table) -> tuple[list[str], list[npt.NDArray[np.float64]]]:
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
        raise fail(p, "videos whose snippets are not exactly 0 .. n-1 once each", "write one row per snippet", gaps)
    return videos, arrays


@register_task
class XDViolence(Task):
    name = "xd-violence"
    title = "XD-Violence: frame-level violence detection"
    main_score = "pr_auc"
    score_labels = {"pr_auc": "AP (official, PR-AUC)", "ap": "AP (scikit-learn)"}
    truth_help = "XD-Violence annotations.txt (frames.csv beside it)"
    supports_dataset = False

    def load_truth(self, source: TruthSource) -> XDAnnotations:
        if source.labels is None:
            raise ConfigError("xd-violence scores against --labels annotations.txt (frames.csv beside it), "
                              "not --dataset")
        return load_xd_truth(Path(source.labels))

    def read_predictions(self, path: Path, truth: XDAnnotations, *, max_bytes: int = DEFAULT_MAX_BYTES) -> VideoScores:
        return read_video_scores(path, truth, max_bytes=max_bytes)

    def score(self, predictions: VideoScores, truth: XDAnnotations, *, resamples: int = 1000, seed: int = 0) -> ScoreReport:
        # one element per snippet: its score, #violent frames and #normal frames of its 16
        pos_parts, clusters = [], []
        for v, (name, s) in enumerate(zip(predictions.videos, predictions.scores, strict=True)):
            # the truth's length is the host's frame count, never the number of scores sent
            n_snip = truth.snippets(name) if truth.frames is not None else len(s)
            gt = xd_frame_truth(truth.ranges.get(name, ()), n_snip * SNIPPET_FRAMES)
            pos_parts.append(gt.reshape(-1, SNIPPET_FRAMES).sum(axis=1))  # (S_v,)
            clusters.append(np.full(len(s), v, dtype=np.int64))
        scores = np.concatenate(predictions.scores)
        pos = np.concatenate(pos_parts).astype(np.float64)
        neg = SNIPPET_FRAMES - pos
        n_videos = len(predictions.videos)
        ranking = M.rank(scores, pos, neg, np.concatenate(clusters))

        def evaluate(w: npt.NDArray[Any]) -> dict[str, M.FloatArray]:
            ap, pr_auc = M.curve_areas(ranking, w)
            return {"ap": ap, "pr_auc": pr_auc}

        point = {k: as_float(v[0]) for k, v in evaluate(M.ones(n_videos)).items()}
        samples: dict[str, list[M.FloatArray]] = {}
        for block in M.bootstrap_weights(n_videos, resamples, seed, n_elements=len(scores)):
            for k, values in evaluate(block).items():
                samples.setdefault(k, []).append(values)
        details = {"frames": int(len(scores) * SNIPPET_FRAMES), "violent_frames": int(pos.sum()),
                   "snippet_frames": SNIPPET_FRAMES}
        return finish(self, n=n_videos, split_sha256=truth.sha256, point=point, samples=samples,
                      per_class={}, resamples=resamples, seed=seed, details=details)
