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

    Build it with :func:`rank`. Positions are indices into the descending-score order; within a
    tie group, elements without positive mass come first (the order inside a group does not
    change the curve). A curve point moves recall only at the G tie groups holding positives,
    so positions are cut into 3G + 1 contiguous segments (some empty): ``3g`` the others between
    positive groups g-1 and g, ``3g+1`` the others tied inside group g, ``3g+2`` the positives of
    group g, and ``3G`` everything below the last one. A weighting then needs only its
    per-segment sums.
    """

    order: IntArray  # (N,) element index at each position
    cluster: IntArray  # (N,) cluster (clip / video) of the element at each position
    mass: FloatArray | None  # (N,) pos + neg at each position; None when all are 1
    seg_starts: IntArray  # first position of each non-empty segment
    seg_bins: IntArray  # segment id of each of those
    segment_of: IntArray  # (N,) segment of each element, by original element index
    n_groups: int  # G: tie groups holding positive mass
    q: IntArray  # (Q,) positions of the elements with positive mass
    q_pos: FloatArray  # (Q,) their positive mass
    q_group_starts: IntArray  # (G,) index into q where each positive group starts

    @property
    def n_segments(self) -> int:
        return 3 * self.n_groups + 1


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
    order = np.lexsort((p > 0, -s)).astype(np.int64)  # score descending, then others first
    s_sorted, p_sorted = s[order], p[order]
    mass = p_sorted + g[order]
    new_group = np.ones(n, dtype=bool)
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=new_group[1:])
    group = np.cumsum(new_group) - 1  # (N,) tie group at each position
    is_pos = p_sorted > 0
    q = np.flatnonzero(is_pos).astype(np.int64)
    pos_groups = np.unique(group[q])  # (G,) ascending = rank order
    k = np.searchsorted(pos_groups, group)  # positive groups before (or at) each position
    inside = k < pos_groups.size
    inside[inside] = pos_groups[k[inside]] == group[inside]
    seg_at = np.where(inside, 3 * k + np.where(is_pos, 2, 1), 3 * k).astype(np.int64)
    new_seg = np.ones(n, dtype=bool)
    np.not_equal(seg_at[1:], seg_at[:-1], out=new_seg[1:])
    seg_starts = np.flatnonzero(new_seg).astype(np.int64)
    segment_of = np.empty(n, dtype=np.int64)
    segment_of[order] = seg_at
    q_group = group[q]
    q_new = np.ones(q.size, dtype=bool)
    np.not_equal(q_group[1:], q_group[:-1], out=q_new[1:])
    return Ranking(
        order=order,
        cluster=c[order],
        mass=None if np.all(mass == 1.0) else mass,
        seg_starts=seg_starts,
        seg_bins=seg_at[seg_starts],
        segment_of=segment_of,
        n_groups=int(pos_groups.size),
        q=q,
        q_pos=p_sorted[q],
        q_group_starts=np.flatnonzero(q_new).astype(np.int64),
    )


def segment_sums(r: Ranking, cluster_weights: FloatArray) -> tuple[FloatArray, FloatArray | None]:
    """Per-segment mass sums (B, 3G+1) for each row of ``cluster_weights`` (B, K), and the
    positive mass of each positive group (B, G) when masses are not all 1 (else None)."""
    w = np.take(cluster_weights, r.cluster, axis=1)  # (B, N) weight at each ranked position
    pos = None
    if r.mass is not None:
        wq = np.take(w, r.q, axis=1) * r.q_pos.astype(w.dtype)  # (B, Q) positive mass drawn
        pos = np.add.reduceat(wq, r.q_group_starts, axis=1) if r.q.size else wq
        w *= r.mass.astype(w.dtype)
    out = np.zeros((w.shape[0], r.n_segments), dtype=w.dtype)
    out[:, r.seg_bins] = np.add.reduceat(w, r.seg_starts, axis=1)
    return out, pos


def curve_areas(r: Ranking, cluster_weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Average precision and PR-AUC for each row of ``cluster_weights`` (B, K).

    Returns two (B,) arrays; a row whose weighted positive mass is 0 gives NaN (undefined).
    """
    return areas_from_segments(r, *segment_sums(r, cluster_weights))


def areas_from_segments(r: Ranking, seg: FloatArray, pos: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
    """AP and PR-AUC from segment sums ``seg`` (B, 3G+1) and, when masses are not all 1, the
    positive mass per positive group ``pos`` (B, G). Returns two (B,) arrays."""
    big_g = r.n_groups
    if big_g == 0:  # no positive at all
        nan = np.full(seg.shape[0], np.nan)
        return nan, nan.copy()
    group_all = seg[:, 1 : 3 * big_g : 3] + seg[:, 2 : 3 * big_g : 3]  # (B, G) mass of each group
    if pos is None:
        pos = seg[:, 2 : 3 * big_g : 3]  # unit masses: positives' mass is their positive mass
    all_end = np.cumsum(seg[:, 0 : 3 * big_g : 3] + group_all, axis=1)  # (B, G) tp + fp at group ends
    tp_end = np.cumsum(pos, axis=1)  # (B, G) tp at group ends
    tp_before, all_before = tp_end - pos, all_end - group_all  # the curve point before each group
    total = tp_end[:, -1].astype(np.float64)
    # (recall 0, precision 1) tops the curve: precision is 1 where nothing is drawn yet
    one = np.ones(1, dtype=seg.dtype)
    prec_end = np.divide(tp_end, all_end, out=np.broadcast_to(one, tp_end.shape).copy(), where=all_end > 0)
    prec_before = np.divide(tp_before, all_before, out=np.broadcast_to(one, tp_end.shape).copy(), where=all_before > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.einsum("bg,bg->b", pos, prec_end).astype(np.float64) / total
        pr_auc = 0.5 * np.einsum("bg,bg->b", pos, prec_end + prec_before).astype(np.float64) / total
    bad = total <= 0
    ap[bad] = np.nan
    pr_auc[bad] = np.nan
    return ap, pr_auc


def bootstrap_counts(
    n: int, resamples: int, seed: int, tables: list[tuple[IntArray, int]]
) -> Iterator[list[npt.NDArray[np.float32]]]:
    """Resample N independent elements and sum the draws falling in each bin of each table.

    ``tables`` maps each element to a bin: ``(bin_of_element (N,), n_bins)``. Yields, per block of
    resamples, one (b, n_bins) float32 matrix of draw counts per table. Each resample's counts
    per element are computed once; each table then costs one sequential weighted ``bincount``
    over N elements into a small, cache-resident set of bins -- no gather of an (R, N) matrix
    per ranking. This is the path for clip-level tasks, where each element is its own cluster.
    """
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, BLOCK_ELEMENTS // max(n, 1)))
    done = 0
    while done < resamples:
        b = min(block, resamples - done)
        draws = rng.integers(0, n, size=(b, n))  # (b, N) drawn element ids
        draws += (np.arange(b, dtype=np.int64) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        outs = [np.empty((b, k), dtype=np.float32) for _, k in tables]
        for i in range(b):
            w = counts[i]
            for (table, k), out in zip(tables, outs, strict=True):
                out[i] = np.bincount(table, weights=w, minlength=k)
        yield outs
        done += b


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
