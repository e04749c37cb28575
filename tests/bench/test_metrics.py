"""The numpy metrics match scikit-learn to 1e-9 on random inputs; the bootstrap is seeded."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
)

from tests.bench.benchdata import SLUGS, make_scores, make_truth
from vaar.bench import metrics as M
from vaar.bench.tasks import get_task
from vaar.bench.truth import LabelSet
from vaar.bench.vaar_tasks import ClipPredictions

TOL = 1e-9


def sk_pr_auc(y: np.ndarray, s: np.ndarray) -> float:
    p, r, _ = precision_recall_curve(y, s)
    return float(auc(r, p))


@pytest.mark.parametrize("seed", range(30))
def test_binary_curves_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    y = (rng.random(n) < rng.uniform(0.05, 0.9)).astype(int)
    y[0] = 1
    s = rng.random(n)
    if seed % 3 == 0:
        s = np.round(s, 1)  # many ties
    elif seed % 3 == 1:
        s = np.round(s, 3)
    ap, pa = M.curve_areas(M.rank(s, y), M.ones(n))
    assert abs(ap[0] - average_precision_score(y, s)) < TOL
    assert abs(pa[0] - sk_pr_auc(y, s)) < TOL


@pytest.mark.parametrize("seed", range(15))
def test_weighted_curves_equal_repeated_samples(seed: int) -> None:
    """A bootstrap weight of k is k copies of the clip, as scikit-learn sees it."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(5, 80))
    y = rng.integers(0, 2, n)
    y[0] = 1
    s = np.round(rng.random(n), 1 + seed % 3)
    w = rng.integers(0, 4, n).astype(float)
    w[0] = 1
    ap, pa = M.curve_areas(M.rank(s, y), w[None])
    yy, ss = np.repeat(y, w.astype(int)), np.repeat(s, w.astype(int))
    assert abs(ap[0] - average_precision_score(yy, ss)) < TOL
    assert abs(pa[0] - sk_pr_auc(yy, ss)) < TOL


def test_bootstrap_counts_agree_with_weights() -> None:
    """The draw-counting bootstrap path and the weight path give the same curves."""
    rng = np.random.default_rng(7)
    n = 500
    y = rng.integers(0, 2, n)
    s = np.round(rng.random(n), 2)
    r = M.rank(s, y)
    for (segs,) in M.bootstrap_counts(n, 20, 3, [(r.segment_of, r.n_segments)]):
        via_counts = M.areas_from_segments(r, segs.astype(np.float64))
    draws = np.random.default_rng(3).integers(0, n, size=(20, n))
    weights = np.stack([np.bincount(d, minlength=n) for d in draws]).astype(np.float64)
    via_weights = M.curve_areas(r, weights)
    np.testing.assert_allclose(via_counts[0], via_weights[0], atol=1e-6)
    np.testing.assert_allclose(via_counts[1], via_weights[1], atol=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_vaar_cls_scores_match_sklearn(seed: int) -> None:
    ids, y = make_truth(int(np.random.default_rng(seed).integers(30, 400)), seed=seed)
    scores = make_scores(y, seed=seed + 50, decimals=2 if seed % 2 else None)
    yhat = scores.argmax(axis=1)
    if seed % 4 == 0:
        yhat[y == 3] = 4  # class 3 never predicted
    truth = LabelSet(tuple(ids), y, "0" * 64, "labels.csv", None)
    normal = SLUGS.index("normal")
    preds = ClipPredictions(yhat, scores, 1.0 - scores[:, normal], "x", "p.csv")
    rep = get_task("vaar-cls").score(preds, truth, resamples=50, seed=seed)
    k = list(range(len(SLUGS)))
    assert abs(rep.scores["accuracy"] - accuracy_score(y, yhat)) < TOL
    assert abs(rep.scores["macro_f1"] - f1_score(y, yhat, labels=k, average="macro", zero_division=0)) < TOL
    present = [c for c in k if (y == c).any()]
    mean_ap = np.mean([average_precision_score(y == c, scores[:, c]) for c in present])
    assert abs(rep.scores["mean_ap"] - mean_ap) < TOL
    anomaly = (y != normal).astype(int)
    assert abs(rep.scores["anomaly_ap"] - average_precision_score(anomaly, 1 - scores[:, normal])) < TOL
    assert abs(rep.scores["anomaly_pr_auc"] - sk_pr_auc(anomaly, 1 - scores[:, normal])) < TOL
    prec = precision_score(y, yhat, labels=k, average=None, zero_division=0)
    rec = recall_score(y, yhat, labels=k, average=None, zero_division=0)
    f1 = f1_score(y, yhat, labels=k, average=None, zero_division=0)
    for c, slug in enumerate(SLUGS):
        m = rep.per_class[slug]
        assert abs(m["precision"] - prec[c]) < TOL and abs(m["recall"] - rec[c]) < TOL and abs(m["f1"] - f1[c]) < TOL
        if c in present:
            assert abs(m["ap"] - average_precision_score(y == c, scores[:, c])) < TOL


def test_vaar_binary_matches_sklearn() -> None:
    ids, y = make_truth(300, seed=5)
    scores = make_scores(y, seed=6)
    normal = SLUGS.index("normal")
    yhat = scores.argmax(axis=1)
    truth = LabelSet(tuple(ids), y, "0" * 64, "labels.csv", None)
    rep = get_task("vaar-binary").score(ClipPredictions(yhat, scores, 1 - scores[:, normal], "x", "p"), truth,
                                        resamples=20)
    a, ahat = (y != normal).astype(int), (yhat != normal).astype(int)
    assert abs(rep.scores["accuracy"] - accuracy_score(a, ahat)) < TOL
    assert abs(rep.scores["f1"] - f1_score(a, ahat, zero_division=0)) < TOL
    assert abs(rep.scores["ap"] - average_precision_score(a, 1 - scores[:, normal])) < TOL
    assert abs(rep.scores["pr_auc"] - sk_pr_auc(a, 1 - scores[:, normal])) < TOL
    assert abs(rep.per_class["normal"]["ap"] - average_precision_score(1 - a, scores[:, normal])) < TOL


def test_no_scores_gives_null_score_metrics() -> None:
    ids, y = make_truth(50)
    truth = LabelSet(tuple(ids), y, "0" * 64, "labels.csv", None)
    rep = get_task("vaar-cls").score(ClipPredictions(y.copy(), None, None, "x", "p"), truth, resamples=10)
    assert rep.scores["accuracy"] == 1.0
    assert rep.scores["mean_ap"] is None and rep.scores["anomaly_ap"] is None and rep.scores["anomaly_pr_auc"] is None
    assert rep.ci95["mean_ap"] is None and rep.ci95["accuracy"] is not None


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    ids, y = make_truth(400, seed=2)
    scores = make_scores(y, seed=3)
    truth = LabelSet(tuple(ids), y, "0" * 64, "labels.csv", None)
    preds = ClipPredictions(scores.argmax(axis=1), scores, 1 - scores[:, SLUGS.index("normal")], "x", "p")
    task = get_task("vaar-cls")
    a = task.score(preds, truth, resamples=200, seed=0)
    b = task.score(preds, truth, resamples=200, seed=0)
    c = task.score(preds, truth, resamples=200, seed=1)
    assert a.ci95 == b.ci95
    assert a.ci95 != c.ci95
    for name, (lo, hi) in a.ci95.items():  # type: ignore[misc]
        assert lo <= a.scores[name] <= hi, name
        assert hi - lo < 0.2


def test_percentile_interval() -> None:
    v = np.arange(1001, dtype=float)
    assert M.percentile_interval(v) == pytest.approx((25.0, 975.0))
    assert M.percentile_interval(np.array([np.nan])) is None


def test_perfect_model_on_twenty_clips_has_a_perfect_macro_f1_interval() -> None:
    """Issue 10 item 13: a resample missing a class must not score it 0 (was 70.0-100.0)."""
    ids = [f"clip{i:02d}" for i in range(20)]
    y = np.repeat(np.arange(len(SLUGS)), 2)  # the sample: two clips a class
    truth = LabelSet(tuple(ids), y, "0" * 64, "labels.csv", None)
    rep = get_task("vaar-cls").score(ClipPredictions(y.copy(), None, None, "x", "p"), truth, resamples=1000)
    assert rep.scores["macro_f1"] == 1.0
    assert rep.ci95["macro_f1"] == [1.0, 1.0]
    assert rep.details["macro_f1_resamples_missing_a_class"] > 500  # reported, not hidden (791)


def test_macro_f1_averages_classes_in_labels_or_predictions() -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        y = rng.integers(0, 6, 40)  # classes 6 .. 9 absent from the labels
        p = np.where(rng.random(40) < 0.3, rng.integers(0, 10, 40), y)  # some predicted anyway
        expected = f1_score(y, p, average="macro", zero_division=0)  # scikit-learn's default labels
        assert abs(M.macro_f1_labels(y, p, 10) - expected) < TOL


def test_training_reports_the_benchmark_macro_f1() -> None:
    """Training used to average over classes present in the labels only."""
    pytest.importorskip("torch")
    from vaar.baselines.train import summarise

    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 0, 1, 1, 2, 3])  # class 3 predicted, not present: an F1 of 0 that counts
    assert summarise(p, y, 10)["macro_f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
