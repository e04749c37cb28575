"""vaar-cls intervals resample by source_id (issue 23, item 5): clips cut from one source video
are correlated, and a test split keeps them together, so the bootstrap draws sources."""

from __future__ import annotations

import dataclasses

import numpy as np

from vaar.bench.tasks import get_task
from vaar.bench.truth import LabelSet
from vaar.bench.vaar_tasks import ClipPredictions, bootstrap_unit, cluster_counts


def split(per_source: int, sources: int = 30, seed: int = 0) -> tuple[LabelSet, ClipPredictions]:
    """Each source's clips share one class, and the model is right or wrong on a whole source."""
    rng = np.random.default_rng(seed)
    n = per_source * sources
    source_label = rng.integers(0, 10, sources)
    source_right = rng.random(sources) < 0.7
    y = np.repeat(source_label, per_source)
    yhat = np.where(np.repeat(source_right, per_source), y, (y + 1) % 10)
    ids = tuple(f"c{i}" for i in range(n))
    groups = tuple(f"s{i // per_source}" for i in range(n))
    truth = LabelSet(ids, y.astype(np.int64), "0" * 64, "test.csv", "test", None, groups)
    return truth, ClipPredictions(yhat.astype(np.int64), None, None, "1" * 64, "p.csv")


def width(report: object) -> float:
    lo, hi = report.ci95["macro_f1"]  # type: ignore[attr-defined]
    return float(hi - lo)


def test_intervals_resample_sources_and_the_entry_says_so() -> None:
    truth, preds = split(per_source=5)
    task = get_task("vaar-cls")
    by_source = task.score(preds, truth, resamples=500, seed=0)
    by_clip = task.score(preds, dataclasses.replace(truth, groups=None), resamples=500, seed=0)
    assert by_source.scores == by_clip.scores  # the point estimate does not change
    assert by_source.details["bootstrap_unit"] == "source_id" and by_source.details["bootstrap_clusters"] == 30
    assert by_clip.details["bootstrap_unit"] == "clip" and by_clip.details["bootstrap_clusters"] == 150
    # five perfectly correlated clips a source: the clip bootstrap pretends to 150 independent
    # draws, the source bootstrap has 30; its interval is about sqrt(5) ~ 2.2x wider
    assert width(by_source) > 1.6 * width(by_clip)


def test_one_clip_a_source_is_the_clip_bootstrap() -> None:
    truth, preds = split(per_source=1, sources=80)
    assert bootstrap_unit(truth) is None
    task = get_task("vaar-cls")
    a = task.score(preds, truth, resamples=200, seed=3)
    b = task.score(preds, dataclasses.replace(truth, groups=None), resamples=200, seed=3)
    assert a.ci95 == b.ci95


def test_cluster_counts_count_every_clip_of_a_drawn_source() -> None:
    cluster_of = np.array([0, 0, 0, 1, 2, 2])  # sources of 3, 1 and 2 clips
    bins = np.arange(6)
    for (counts,) in cluster_counts(cluster_of, 50, 0, [(bins, 6)]):  # (b, 6) draws of each clip
        assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 1] == counts[:, 2]).all()
        assert (counts[:, 4] == counts[:, 5]).all()
        sources = counts[:, [0, 3, 4]]
        assert (sources.sum(axis=1) == 3).all()  # three sources drawn per resample
