"""Leaderboard honesty: the synthetic sample gets a table of its own and never becomes a task's
test set; every table says what it compares on; the sample's card and datasheet say "synthetic"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bench.benchdata import make_dataset, make_scores, make_truth, write_predictions
from vaar.bench.cli import main
from vaar.core.contracts.sample_version import SAMPLE_NAME, sample_version


def dataset(root: Path, n: int, seed: int, version: str) -> tuple[Path, Path]:
    ids, y = make_truth(n, seed=seed)
    ds = make_dataset(root, ids, y)
    (ds / "README.md").write_text(f"---\nversion: {version}\n---\n# VAAR\n", encoding="utf-8")
    return ds, write_predictions(root.parent / f"{root.name}-preds.csv", ids, make_scores(y, seed=seed))


def submit(capsys: pytest.CaptureFixture[str], preds: Path, ds: Path, board: Path, name: str) -> tuple[int, str]:
    rc = main(["submit", str(preds), "--dataset", str(ds), "--name", name, "--leaderboard", str(board),
               "--bootstrap", "20"])  # fmt: skip
    return rc, capsys.readouterr().err


def test_sample_submissions_get_their_own_table_and_pin_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    board = tmp_path / "board"
    sample, sample_preds = dataset(tmp_path / "sample", 20, 1, sample_version(None))
    real, real_preds = dataset(tmp_path / "real", 60, 2, "1.0.0")
    # following the docs from the repository root with the sample first: nothing is pinned
    rc, err = submit(capsys, sample_preds, sample, board, "first try")
    assert rc == 0, err
    assert not (board / "test_sets.json").exists()
    # the real test set is then accepted, and pins the task
    rc, err = submit(capsys, real_preds, real, board, "real model")
    assert rc == 0, err
    pinned = json.loads((board / "test_sets.json").read_text())
    real_entry = json.loads((board / "entries/vaar-cls/real-model.json").read_text())
    assert pinned == {"vaar-cls": real_entry["dataset"]["split_sha256"]}
    # another sample submission still lands, in the sample table
    rc, err = submit(capsys, sample_preds, sample, board, "second try")
    assert rc == 0, err
    md = (board / "LEADERBOARD.md").read_text(encoding="utf-8")
    official, _, sample_part = md.partition("synthetic sample")
    assert "real model" in official and "first try" not in official
    assert "first try" in sample_part and "second try" in sample_part
    assert "Compared on: dataset real, version 1.0.0, split test" in md and "n = 60 clips" in md
    assert "version 0.1.0+synthetic-sample" in md and "n = 20 clips" in md
    html = (board / "index.html").read_text(encoding="utf-8")
    assert html.count('class="note provenance"') == 3  # vaar-cls, its sample table, xd-violence (no entries)


def test_sample_card_and_datasheet_say_synthetic() -> None:
    from vaar.core.taxonomy import default_taxonomy
    from vaar.curation.publish.card import CardFacts, render_card
    from vaar.curation.publish.datasheet import _motivation

    tax = default_taxonomy()
    per = {s: {c: 1 for c in tax.slugs} for s in ("train", "validation", "test")}
    facts = CardFacts(SAMPLE_NAME, "other", 0, {s: 10 for s in per}, {s: 100 for s in per}, per,
                      {s: 30.0 for s in per}, {}, version=sample_version(None))  # fmt: skip
    card = render_card(facts, tax)
    assert "**A synthetic sample**" in card and "none is a public video" in card and "vaar[video]" in card
    assert "each clip was downloaded" not in card
    real = render_card(CardFacts("VAAR", "other", 0, facts.counts, facts.data_bytes, per, facts.seconds, {},
                                 version="1.0.0"), tax)  # fmt: skip
    assert "synthetic" not in real and "vaar[video]" in real
    assert "synthetic sample" in _motivation(sample_version("2.0.0"))[0] and sample_version("2.0.0") == "2.0.0+synthetic-sample"
    assert "public videos" in _motivation("1.0.0")[0]


def test_provenance_of_hostile_entries_is_text() -> None:
    from vaar.bench.render import render_html, render_markdown

    e = {"task": "vaar-cls", "slug": "x", "model": {"name": "m"}, "n": 20, "main_score": "macro_f1",
         "scores": {"macro_f1": 0.5}, "ci95": {"macro_f1": [0.4, 0.6]}, "date": "2026-01-01",
         "dataset": {"source": "<script>alert(1)</script>|[x](javascript:y)", "split": "test",
                     "split_sha256": "a" * 64, "version": "1.0.0"}}  # fmt: skip
    html = render_html([e])
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    md = render_markdown([e])
    assert "[x](javascript:y)" not in md and "<script>" not in md
