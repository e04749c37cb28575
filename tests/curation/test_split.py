"""Splits: grouped, stratified, deterministic, checksummed (issue #4)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.splits import synth
from vaar._cli import make_main
from vaar.core.contracts.manifest_schema import empty_row, manifest_schema
from vaar.core.errors import ConfigError, ManifestError
from vaar.curation.split import (
    SPLITS,
    SplitItem,
    SplitParams,
    assign_folds,
    assign_splits,
    check_split_dir,
    compare_to_build,
    development_pool,
    load_split_items,
    read_split_dir,
    write_split_dir,
)

REPO = Path(__file__).resolve().parents[2]


def groups_of(items: list[SplitItem]) -> list[set[str]]:
    """Reference grouping (naive fixpoint), independent of the module's connected components."""
    groups: list[set[str]] = []
    keys: list[set[str]] = []
    for it in items:
        k = {f"s:{it.source_id}"} if it.source_id else set()
        k |= {f"d:{it.dup_group}"} if it.dup_group else set()
        g, gk = {it.clip_id}, set(k)
        for i in reversed(range(len(groups))):
            if keys[i] & gk:
                g |= groups.pop(i)
                gk |= keys.pop(i)
        groups.append(g)
        keys.append(gk)
    return groups


def balance(items: list[SplitItem], assignment: dict[str, str]) -> tuple[float, float]:
    """(largest label-share deviation, largest per-class ratio deviation), in points, over
    classes with at least 50 clips."""
    totals = Counter(it.label for it in items)
    sizes = Counter(assignment.values())
    cells = Counter((it.label, assignment[it.clip_id]) for it in items)
    ratios = dict(zip(SPLITS, (0.7, 0.1, 0.2), strict=True))
    share = max(abs(cells[c, s] / sizes[s] - totals[c] / len(items))
                for c in totals if totals[c] >= 50 for s in SPLITS)
    ratio = max(abs(cells[c, s] / totals[c] - ratios[s])
                for c in totals if totals[c] >= 50 for s in SPLITS)
    return share * 100, ratio * 100


def write_manifest(path: Path, rows: list[dict[str, Any]], drop: str | None = None) -> Path:
    full = []
    for i, r in enumerate(rows):
        row = empty_row()
        row.update(source_file="curation/sources/test.csv", source_line=i + 2, status="ok")
        row.update(r)
        full.append(row)
    table = pa.Table.from_pylist(full, schema=manifest_schema())
    if drop:
        table = table.drop_columns([drop])
    pq.write_table(table, path)
    return path


def rows_of(items: list[SplitItem]) -> list[dict[str, Any]]:
    return [{"clip_id": it.clip_id, "label": it.label, "source_id": it.source_id,
             "dup_group": it.dup_group} for it in items]


def cli(*argv: str) -> int:
    return make_main("vaar", "test", {"split": "vaar.curation.cmd_split"})(["split", *argv])


# ----------------------------------------------------------------------------- algorithm


def test_groups_never_straddle_and_every_clip_is_assigned() -> None:
    items = synth(3000, seed=1)
    a = assign_splits(items, seed=1)
    assert set(a) == {it.clip_id for it in items}
    assert set(a.values()) == set(SPLITS)
    for g in groups_of(items):
        assert len({a[c] for c in g}) == 1, sorted(g)


def test_links_are_transitive_across_source_and_dup_group() -> None:
    # a-b share a source, b-c a dup_group, c-d a source: one group of four
    base = [SplitItem("a", "crash", "s1"), SplitItem("b", "crash", "s1", "dup"),
            SplitItem("c", "crash", "s2", "dup"), SplitItem("d", "crash", "s2")]
    singles = [SplitItem(f"x{i:02d}", "crash", None) for i in range(30)]
    for seed in range(5):
        a = assign_splits(base + singles, seed=seed)
        assert len({a[c] for c in "abcd"}) == 1


def test_missing_source_id_is_its_own_group() -> None:
    items = [SplitItem(f"c{i:02d}", "normal", None) for i in range(20)]
    a = assign_splits(items)
    assert Counter(a.values()) == {"train": 14, "validation": 2, "test": 4}


@pytest.mark.parametrize("n,seed", [(1000, 0), (2000, 1), (5000, 2)])
def test_label_proportions_within_two_points(n: int, seed: int) -> None:
    items = synth(n, seed=seed)
    share, ratio = balance(items, assign_splits(items, seed=seed))
    assert share <= 2.0, share  # the bar: a label's share of each split vs overall
    if n >= 5000:  # a class's own split fractions need more clips: 2 points of 50 is one clip
        assert ratio <= 2.0, ratio


def test_small_classes_reach_every_split() -> None:
    items = synth(1000, seed=3, noise=0.0)
    items += [SplitItem(f"z{i}", "police_siren", f"rare{i}") for i in range(3)]
    items = [it for it in items if it.label != "police_siren" or it.clip_id.startswith("z")]
    a = assign_splits(items, seed=3)
    assert sorted(a[f"z{i}"] for i in range(3)) == sorted(SPLITS)


def test_deterministic_whatever_the_input_order() -> None:
    items = synth(2000, seed=4)
    shuffled = list(items)
    random.Random(9).shuffle(shuffled)
    a = assign_splits(items, seed=7)
    assert assign_splits(shuffled, seed=7) == a
    assert list(a) == sorted(a)
    assert assign_splits(items, seed=8) != a  # the seed matters


def test_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    script = (
        "import sys; from tests.fixtures.splits import synth;"
        "from vaar.curation.split import *;"
        "items = synth(1500, seed=5); a = assign_splits(items, seed=2);"
        "f = assign_folds(development_pool(items, a), 4, seed=2);"
        "write_split_dir(items, a, sys.argv[1], folds=f, params=SplitParams(seed=2))"
    )
    outs = []
    for hash_seed in ("1", "12345"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, env=env, cwd=REPO)
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert set(outs[0]) == {"train.csv", "validation.csv", "test.csv", "folds.csv",
                            "split.json", "SHA256SUMS"}


def test_folds_partition_the_development_pool() -> None:
    items = synth(2000, seed=6)
    a = assign_splits(items, seed=6)
    pool = development_pool(items, a)
    folds = assign_folds(pool, 5, seed=6)
    assert set(folds) == {it.clip_id for it in items if a[it.clip_id] != "test"}
    assert set(folds.values()) == set(range(5))
    for g in groups_of(pool):
        assert len({folds[c] for c in g}) == 1
    sizes = Counter(folds.values())
    assert max(sizes.values()) - min(sizes.values()) <= 0.02 * len(pool)


@pytest.mark.parametrize("ratios", [(0.7, 0.1, 0.1), (0.7, 0.3), (1.2, -0.1, -0.1),
                                    (0.0, 0.5, 0.5), (float("nan"), 0.5, 0.5)])
def test_bad_ratios(ratios: tuple[float, ...]) -> None:
    with pytest.raises(ConfigError, match="ratios"):
        assign_splits(synth(100), ratios)


def test_bad_items() -> None:
    ok = [SplitItem(f"c{i}", "crash", None) for i in range(10)]
    with pytest.raises(ManifestError, match="unknown label 'fight'.*c9"):
        assign_splits([*ok[:9], SplitItem("c9", "fight", None)])
    with pytest.raises(ManifestError, match="duplicate clip_id c1"):
        assign_splits([*ok, SplitItem("c1", "crash", None)])
    with pytest.raises(ManifestError, match="class 'pain' has 2 clip"):
        assign_splits([*ok, SplitItem("p1", "pain", None), SplitItem("p2", "pain", None)])
    with pytest.raises(ConfigError, match="folds"):
        assign_folds(ok, 1)
    with pytest.raises(ManifestError, match="5 folds"):
        assign_folds(ok[:4], 5)


def test_zero_ratio_split_stays_empty() -> None:
    a = assign_splits(synth(500), (0.8, 0.0, 0.2))
    assert "validation" not in a.values()


# ----------------------------------------------------------------------------- files


def test_write_read_roundtrip_and_format(tmp_path: Path) -> None:
    items = synth(400, seed=2) + [SplitItem("q1", "crash", "https://x.test/v?a=1,2"),
                                  SplitItem("q2", "crash", None)]
    a = assign_splits(items)
    sums = write_split_dir(items, a, tmp_path, params=SplitParams())
    assert set(sums) == {"train.csv", "validation.csv", "test.csv", "split.json"}
    assert read_split_dir(tmp_path) == a
    for split in SPLITS:
        data = (tmp_path / f"{split}.csv").read_bytes()
        assert b"\r" not in data and data.startswith(b"clip_id,label,source_id\n")
        ids = [line.split(b",")[0] for line in data.splitlines()[1:]]
        assert ids == sorted(ids)
    lines = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == sorted(sums)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_tampering_is_caught(tmp_path: Path) -> None:
    items = synth(300)
    write_split_dir(items, assign_splits(items), tmp_path)
    test_csv = tmp_path / "test.csv"
    test_csv.write_bytes(test_csv.read_bytes() + b"extra,crash,\n")
    with pytest.raises(ManifestError, match="test.csv: sha256 .* does not match SHA256SUMS"):
        read_split_dir(tmp_path)
    report = check_split_dir(tmp_path)
    assert not report.ok
    assert {v.kind for v in report.violations} >= {"checksum"}


def test_stale_folds_file_is_removed(tmp_path: Path) -> None:
    items = synth(300)
    a = assign_splits(items)
    write_split_dir(items, a, tmp_path, folds=assign_folds(development_pool(items, a), 3))
    assert (tmp_path / "folds.csv").exists()
    write_split_dir(items, a, tmp_path)
    assert not (tmp_path / "folds.csv").exists()
    assert check_split_dir(tmp_path).ok


def test_check_against_manifest(tmp_path: Path) -> None:
    items = synth(600, seed=8)
    a = assign_splits(items, seed=8)
    split_dir = tmp_path / "split"
    write_split_dir(items, a, split_dir, params=SplitParams(seed=8))
    rows = rows_of(items)
    # a train clip and a test clip are near-duplicates in a later manifest: a leak
    train_id = next(c for c, s in a.items() if s == "train")
    test_id = next(c for c, s in a.items() if s == "test")
    for r in rows:
        if r["clip_id"] in (train_id, test_id):
            r["dup_group"] = "leak"
    rows[5]["status"] = "failed"
    failed_id = rows[5]["clip_id"]
    gone_id = rows.pop(6)["clip_id"]
    rows.append({"clip_id": "newclip", "label": "crash", "source_id": "new"})
    manifest = write_manifest(tmp_path / "manifest.parquet", rows)

    report = check_split_dir(split_dir, manifest)
    kinds = {v.kind: v for v in report.violations}
    assert set(kinds) == {"straddle", "not_ok", "missing"}
    assert {train_id, test_id} <= set(kinds["straddle"].ids)
    assert kinds["not_ok"].ids == (failed_id,)
    assert kinds["missing"].ids == (gone_id,)
    assert any("newclip" in w for w in report.warnings)
    assert sum(report.split_sizes.values()) == 600
    assert report.largest_proportion_deviation is not None
    assert report.largest_proportion_deviation.points <= 2.0
    assert check_split_dir(split_dir).ok  # without the manifest the leak is invisible


def test_compare_to_build() -> None:
    assert compare_to_build({"a": "train", "b": "test"}, ["b", "c"]) == (["a"], ["c"])


def test_committed_v1_split_verifies() -> None:
    v1 = REPO / "splits" / "v1"
    assert read_split_dir(v1) == {}
    report = check_split_dir(v1)
    assert report.ok and report.ratios_recorded
    assert (v1 / "README.md").exists()


# ----------------------------------------------------------------------------- manifest + CLI


def test_load_split_items_keeps_ok_rows(tmp_path: Path) -> None:
    rows = rows_of(synth(50))
    rows[0]["status"] = "rejected"
    rows[1]["label"] = "not_a_class"
    rows[1]["status"] = "invalid"  # bad rows that are not ok are ignored
    items = load_split_items(write_manifest(tmp_path / "m.parquet", rows))
    assert [it.clip_id for it in items] == [r["clip_id"] for r in rows[2:]]


def test_cli_make_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = synth(800, seed=10)
    rows = rows_of(items)
    rows[0]["status"] = "failed"
    manifest = write_manifest(tmp_path / "manifest.parquet", rows)
    out = tmp_path / "v9"
    assert cli(str(manifest), "--out", str(out), "--seed", "3", "--folds", "4") == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert rows[0]["clip_id"] not in read_split_dir(out)
    stdout = capsys.readouterr().out
    assert "validation" in stdout and "wrote" in stdout and "sha256" in stdout
    # same input, same seed: byte-identical, and allowed without --force
    assert cli(str(manifest), "--out", str(out), "--seed", "3", "--folds", "4") == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    # a different split needs --force
    assert cli(str(manifest), "--out", str(out), "--seed", "4") == 2
    assert "already holds a different split" in capsys.readouterr().err
    assert cli("--check", str(out), "--manifest", str(manifest)) == 0
    capsys.readouterr()
    # a leak: move one clip of a train group to test, re-checksum, check names it
    train = (out / "train.csv").read_text().splitlines()
    header, moved = train[0], train[1]
    (out / "train.csv").write_text("\n".join([header, *train[2:]]) + "\n")
    test = (out / "test.csv").read_text().splitlines()
    (out / "test.csv").write_text("\n".join([test[0], *sorted([*test[1:], moved])]) + "\n")
    assert cli("--check", str(out), "--manifest", str(manifest)) == 1
    stdout = capsys.readouterr().out
    assert "violation (checksum)" in stdout and moved.split(",")[0] in stdout


@pytest.mark.parametrize("case,expect", [
    ("missing_column", "missing column(s) source_id"),
    ("unknown_label", "clip c000003 (curation/sources/test.csv line 5) has unknown label 'fight'"),
    ("bad_ratios", "sum to 0.9, not 1"),
    ("too_few", "class 'pain' has 1 clip(s) but 3 splits"),
    ("not_parquet", "not a readable Parquet manifest"),
    ("no_args", "give a MANIFEST and --out DIR"),
])
def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   case: str, expect: str) -> None:
    rows = rows_of(synth(200))
    manifest = tmp_path / "manifest.parquet"
    args = [str(manifest), "--out", str(tmp_path / "out")]
    if case == "missing_column":
        write_manifest(manifest, rows, drop="source_id")
    elif case == "unknown_label":
        rows[3]["label"] = "fight"
        write_manifest(manifest, rows)
    elif case == "bad_ratios":
        write_manifest(manifest, rows)
        args += ["--ratios", "0.7,0.1,0.1"]
    elif case == "too_few":
        rows = [r for r in rows if r["label"] != "pain"]
        rows.append({"clip_id": "p1", "label": "pain", "source_id": None})
        write_manifest(manifest, rows)
    elif case == "not_parquet":
        manifest.write_text("clip_id,label\n")
    elif case == "no_args":
        args = []
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert expect in err
    assert err.count("\n") == 1 and "Traceback" not in err
