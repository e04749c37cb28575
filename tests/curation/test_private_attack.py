"""Issue 19, finding 1: recovering the private test labels from what a submitter holds.

The attacker starts from exactly DESIGN.md §6's list: every public source list and the published
folder (media, public splits, card, datasheet). The attack of the report: the test rows are the
public rows missing from ``train.csv``/``validation.csv``; rebuild them with ``vaar build`` and match
each rebuilt clip to an opaque test id (by ``video_sha256``, else by the media bytes). With the test
sources in a public list, publishing private labels is now refused; with the two-list workflow
(host-only test list) the attack recovers nothing and no published number gives per-class test counts.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.http_server import FaultyServer
from tests.fixtures.media import make_source
from vaar.cli import main
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.pipeline import BuildConfig, run_build

HEADER = "clip_id,url,start,end,label,source_id,license,notes\n"
CLASSES = ("crash", "explosion", "normal")
FAST = BuildConfig(workers=2, download=DownloadConfig(retries=0, backoff_s=0.05, allow_private_network=True),
                   do_publish=False)
SECRET = "host secret: 32 bytes of entropy, not guessable"


def _list(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(f"{c},{u},0.4,2.4,{lab},,CC-BY-4.0,\n" for c, u, lab in rows), encoding="utf-8")
    return path


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def recover(public_lists: list[Path], dataset: Path, work: Path) -> dict[str, str]:
    """The attack: opaque test id -> label, from the public lists and the published folder only."""
    known = {r["clip_id"] for s in ("train", "validation") for r in _csv_rows(dataset / "splits" / f"{s}.csv")}
    left = [r for p in public_lists for r in _csv_rows(p) if r["clip_id"] not in known]
    if not left:
        return {}
    work.mkdir(parents=True, exist_ok=True)
    mine = work / "attacker.csv"
    mine.write_text(HEADER + "".join(f"{r['clip_id']},{r['url']},{r['start']},{r['end']},{r['label']},,,\n"
                                     for r in left), encoding="utf-8")
    run_build([mine], work / "rebuilt", FAST)
    rebuilt = pq.read_table(work / "rebuilt" / "manifest.parquet").to_pylist()
    by_hash, by_bytes = {}, {}
    for r in rebuilt:
        if r["status"] == "ok":
            by_hash[r["video_sha256"]] = r["label"]
            by_bytes[hashlib.sha256((work / "rebuilt" / r["video_path"]).read_bytes()).hexdigest()] = r["label"]
    out = {}
    for shard in sorted((dataset / "data").glob("test-*.parquet")):
        for r in pq.read_table(shard).to_pylist():
            lab = by_hash.get(r.get("video_sha256")) or by_bytes.get(hashlib.sha256(r["video"]["bytes"]).hexdigest())
            if lab:
                out[r["clip_id"]] = lab
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("private-attack")
    (root / "www").mkdir()
    with FaultyServer(root / "www") as srv:
        rows = []
        for i, label in enumerate(CLASSES):
            for k in range(4):  # 12 variants: no two sources are near-duplicates
                make_source(srv.root / f"{label}{k}.mp4", 3.0, variant=4 * i + k)
                rows.append((f"{label}-{k}", srv.url(f"{label}{k}.mp4"), label))
        (root / "host").mkdir()
        (root / "host" / "secret").write_text(SECRET)
        yield root, srv, rows


def _publish(manifest: Path, out: Path, labels: Path, secret: Path, *extra: str | Path,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["publish", str(manifest), "--out", str(out), "--private-test-labels", str(labels),
               "--host-secret-file", str(secret), *map(str, extra)])
    return rc, capsys.readouterr().err


def test_finding1_test_sources_in_a_public_list_are_refused(world, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The report's set-up: one public list holds every clip, the split picks the test clips."""
    root, srv, rows = world
    public = _list(tmp_path / "repo" / "curation" / "sources" / "all.csv", rows)
    run_build([public], tmp_path / "build", FAST)
    rc, err = _publish(tmp_path / "build" / "manifest.parquet", tmp_path / "ds", root / "host" / "labels.csv",
                       root / "host" / "secret", capsys=capsys)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert "private test labels refused" in lines[0] and "all.csv:" in lines[0] and "host-only list" in lines[0]
    assert not (tmp_path / "ds").exists()
    # a list named public elsewhere counts too
    elsewhere = _list(tmp_path / "lists" / "mine.csv", rows)
    run_build([elsewhere], tmp_path / "build2", FAST)
    rc, err = _publish(tmp_path / "build2" / "manifest.parquet", tmp_path / "ds2", root / "host" / "labels2.csv",
                       root / "host" / "secret", "--public-sources", elsewhere, capsys=capsys)
    assert rc == 2 and "mine.csv:" in err


def test_finding1_two_list_workflow_leaves_the_attacker_nothing(world, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, srv, rows = world
    test_rows = [r for r in rows if r[0].endswith("-3")]
    public = _list(tmp_path / "repo" / "curation" / "sources" / "public.csv", [r for r in rows if r not in test_rows])
    host = _list(root / "host" / "test-sources.csv", test_rows)
    run_build([public, host], tmp_path / "build", FAST)
    labels = root / "host" / "labels-two.csv"
    ds = tmp_path / "ds"
    rc, err = _publish(tmp_path / "build" / "manifest.parquet", ds, labels, root / "host" / "secret",
                       "--test-sources", host, capsys=capsys)
    assert rc == 0, err
    hidden = {r["clip_id"]: r["label"] for r in _csv_rows(labels)}
    assert len(hidden) == len(test_rows)
    # the attack, from the public list and the published folder: nothing left to rebuild, nothing matched
    assert recover([public], ds, tmp_path / "attacker") == {}
    # nothing in a published test row identifies its source
    test = [r for p in sorted((ds / "data").glob("test-*.parquet")) for r in pq.read_table(p).to_pylist()]
    for r in test:
        assert r["video_sha256"] is None and r["av_offset_ms"] is None and r["url"] is None
        assert r["duration"] == round(r["duration"]) and r["label"] == -1
    for column in ("title", "uploader", "audio_sha256", "video_bytes", "source_file"):
        assert column not in test[0]
    # no published number gives per-class test counts: the datasheet's totals are the public splits'
    train_val = {s: _csv_rows(ds / "splits" / f"{s}.csv") for s in ("train", "validation")}
    sheet = (ds / "DATASHEET.md").read_text(encoding="utf-8")
    card = (ds / "README.md").read_text(encoding="utf-8")
    for slug in CLASSES:
        public_n = sum(1 for s in train_val.values() for r in s if r["label"] == slug)
        row = next(line for line in sheet.splitlines() if line.startswith(f"| `{slug}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-2] == "—" and int(cells[-1]) == public_n, row
        card_row = next(line for line in card.splitlines() if line.startswith(f"| `{slug}` |"))
        assert str(public_n + sum(1 for lab in hidden.values() if lab == slug)) not in card_row.split("|")[-2:]


def test_finding1_on_a_mixed_build_the_old_attack_would_have_worked(world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Control: the attack itself is real. Published without private labels (test labelled, hashes
    shown), the same rebuild matches every test clip, so an empty result above means protection."""
    root, srv, rows = world
    public = _list(tmp_path / "repo" / "curation" / "sources" / "all.csv", rows)
    run_build([public], tmp_path / "build", FAST)
    assert main(["publish", str(tmp_path / "build" / "manifest.parquet"), "--out", str(tmp_path / "ds")]) == 0
    got = recover([public], tmp_path / "ds", tmp_path / "attacker")
    test = _csv_rows(tmp_path / "ds" / "splits" / "test.csv")
    assert got and got == {r["clip_id"]: r["label"] for r in test}
