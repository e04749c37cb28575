"""Splits grouped by uploader: one channel's clips (same camera, style, watermark) stay in one
split, as duplicate groups do; the check names an uploader that straddles splits, and a missed
balance bar is reported with its reason."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.curation.test_split import cli, rows_of, write_manifest
from tests.fixtures.splits import synth
from vaar.curation.split import (
    SplitParams,
    assign_splits,
    check_split_dir,
    load_split_items,
    read_split_dir,
    write_split_dir,
)
from vaar.curation.split.algorithm import group_clips

CLASSES = ("abuse", "crash", "explosion", "pain", "vandalism")


def manifest_rows(n: int = 800, seed: int = 4) -> list[dict[str, Any]]:
    """``synth`` clips on YouTube, each source its own channel, except that one channel
    (``bigchannel``) uploaded 30 clips of five classes from 30 different videos."""
    rows = rows_of(synth(n, seed=seed))
    for i, r in enumerate(rows):
        r.update(extractor="Youtube", uploader=f"chan-{r['source_id']}")
        if i % 26 == 0 and i // 26 < 30:
            r.update(uploader="bigchannel", label=CLASSES[(i // 26) % 5], source_id=f"yt:big{i}")
    rows[1].update(uploader=None)  # unknown uploader: grouped by its source only
    return rows


def test_one_uploaders_clips_never_straddle_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = manifest_rows()
    manifest = write_manifest(tmp_path / "manifest.parquet", rows)
    items = load_split_items(manifest)
    big = {it.clip_id for it in items if it.uploader == "Youtube:bigchannel"}
    assert len(big) == 30 and len({it.source_id for it in items if it.clip_id in big}) == 30
    assert len({next(r["label"] for r in rows if r["clip_id"] == c) for c in big}) == 5
    # the channel is one group although its 30 clips come from 30 videos
    assert any({items[i].clip_id for i in g} >= big for g in group_clips(items))
    for seed in range(3):
        assignment = assign_splits(items, seed=seed)
        assert len({assignment[c] for c in big}) == 1
        per_uploader: dict[str | None, set[str]] = {}
        for it in items:
            per_uploader.setdefault(it.uploader, set()).add(assignment[it.clip_id])
        assert all(len(s) == 1 for u, s in per_uploader.items() if u is not None)
    # through the CLI: made, checked against the manifest, the bound reported
    out = tmp_path / "v1"
    assert cli(str(manifest), "--out", str(out), "--seed", "0") == 0
    made = capsys.readouterr().out
    assert "largest label-share deviation" in made
    split = read_split_dir(out)
    assert len({split[c] for c in big}) == 1
    assert cli("--check", str(out), "--manifest", str(manifest)) == 0
    capsys.readouterr()


def test_check_names_an_uploader_that_straddles(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A split made without uploader grouping (an older vaar, or uploaders learned later) is caught."""
    rows = manifest_rows()
    manifest = write_manifest(tmp_path / "manifest.parquet", rows)
    blind = [it.__class__(it.clip_id, it.label, it.source_id, it.dup_group) for it in load_split_items(manifest)]
    assignment = assign_splits(blind, seed=0)
    big = sorted(r["clip_id"] for r in rows if r.get("uploader") == "bigchannel")
    assert len({assignment[c] for c in big}) > 1  # 30 videos of one channel spread over the splits
    out = tmp_path / "old"
    write_split_dir(blind, assignment, out, params=SplitParams(seed=0))
    report = check_split_dir(out, manifest)
    kinds = {v.kind for v in report.violations}
    assert "uploader" in kinds
    v = next(v for v in report.violations if v.kind == "uploader")
    assert "uploader 'Youtube:bigchannel' (30 clips) straddles" in v.message and set(v.ids) == set(big)
    assert check_split_dir(out).ok  # without the manifest the uploader is unknown
    assert cli("--check", str(out), "--manifest", str(manifest)) == 1
    assert "violation (uploader)" in capsys.readouterr().out


def test_a_missed_balance_bar_is_reported_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One channel holds most of a class: the bar cannot be met with the channel kept whole."""
    rows = rows_of(synth(400, seed=1))
    for r in rows:
        r.update(extractor="Youtube", uploader=f"chan-{r['source_id']}")
    abuse = [r for r in rows if r["label"] == "abuse"]
    for r in abuse[: int(len(abuse) * 0.8)]:
        r["uploader"] = "onechannel"
    manifest = write_manifest(tmp_path / "manifest.parquet", rows)
    items = load_split_items(manifest)
    assert Counter(it.label for it in items)["abuse"] >= 50
    out = tmp_path / "v1"
    assert cli(str(manifest), "--out", str(out)) == 0
    text = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "the balance bar is missed" in text and "uploader 'Youtube:onechannel'" in text
    assert "groups are kept whole" in text
