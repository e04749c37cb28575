"""Ranking and classification metrics in numpy, with a vectorised, seeded cluster bootstrap.

scikit-learn is not imported here (it takes about 3 s to import, longer than the whole
``vaar-bench score`` budget); instead its definitions are re-implemented and the tests compare
both on random inputs to 1e-9. The definitions (scikit-learn 1.x):

* **precision-recall curve** (``precision_recall_curve``): one point per distinct score, scores
  descending; at threshold ``t``, ``tp``/``fp`` count positives/negatives scored ``>= t``;
  ``precision = tp / (tp + fp)``, ``recall = tp / P``; the point ``(recall 0, precision 1)`` is
  appended.
* **average precision** (``average_precision_score``): ``sum_n (R_n - R_{n-1}) * P_n`` over the
  curve's thresholds -- a step function, no interpolation.
* **PR-AUC** (``auc(recall, precision)``): the trapezoidal area under the same curve, including
  the appended ``(0, 1)`` point. This is the "AP" of the XD-Violence evaluation code
  (Wu et al., ECCV 2020), which is why both are reported.
* **F1** (``f1_score(average=None, zero_division=0)``): ``2 tp / (2 tp + fp + fn)``, 0 when the
  class is neither present nor predicted.

Weighted form. Every metric here is computed from per-element weights, so the point estimate
(all weights 1) and each bootstrap resample (weights = how often each cluster was drawn) run the
same code. An element carries a score, a positive mass ``pos`` and a negative mass ``neg``: a
clip is ``(1, 0)`` or ``(0, 1)``; an XD-Violence snippet of 16 frames is
``(#violent frames, 16 - #violent frames)``, which is exactly the frame-level curve of the
official protocol (each snippet score repeated over its 16 frames) without expanding frames.
A resample only re-weights elements, so the ranking is sorted once; a threshold that no drawn
element carries repeats the previous curve point and adds nothing to either area.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Elements per bootstrap block (rows x elements); bounds memory at about 32 MB a matrix.
BLOCK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Ranking:
    """A score ranking prepared once; evaluates AP and PR-AUC for many weightings.

    Build it with :func:`rank`. Positions below are indices into the descending-score order.
    """

    order: IntArray  # (N,) element index at each position, stable descending score
    cluster: IntArray  # (N,) cluster (clip / video) of the element at each position
    mass: FloatArray | None  # (N,) pos + neg at each position; None when all are 1
    q: IntArray  # (Q,) positions of elements with positive mass
    q_pos: FloatArray  # (Q,) positive mass of those elements
    q_end: IntArray  # (Q,) last position of each one's tie group
    q_start: IntArray  # (Q,) first position of each one's tie group
    q_upto_end: IntArray  # (Q,) index into q of the last positive at or before q_end
    q_before_start: IntArray  # (Q,) index into q of the last positive before q_start, -1 if none
    seg_starts: IntArray  # (S,) segments of positions whose running totals are needed
    n_points: int  # the first n_points segments end at the needed positions
    at_end: IntArray  # (Q,) segment whose end is q_end
    at_before: IntArray  # (Q,) segment whose end is q_start - 1; -1 when q_start == 0
    singletons: bool  # no positive shares its score with another element (the fast path)


def rank(
    scores: npt.ArrayLike,
    pos: npt.ArrayLike,
    neg: npt.ArrayLike | None = None,
    cluster: npt.ArrayLike | None = None,
) -> Ranking:
    """Prepare a ranking of ``scores`` (N,) with positive mass ``pos`` (N,).

    ``neg`` defaults to ``1 - pos`` (binary labels); ``cluster`` (N,) names the resampling unit of
    each element (default: each element is its own cluster).
    """
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(pos, dtype=np.float64)
    g = 1.0 - p if neg is None else np.asarray(neg, dtype=np.float64)
    n = s.shape[0]
    c = np.arange(n, dtype=np.int64) if cluster is None else np.asarray(cluster, dtype=np.int64)
    order = np.argsort(-s, kind="stable").astype(np.int64)
    s_sorted = s[order]
    # tie groups: a new group starts where the sorted score changes
    new_group = np.empty(n, dtype=bool)
    new_group[:1] = True
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=new_group[1:])
    group = np.cumsum(new_group) - 1  # (N,) group id per position
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:] - 1, n - 1] if n else starts
    p_sorted = p[order]
    mass = p_sorted + g[order]
    q = np.flatnonzero(p_sorted > 0).astype(np.int64)
    q_end = ends[group[q]].astype(np.int64)
    q_start = starts[group[q]].astype(np.int64)
    # number of positives at positions <= x is searchsorted(q, x, 'right')
    q_upto_end = np.searchsorted(q, q_end, side="right").astype(np.int64) - 1
    q_before_start = np.searchsorted(q, q_start, side="left").astype(np.int64) - 1
    # running totals tp + fp are needed only at q_end and q_start - 1: sum the positions in
    # segments ending there (np.add.reduceat) instead of a full running sum
    singletons = bool(np.array_equal(q_start, q) and np.array_equal(q_end, q))
    if singletons:  # the point before a positive is its own point minus itself
        points = q.copy()
    else:
        points = np.unique(np.r_[q_end, q_start[q_start > 0] - 1]).astype(np.int64)
    seg_starts = np.r_[0, points[:-1] + 1].astype(np.int64) if points.size else np.zeros(1, np.int64)
    if points.size and points[-1] + 1 < n:
        seg_starts = np.r_[seg_starts, points[-1] + 1]
    at_end = np.searchsorted(points, q_end).astype(np.int64)
    at_before = np.where(q_start > 0, np.searchsorted(points, q_start - 1), -1).astype(np.int64)
    return Ranking(
        order=order,
        cluster=c[order],
        mass=None if np.all(mass == 1.0) else mass,
        q=q,
        q_pos=p_sorted[q],
        q_end=q_end,
        q_start=q_start,
        q_upto_end=q_upto_end,
        q_before_start=q_before_start,
        seg_starts=seg_starts,
        n_points=int(points.size),
        at_end=at_end,
        at_before=at_before,
        singletons=singletons,
    )


def curve_areas(r: Ranking, cluster_weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Average precision and PR-AUC for each row of ``cluster_weights`` (B, K).

    Returns two (B,) arrays; a row whose weighted positive mass is 0 gives NaN (undefined).
    """
    b = cluster_weights.shape[0]
    if r.q.size == 0:  # no positive at all
        nan = np.full(b, np.nan)
        return nan, nan.copy()
    w = np.take(cluster_weights, r.cluster, axis=1)  # (B, N) weight at each ranked position
    if r.mass is not None:
        w *= r.mass.astype(w.dtype)
    seg = np.add.reduceat(w, r.seg_starts, axis=1)  # (B, S)
    cum_all = np.cumsum(seg, axis=1)[:, : r.n_points]  # (B, P) tp + fp at the needed positions
    wq = np.take(w, r.q, axis=1)  # (B, Q) total mass drawn at each positive
    if r.mass is not None:
        wq_pos = wq * (r.q_pos / r.mass[r.q]).astype(w.dtype)  # (B, Q) positive mass drawn
    else:
        wq_pos = wq
    cum_pos = np.cumsum(wq_pos, axis=1)  # (B, Q) tp down to each positive
    total = cum_pos[:, -1].astype(np.float64)
    one = np.ones(1, dtype=w.dtype)
    if r.singletons:
        # each positive is its own curve point; the point before it excludes it
        tp_end, all_end = cum_pos, cum_all
        tp_before, all_before = cum_pos - wq_pos, cum_all - wq
    else:
        # precision at the end of each positive's tie group (the curve point it moves) and at
        # the curve point before that group
        tp_end = np.take(cum_pos, r.q_upto_end, axis=1)
        all_end = np.take(cum_all, r.at_end, axis=1)
        tp_before = np.take(cum_pos, np.maximum(r.q_before_start, 0), axis=1)
        tp_before[:, r.q_before_start < 0] = 0.0
        all_before = np.take(cum_all, np.maximum(r.at_before, 0), axis=1)
        all_before[:, r.at_before < 0] = 0.0
    # (recall 0, precision 1) at the top of the curve: precision 1 where nothing is drawn yet
    prec_end = np.divide(tp_end, all_end, out=np.broadcast_to(one, tp_end.shape).copy(), where=all_end > 0)
    prec_before = np.divide(tp_before, all_before, out=np.broadcast_to(one, tp_end.shape).copy(), where=all_before > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.einsum("bq,bq->b", wq_pos, prec_end).astype(np.float64) / total
        pr_auc = 0.5 * np.einsum("bq,bq->b", wq_pos, prec_end + prec_before).astype(np.float64) / total
    bad = total <= 0
    ap[bad] = np.nan
    pr_auc[bad] = np.nan
    return ap, pr_auc


def ones(n_clusters: int) -> FloatArray:
    """Weights of the point estimate: every cluster once. Shape (1, K)."""
    return np.ones((1, n_clusters), dtype=np.float64)


def bootstrap_weights(
    n_clusters: int, resamples: int, seed: int, n_elements: int | None = None
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield blocks (b, K) of resample counts: each row draws K clusters with replacement.

    Blocks are float32, half the memory traffic of float64; counts and their running sums are
    exact below 2**24 and the precision (about 1e-7) is far below any bootstrap interval's width.

    Deterministic for a given ``(n_clusters, resamples, seed, n_elements)``; blocks are sized so
    that ``b * n_elements`` stays under :data:`BLOCK_ELEMENTS`.
    """
    rng = np.random.default_rng(seed)
    k = n_clusters
    width = max(k, n_elements or 0)
    block = max(1, min(resamples, BLOCK_ELEMENTS // max(width, 1)))
    done = 0
    while done < resamples:
        b = min(block, resamples - done)
        idx = rng.integers(0, k, size=(b, k))  # (b, K) drawn cluster ids
        idx += (np.arange(b, dtype=np.int64) * k)[:, None]
        counts = np.bincount(idx.ravel(), minlength=b * k).reshape(b, k)
        yield counts.astype(np.float32)  # exact for counts and running sums below 2**24
        done += b


def confusion_design(y_true: IntArray, y_pred: IntArray, n_classes: int) -> FloatArray:
    """(N, 3C) indicators [hit of class c | true class c | predicted class c] for :func:`confusion_sums`."""
    eye = np.eye(n_classes, dtype=np.float64)
    true_1h = eye[y_true]  # (N, C)
    pred_1h = eye[y_pred]  # (N, C)
    return np.hstack([true_1h * (y_true == y_pred)[:, None], true_1h, pred_1h])


def confusion_sums(weights: FloatArray, design: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted per-class (true positives, support, predicted) for each row: three (B, C)."""
    sums = weights @ design  # (B, 3C), one pass over the weights
    c = design.shape[1] // 3
    return sums[:, :c], sums[:, c : 2 * c], sums[:, 2 * c :]


def prf(
    tp: FloatArray, support: FloatArray, predicted: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Precision, recall, F1 with scikit-learn's ``zero_division=0``."""
    zeros = np.zeros_like(tp)
    precision = np.divide(tp, predicted, out=zeros.copy(), where=predicted > 0)
    recall = np.divide(tp, support, out=zeros.copy(), where=support > 0)
    denom = support + predicted
    f1 = np.divide(2.0 * tp, denom, out=zeros.copy(), where=denom > 0)
    return precision, recall, f1


def percentile_interval(values: FloatArray, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``values`` (R,), ignoring NaN resamples; None if none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return float(lo), float(hi)
