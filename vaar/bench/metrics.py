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

#: Elements per bootstrap block (rows x elements): about 6 MB of draws; small blocks keep the
#: (bins, rows) products of the sparse sums cache-resident while they are transposed.
BLOCK_ELEMENTS = 800_000


@dataclass(frozen=True)
class Ranking:
    """A score ranking prepared once; evaluates AP and PR-AUC for many weightings.

    Build it with :func:`rank`. Positions are indices into the descending-score order; within a
    tie group, elements without positive mass come first (the order inside a group does not
    change the curve). A curve point moves recall only at the G tie groups holding positives,
    so positions are cut into 3G + 1 contiguous runs: before positive group g the others since
    group g-1 (``X_g``, g = 0 .. G, ``X_G`` is everything below the last one), the others tied
    inside group g (``Y_g``) and the positives of group g (``Z_g``). Segment ids are laid out
    in contiguous blocks, ``X`` at ``0 .. G``, ``Z`` at ``G+1 .. 2G``, ``Y`` at ``2G+1 .. 3G``,
    so that a weighting needs only its per-segment sums and the areas read contiguous columns;
    when no other element ties a positive (distinct scores) the ``Y`` block is left out and
    there are 2G + 1 segments.
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

    has_tied_others: bool  # some element without positive mass ties a positive (a Y block)

    @property
    def n_segments(self) -> int:
        return (3 if self.has_tied_others else 2) * self.n_groups + 1


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
    big_g = int(pos_groups.size)
    # X_k -> k, Z_k -> G+1+k, Y_k -> 2G+1+k (see Ranking)
    seg_at = np.where(inside, np.where(is_pos, big_g + 1, 2 * big_g + 1) + k, k).astype(np.int64)
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
        n_groups=big_g,
        has_tied_others=bool((seg_at > 2 * big_g).any()),
        q=q,
        q_pos=p_sorted[q],
        q_group_starts=np.flatnonzero(q_new).astype(np.int64),
    )


def segment_sums(r: Ranking, cluster_weights: FloatArray) -> tuple[FloatArray, FloatArray | None]:
    """Per-segment mass sums (B, S), S = ``r.n_segments``, for each row of ``cluster_weights`` (B, K), and the
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
    """AP and PR-AUC from segment sums ``seg`` (B, S) and, when masses are not all 1, the
    positive mass per positive group ``pos`` (B, G). Returns two (B,) float64 arrays.

    Arithmetic runs in ``seg``'s dtype (float64 for point estimates, float32 for resamples, whose
    counts are exact integers); a row whose positive mass is 0 gives NaN.
    """
    big_g = r.n_groups
    if big_g == 0:  # no positive at all
        nan = np.full(seg.shape[0], np.nan)
        return nan, nan.copy()
    x = seg[:, :big_g]  # (B, G) others since the previous positive group
    z = seg[:, big_g + 1 : 2 * big_g + 1]  # (B, G) mass of the positives of each group
    if pos is None:
        pos = z  # unit masses: the positives' mass is their positive mass
    # (B, G) mass of each tie group, with the others tied inside it
    group = z + seg[:, 2 * big_g + 1 :] if r.has_tied_others else z.copy()
    all_end = np.cumsum(x + group, axis=1)  # (B, G) tp + fp at group ends
    tp_end = np.cumsum(pos, axis=1)  # (B, G) tp at group ends
    total = tp_end[:, -1].astype(np.float64)
    # all_end >= pos > 0 wherever pos > 0, so clamping the divisor to 1 changes only 0-terms
    prec = tp_end / np.maximum(all_end, 1e-30)  # (B, G) precision at each group's end
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = np.einsum("bg,bg->b", pos, prec).astype(np.float64) / total
        # the point before a group: (recall 0, precision 1) tops the curve where nothing is drawn
        all_end -= group  # now all_before
        tp_end -= pos  # now tp_before
        empty = all_end <= 0
        tp_end[empty] = 1.0
        all_end[empty] = 1.0
        prec += np.divide(tp_end, all_end, out=all_end)
        pr_auc = 0.5 * np.einsum("bg,bg->b", pos, prec).astype(np.float64) / total
    bad = total <= 0
    ap[bad] = np.nan
    pr_auc[bad] = np.nan
    return ap, pr_auc


def bootstrap_counts(
    n: int, resamples: int, seed: int, tables: list[tuple[IntArray, int]]
) -> Iterator[list[npt.NDArray[np.float32]]]:
    """Resample N independent elements and sum the draws falling in each bin of each table.

    ``tables`` maps each element to a bin: ``(bin_of_element (N,), n_bins)``. Yields, per block of
    b resamples, one (b, n_bins) float32 matrix of draw counts per table (exact: counts stay far
    below 2**24). This is the path for clip-level tasks, where each element is its own cluster.

    How: a block's draw counts are laid out element-major, (N, b), so that each table is one
    sparse (n_bins, N) 0/1 matrix times that block -- per element, one contiguous row of b
    counts added into its bin's row (scipy's CSR kernel, about 10x a weighted ``bincount`` per
    resample). The draws are those of ``default_rng(seed).integers(0, N, (b, N))`` block by
    block, so a seed gives the same resamples as before this layout.
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    cols = np.arange(n, dtype=np.int64)
    ones_n = np.ones(n, dtype=np.float32)
    mats = [sp.csr_matrix((ones_n, (np.asarray(t, dtype=np.int64), cols)), shape=(k, n)) for t, k in tables]
    block = max(1, min(resamples, BLOCK_ELEMENTS // max(n, 1)))
    done = 0
    while done < resamples:
        b = min(block, resamples - done)
        draws = rng.integers(0, n, size=(b, n))  # (b, N) drawn element ids
        draws *= b
        draws += np.arange(b, dtype=np.int64)[:, None]  # element-major cell: element * b + row
        counts = np.bincount(draws.ravel(), minlength=n * b).reshape(n, b).astype(np.float32)  # (N, b)
        del draws
        yield [np.ascontiguousarray((m @ counts).T) for m in mats]  # (b, n_bins) each
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


def macro_f1(tp: FloatArray, support: FloatArray, predicted: FloatArray) -> tuple[FloatArray, IntArray]:
    """Macro-F1 of each row (B, C) -> (B,), and the number of classes it averages (B,).

    The one macro-F1 of vaar (the benchmark, training, the bootstrap): the mean per-class F1 over
    the classes present in the labels or the predictions, scikit-learn's ``f1_score(average=
    "macro")`` with its default ``labels`` (their union). On a split holding every class this
    is the average over all ten. A bootstrap resample that misses a class neither scores it 0
    nor drops the resample: it averages over the classes it holds (NaN only if it holds none).
    """
    _, _, f1 = prf(tp, support, predicted)
    present = (support + predicted) > 0  # (B, C)
    k = present.sum(axis=1)
    total = np.where(present, f1, 0.0).sum(axis=1)
    return np.divide(total, k, out=np.full(tp.shape[0], np.nan), where=k > 0), k.astype(np.int64)


def macro_f1_labels(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, n_classes: int) -> float:
    """:func:`macro_f1` of two label vectors (class indices ``0 .. n_classes-1``)."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    conf = np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(conf).astype(np.float64)[None]
    value, _ = macro_f1(tp, conf.sum(axis=1, dtype=np.float64)[None], conf.sum(axis=0, dtype=np.float64)[None])
    return float(value[0])


def percentile_interval(values: FloatArray, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``values`` (R,), ignoring NaN resamples; None if none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(finite, [tail, 100.0 - tail])
    return float(lo), float(hi)
