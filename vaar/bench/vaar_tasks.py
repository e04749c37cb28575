"""The VAAR tasks: ``vaar-cls`` (ten classes) and ``vaar-binary`` (normal vs anomaly).

Predictions (CSV, Parquet or JSONL), one row per clip of the scored split, exactly once:

* ``clip_id`` -- as in the split file;
* ``label`` -- the predicted class slug (``vaar-binary`` also accepts ``anomaly``);
* optional ``score_<slug>`` for every class of the taxonomy (all or none), any finite numbers,
  higher meaning more likely; ``vaar-binary`` also accepts one ``score_anomaly`` column instead.

The format and its checks live with the contract (:mod:`vaar.core.contracts.predictions`,
:mod:`vaar.core.contracts.clip_predictions`); this module scores.

The anomaly score is ``1 - score_normal`` (AVAR-Net and most models output softmax
probabilities, for which this is P(anomaly)).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.bench import metrics as M
from vaar.bench.tasks import ScoreReport, Task, as_float, finish, register_task
from vaar.bench.truth import LabelSet, TruthSource, load_labels
from vaar.core.contracts.clip_predictions import ClipPredictions, ClipSplit
from vaar.core.contracts.clip_predictions import validate_clip_table as check_clip_table
from vaar.core.contracts.predictions import ANOMALY, DEFAULT_MAX_BYTES, Table, read_table
from vaar.core.taxonomy import default_taxonomy

__all__ = ["ANOMALY", "ClipPredictions", "VaarBinary", "VaarCls", "read_clip_predictions", "validate_clip_table"]

#: evaluate() also returns how many classes each macro-F1 averaged (not a score; for the details)
CLASSES_AVERAGED = "_macro_f1_classes"


def read_clip_predictions(
    path: Path, truth: LabelSet, *, binary: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> ClipPredictions:
    """Read and validate a VAAR predictions file; any problem is one clear SubmissionError."""
    table = read_table(path, max_bytes=max_bytes, max_rows=len(truth.clip_ids) + max(16, len(truth.clip_ids) // 100))
    return validate_clip_table(table, truth, binary=binary)


def validate_clip_table(table: Table, truth: LabelSet, *, binary: bool = False) -> ClipPredictions:
    """The predictions contract's checks (:mod:`vaar.core.contracts.clip_predictions`) against ``truth``."""
    tax = default_taxonomy()
    split = ClipSplit(truth.clip_ids, Path(truth.source).name, tax.slugs, tax.normal_class)
    return check_clip_table(table, split, binary=binary)


@register_task
class VaarCls(Task):
    """Ten-class recognition on VAAR."""

    name = "vaar-cls"
    truth_help = "labels CSV (clip_id,label) or --dataset DIR --split test"

    def load_truth(self, source: TruthSource) -> LabelSet:
        return load_labels(source)

    def read_predictions(self, path: Path, truth: LabelSet, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ClipPredictions:
        return read_clip_predictions(path, truth, max_bytes=max_bytes)

    def score(self, predictions: ClipPredictions, truth: LabelSet, *, resamples: int = 1000, seed: int = 0) -> ScoreReport:
        tax = default_taxonomy()
        y, yhat = truth.labels, predictions.labels
        normal = tax.index(tax.normal_class)
        curves: dict[str, M.Ranking] = {}
        if predictions.scores is not None:
            for c, slug in enumerate(tax.slugs):
                if (y == c).any():
                    curves[slug] = M.rank(predictions.scores[:, c], (y == c).astype(np.float64))
        if predictions.anomaly_score is not None and (y != normal).any():
            curves["anomaly"] = M.rank(predictions.anomaly_score, (y != normal).astype(np.float64))
        class_curves = [k for k in curves if k != "anomaly"]

        def evaluate(conf: M.FloatArray, segs: dict[str, M.FloatArray]) -> dict[str, M.FloatArray]:
            tp, support, predicted = _confusion(conf, len(tax.slugs))
            f1, n_classes = M.macro_f1(tp, support, predicted)
            out = {"accuracy": tp.sum(axis=1) / support.sum(axis=1), "macro_f1": f1, CLASSES_AVERAGED: n_classes}
            if class_curves:
                aps = np.stack([M.areas_from_segments(curves[k], segs[k])[0] for k in class_curves], axis=1)
                out["mean_ap"] = _nanmean_rows(aps)
            if "anomaly" in curves:
                out["anomaly_ap"], out["anomaly_pr_auc"] = M.areas_from_segments(curves["anomaly"], segs["anomaly"])
            return out

        return _score_clips(self, truth, y, yhat, len(tax.slugs), curves, evaluate, tax.slugs, resamples, seed)


def _confusion(conf: M.FloatArray, k: int) -> tuple[M.FloatArray, M.FloatArray, M.FloatArray]:
    """(B, k*k) counts of (true, predicted) pairs -> per-class tp, support, predicted (B, k)."""
    m = conf.reshape(-1, k, k)
    return np.diagonal(m, axis1=1, axis2=2).astype(np.float64), m.sum(axis=2, dtype=np.float64), m.sum(axis=1, dtype=np.float64)


def _score_clips(task: Task, truth: LabelSet, y: npt.NDArray[np.int64], yhat: npt.NDArray[np.int64], k: int,
                 curves: dict[str, M.Ranking], evaluate: Any, class_names: Sequence[str],
                 resamples: int, seed: int) -> ScoreReport:
    """Point scores, bootstrap (by source_id where the labels carry it, else by clip) and
    per-class scores shared by the two VAAR tasks.

    ``curves`` are named rankings (class slugs for per-class AP, plus "anomaly"); ``evaluate``
    maps (confusion counts (B, k*k), segment sums per curve) to score arrays (B,).
    """
    n = len(y)
    pair = y * k + yhat  # (N,) bin of each clip in the flattened confusion matrix
    conf1 = np.bincount(pair, minlength=k * k)[None].astype(np.float64)
    ones = M.ones(n)
    segs1 = {name: M.segment_sums(r, ones)[0] for name, r in curves.items()}
    point_all = evaluate(conf1, segs1)
    full_classes = point_all.pop(CLASSES_AVERAGED, None)
    point = {name: as_float(v[0]) for name, v in point_all.items()}
    samples: dict[str, list[M.FloatArray]] = {}
    names = list(curves)
    tables = [(pair, k * k)] + [(curves[c].segment_of, curves[c].n_segments) for c in names]
    fewer = 0  # resamples whose macro-F1 averaged fewer classes than the whole split holds
    unit = bootstrap_unit(truth)
    draws = M.bootstrap_counts(n, resamples, seed, tables) if unit is None else \
        cluster_counts(unit, resamples, seed, tables)  # fmt: skip
    for conf, *segs in draws:
        out = evaluate(conf, dict(zip(names, segs, strict=True)))
        averaged = out.pop(CLASSES_AVERAGED, None)
        if averaged is not None and full_classes is not None:
            fewer += int((averaged < full_classes[0]).sum())
        for name, v in out.items():
            samples.setdefault(name, []).append(v)
    tp, support, predicted = _confusion(conf1, k)
    prec, rec, f1 = M.prf(tp, support, predicted)
    per_class: dict[str, dict[str, float | None]] = {}
    for c, name in enumerate(class_names):
        ap = as_float(M.areas_from_segments(curves[name], segs1[name])[0][0]) if name in curves else None
        per_class[name] = {"precision": float(prec[0, c]), "recall": float(rec[0, c]),
                           "f1": float(f1[0, c]), "ap": ap, "support": int(support[0, c])}
    details: dict[str, Any] = {"macro_f1_resamples_missing_a_class": fewer} if fewer else {}
    if resamples:
        details["bootstrap_unit"] = "clip" if unit is None else "source_id"
        details["bootstrap_clusters"] = n if unit is None else int(unit.max()) + 1
    return finish(task, n=n, split_sha256=truth.sha256, point=point, samples=samples,
                  per_class=per_class, resamples=resamples, seed=seed, details=details or None)


def bootstrap_unit(truth: LabelSet) -> npt.NDArray[np.int64] | None:
    """(N,) cluster index of each clip: its ``source_id`` (a test split keeps the clips of one
    source together, and they are correlated, so the bootstrap resamples sources, as the XD task
    resamples videos); None when the labels carry no source_id or every source has one clip."""
    groups = getattr(truth, "groups", None)
    if groups is None or len(set(groups)) == len(groups):
        return None
    _, inverse = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    return inverse.astype(np.int64)


def cluster_counts(cluster_of: npt.NDArray[np.int64], resamples: int, seed: int,
                   tables: list[tuple[npt.NDArray[np.int64], int]]) -> Any:  # fmt: skip
    """As :func:`vaar.bench.metrics.bootstrap_counts`, resampling clusters: each resample draws
    K clusters with replacement (:func:`vaar.bench.metrics.bootstrap_weights`) and every clip of a
    drawn cluster counts once per draw. Yields per block one (b, n_bins) matrix per table."""
    import scipy.sparse as sp

    n = len(cluster_of)
    k = int(cluster_of.max()) + 1
    cols = np.arange(n, dtype=np.int64)
    ones = np.ones(n, dtype=np.float32)
    mats = [sp.csr_matrix((ones, (np.asarray(t, dtype=np.int64), cols)), shape=(nb, n)) for t, nb in tables]
    for w in M.bootstrap_weights(k, resamples, seed, n):  # (b, K) draws per cluster
        per_clip = np.ascontiguousarray(w[:, cluster_of].T)  # (N, b)
        yield [np.ascontiguousarray((m @ per_clip).T) for m in mats]  # (b, n_bins) each


def _nanmean_rows(a: M.FloatArray) -> M.FloatArray:
    """Row mean over finite entries; NaN where a row has none. (B, C) -> (B,)."""
    ok = np.isfinite(a)
    k = ok.sum(axis=1)
    total = np.where(ok, a, 0.0).sum(axis=1)
    return np.divide(total, k, out=np.full(a.shape[0], np.nan), where=k > 0)


@register_task
class VaarBinary(Task):
    """Normal vs anomaly on VAAR (every class but ``normal`` is an anomaly)."""

    name = "vaar-binary"
    truth_help = VaarCls.truth_help

    def load_truth(self, source: TruthSource) -> LabelSet:
        return load_labels(source)

    def read_predictions(self, path: Path, truth: LabelSet, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ClipPredictions:
        return read_clip_predictions(path, truth, binary=True, max_bytes=max_bytes)

    def score(self, predictions: ClipPredictions, truth: LabelSet, *, resamples: int = 1000, seed: int = 0) -> ScoreReport:
        tax = default_taxonomy()
        normal = tax.index(tax.normal_class)
        y = (truth.labels != normal).astype(np.int64)  # 1 = anomaly
        yhat = (predictions.labels != normal).astype(np.int64)
        s = predictions.anomaly_score
        curves: dict[str, M.Ranking] = {}
        if s is not None:
            for c, name, sign in ((0, tax.normal_class, -1.0), (1, ANOMALY, 1.0)):
                if (y == c).any():
                    curves[name] = M.rank(sign * s, (y == c).astype(np.float64))

        def evaluate(conf: M.FloatArray, segs: dict[str, M.FloatArray]) -> dict[str, M.FloatArray]:
            tp, support, predicted = _confusion(conf, 2)
            _, _, f1 = M.prf(tp, support, predicted)
            out = {"accuracy": tp.sum(axis=1) / support.sum(axis=1), "f1": f1[:, 1]}
            if ANOMALY in curves:
                out["ap"], out["pr_auc"] = M.areas_from_segments(curves[ANOMALY], segs[ANOMALY])
            return out

        # the normal-class curve is needed for per-class AP only, not in the bootstrap
        boot = {k: v for k, v in curves.items() if k == ANOMALY}
        report = _score_clips(self, truth, y, yhat, 2, boot, evaluate, (tax.normal_class, ANOMALY), resamples, seed)
        if tax.normal_class in curves:
            ap = M.curve_areas(curves[tax.normal_class], M.ones(len(y)))[0][0]
            report.per_class[tax.normal_class]["ap"] = as_float(ap)
        return report
