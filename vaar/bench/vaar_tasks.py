"""The VAAR tasks: ``vaar-cls`` (ten classes) and ``vaar-binary`` (normal vs anomaly).

Predictions (CSV, Parquet or JSONL), one row per clip of the scored split, exactly once:

* ``clip_id`` -- as in the split file;
* ``label`` -- the predicted class slug (``vaar-binary`` also accepts ``anomaly``);
* optional ``score_<slug>`` for every class of the taxonomy (all or none), any finite numbers,
  higher meaning more likely; ``vaar-binary`` also accepts one ``score_anomaly`` column instead.

The anomaly score is ``1 - score_normal`` (AVAR-Net and most models output softmax
probabilities, for which this is P(anomaly)).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vaar.bench import metrics as M
from vaar.bench.tables import DEFAULT_MAX_BYTES, Table, fail, read_table
from vaar.bench.tasks import ScoreReport, Task, as_float, finish, register_task
from vaar.bench.truth import LabelSet, TruthSource, load_labels
from vaar.taxonomy import default_taxonomy

ANOMALY = "anomaly"


@dataclass(frozen=True)
class ClipPredictions:
    """Validated predictions aligned to the ground truth's clip order."""

    labels: npt.NDArray[np.int64]  # (N,) taxonomy index, or -1 for "anomaly" (binary task only)
    scores: npt.NDArray[np.float64] | None  # (N, C) in taxonomy order, or None
    anomaly_score: npt.NDArray[np.float64] | None  # (N,) or None
    sha256: str
    source: str


def read_clip_predictions(
    path: Path, truth: LabelSet, *, binary: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> ClipPredictions:
    """Read and validate a VAAR predictions file; any problem is one clear SubmissionError."""
    table = read_table(path, max_bytes=max_bytes)
    return validate_clip_table(table, truth, binary=binary)


def validate_clip_table(table: Table, truth: LabelSet, *, binary: bool = False) -> ClipPredictions:
    tax = default_taxonomy()
    p = table.path
    cols = set(table.columns)
    score_cols = [f"score_{s}" for s in tax.slugs]
    missing = [c for c in ("clip_id", "label") if c not in cols]
    if missing:
        raise fail(p, "missing column(s)", f"columns are clip_id, label and optionally score_<class>; found {', '.join(table.columns)}", missing)
    allowed = {"clip_id", "label", *score_cols} | ({"score_anomaly"} if binary else set())
    unknown = [c for c in table.columns if c not in allowed]
    if unknown:
        raise fail(p, "unexpected column(s)", "columns are clip_id, label and optionally "
                   f"score_<class> for every class ({', '.join(tax.slugs)})", unknown)
    present = [c for c in score_cols if c in cols]
    if present and len(present) != len(score_cols):
        absent = [c for c in score_cols if c not in cols]
        raise fail(p, "score columns must cover every class or none; missing", "add the missing score columns or drop all of them", absent)

    # clip ids: strings, each once, exactly the split's
    raw_ids = table.data["clip_id"]
    ids: list[str] = []
    bad_ids: list[str] = []
    for v, w in zip(raw_ids, table.where):
        if isinstance(v, bool) or not isinstance(v, (str, int)) or str(v).strip() == "":
            bad_ids.append(f"{w}: {v!r}")
        ids.append(str(v).strip() if v is not None else "")
    if bad_ids:
        raise fail(p, "empty or non-text clip_id", "give every row the clip_id of the split file", bad_ids)
    counts = Counter(ids)
    dupes = [c for c, k in counts.items() if k > 1]
    if dupes:
        raise fail(p, f"{len(dupes)} duplicate clip_id(s)", "give each clip exactly one row", dupes)
    index = {c: i for i, c in enumerate(truth.clip_ids)}
    extra = [c for c in ids if c not in index]
    if extra:
        raise fail(p, f"{len(extra)} clip_id(s) not in the split ({Path(truth.source).name})",
                   "predict exactly the clips of the scored split", extra)
    if len(ids) != len(index):
        have = set(ids)
        lost = [c for c in truth.clip_ids if c not in have]
        raise fail(p, f"{len(lost)} clip(s) of the split missing", "predict every clip of the scored split", lost)
    pos = np.fromiter((index[c] for c in ids), dtype=np.int64, count=len(ids))

    # labels
    valid = {s: i for i, s in enumerate(tax.slugs)}
    if binary:
        valid[ANOMALY] = -1
    labels = np.empty(len(ids), dtype=np.int64)
    bad_labels: list[str] = []
    for k, (v, w) in enumerate(zip(table.data["label"], table.where)):
        key = v.strip() if isinstance(v, str) else v
        if not isinstance(key, str) or key not in valid:
            bad_labels.append(f"{w}: {v!r}")
        else:
            labels[k] = valid[key]
    if bad_labels:
        names = ", ".join(valid)
        raise fail(p, f"{len(bad_labels)} label(s) outside the taxonomy", f"labels are class slugs: {names}", bad_labels)
    aligned_labels = np.empty_like(labels)
    aligned_labels[pos] = labels

    scores = None
    anomaly = None
    if present:
        mat = np.column_stack([_numeric(table, c) for c in score_cols])
        scores = np.empty_like(mat)
        scores[pos] = mat
        anomaly = 1.0 - scores[:, tax.index(tax.normal_class)]
    if binary and "score_anomaly" in cols:
        col = _numeric(table, "score_anomaly")
        anomaly = np.empty_like(col)
        anomaly[pos] = col
    return ClipPredictions(aligned_labels, scores, anomaly, table.sha256, str(p))


def _numeric(table: Table, column: str) -> npt.NDArray[np.float64]:
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


@register_task
class VaarCls(Task):
    """Ten-class recognition on VAAR."""

    name = "vaar-cls"
    title = "VAAR: 10-class audio-visual anomaly recognition"
    main_score = "macro_f1"
    score_labels = {
        "macro_f1": "Macro-F1",
        "accuracy": "Accuracy",
        "mean_ap": "mAP",
        "anomaly_ap": "Anomaly AP",
        "anomaly_pr_auc": "Anomaly PR-AUC",
    }
    truth_help = "labels CSV (clip_id,label) or --dataset DIR --split test"

    def load_truth(self, source: TruthSource) -> LabelSet:
        return load_labels(source)

    def read_predictions(self, path: Path, truth: LabelSet, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ClipPredictions:
        return read_clip_predictions(path, truth, max_bytes=max_bytes)

    def score(self, predictions: ClipPredictions, truth: LabelSet, *, resamples: int = 1000, seed: int = 0) -> ScoreReport:
        tax = default_taxonomy()
        n_cls = len(tax.slugs)
        y, yhat = truth.labels, predictions.labels
        n = len(y)
        normal = tax.index(tax.normal_class)
        design = M.confusion_design(y, yhat, n_cls)
        rankings: dict[int, M.Ranking] = {}
        anomaly_rank = None
        if predictions.scores is not None:
            for c in range(n_cls):
                if (y == c).any():
                    rankings[c] = M.rank(predictions.scores[:, c], (y == c).astype(np.float64))
        if predictions.anomaly_score is not None and (y != normal).any():
            anomaly_rank = M.rank(predictions.anomaly_score, (y != normal).astype(np.float64))

        def evaluate(w: M.FloatArray) -> dict[str, M.FloatArray]:
            tp, support, predicted = M.confusion_sums(w, design)
            _, _, f1 = M.prf(tp, support, predicted)
            out = {"accuracy": tp.sum(axis=1) / w.sum(axis=1), "macro_f1": f1.mean(axis=1)}
            if rankings:
                aps = np.stack([M.curve_areas(r, w)[0] for r in rankings.values()], axis=1)
                with np.errstate(invalid="ignore"):
                    out["mean_ap"] = _nanmean_rows(aps)
            if anomaly_rank is not None:
                out["anomaly_ap"], out["anomaly_pr_auc"] = M.curve_areas(anomaly_rank, w)
            return out

        ones = M.ones(n)
        point_arrays = evaluate(ones)
        point = {k: as_float(v[0]) for k, v in point_arrays.items()}
        samples: dict[str, list[M.FloatArray]] = {}
        for block in M.bootstrap_weights(n, resamples, seed):
            for k, v in evaluate(block).items():
                samples.setdefault(k, []).append(v)

        tp, support, predicted = M.confusion_sums(ones, design)
        prec, rec, f1 = M.prf(tp, support, predicted)
        per_class: dict[str, dict[str, float | None]] = {}
        for c, slug in enumerate(tax.slugs):
            ap = as_float(M.curve_areas(rankings[c], ones)[0][0]) if c in rankings else None
            per_class[slug] = {"precision": float(prec[0, c]), "recall": float(rec[0, c]),
                               "f1": float(f1[0, c]), "ap": ap, "support": int(support[0, c])}
        return finish(self, n=n, split_sha256=truth.sha256, point=point, samples=samples,
                      per_class=per_class, resamples=resamples, seed=seed)


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
    title = "VAAR: normal vs anomaly"
    main_score = "ap"
    score_labels = {"ap": "AP", "pr_auc": "PR-AUC", "f1": "F1 (anomaly)", "accuracy": "Accuracy"}
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
        n = len(y)
        design = M.confusion_design(y, yhat, 2)
        s = predictions.anomaly_score
        ranks: dict[int, M.Ranking] = {}
        if s is not None:
            for c, sign in ((1, 1.0), (0, -1.0)):
                if (y == c).any():
                    ranks[c] = M.rank(sign * s, (y == c).astype(np.float64))

        def evaluate(w: M.FloatArray) -> dict[str, M.FloatArray]:
            tp, support, predicted = M.confusion_sums(w, design)
            _, _, f1 = M.prf(tp, support, predicted)
            out = {"accuracy": tp.sum(axis=1) / w.sum(axis=1), "f1": f1[:, 1]}
            if 1 in ranks:
                out["ap"], out["pr_auc"] = M.curve_areas(ranks[1], w)
            return out

        ones = M.ones(n)
        point = {k: as_float(v[0]) for k, v in evaluate(ones).items()}
        samples: dict[str, list[M.FloatArray]] = {}
        for block in M.bootstrap_weights(n, resamples, seed):
            for k, v in evaluate(block).items():
                samples.setdefault(k, []).append(v)
        tp, support, predicted = M.confusion_sums(ones, design)
        prec, rec, f1 = M.prf(tp, support, predicted)
        per_class: dict[str, dict[str, float | None]] = {}
        for c, name in ((0, tax.normal_class), (1, ANOMALY)):
            ap = as_float(M.curve_areas(ranks[c], ones)[0][0]) if c in ranks else None
            per_class[name] = {"precision": float(prec[0, c]), "recall": float(rec[0, c]),
                               "f1": float(f1[0, c]), "ap": ap, "support": int(support[0, c])}
        return finish(self, n=n, split_sha256=truth.sha256, point=point, samples=samples,
                      per_class=per_class, resamples=resamples, seed=seed)
