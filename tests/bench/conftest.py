"""Fixtures for vaar-bench tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.benchdata import make_scores, make_truth, write_labels, write_predictions


@pytest.fixture
def small(tmp_path: Path) -> dict[str, object]:
    ids, y = make_truth(200, seed=0)
    scores = make_scores(y)
    labels = write_labels(tmp_path / "labels.csv", ids, y)
    preds = write_predictions(tmp_path / "pred.csv", ids, scores)
    return {"ids": ids, "y": y, "scores": scores, "labels": labels, "preds": preds, "dir": tmp_path}
