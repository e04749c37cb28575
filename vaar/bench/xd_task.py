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
shorten the truth by sending fewer scores or leave out the normal videos. The checks live with
the contract (:mod:`vaar.core.contracts.video_predictions`); this module scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.bench import metrics as M
from vaar.bench.tasks import ScoreReport, Task, as_float, finish, register_task
from vaar.bench.truth import (
    XD_NORMAL_MARKER,
    TruthSource,
    XDAnnotations,
    load_xd_truth,
    xd_frame_truth,
)
from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES, read_table
from vaar.core.contracts.video_predictions import VideoScores, validate_video_table
from vaar.core.errors import ConfigError

SNIPPET_FRAMES = 16
NORMAL_MARKER = XD_NORMAL_MARKER

__all__ = ["NORMAL_MARKER", "SNIPPET_FRAMES", "VideoScores", "XDViolence", "read_video_scores"]


def read_video_scores(path: Path, truth: XDAnnotations, *, max_bytes: int = DEFAULT_MAX_BYTES) -> VideoScores:
    """Read and validate XD-Violence predictions (:mod:`vaar.core.contracts.video_predictions`)."""
    table = read_table(path, max_bytes=max_bytes)
    snippets = None if truth.frames is None else {v: truth.snippets(v) for v in truth.frames}
    return validate_video_table(table, snippets, truth.ranges, NORMAL_MARKER)


@register_task
class XDViolence(Task):
    name = "xd-violence"
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
