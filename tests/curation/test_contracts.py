"""The contracts read by one function each: the manifest (read_manifest + vaar.core.contracts.manifest_schema) and
SHA256SUMS (vaar.core.contracts.sums, one rule everywhere: a missing file is a violation)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.bench.benchdata import make_dataset, make_truth, write_predictions
from vaar.bench.cli import main as bench
from vaar.cli import main as vaar
from vaar.core.contracts.manifest_file import read_manifest
from vaar.core.contracts.manifest_schema import MANIFEST_COLUMNS, empty_row, manifest_schema
from vaar.core.contracts.sums import parse_sums, verify_listed
from vaar.core.errors import ManifestError
from vaar.curation.build.reasons import reason_code


def manifest_file(path: Path, n: int = 3, **change: object) -> Path:
    rows = []
    for i in range(n):
        row = empty_row()
        row.update(clip_id=f"c{i}", label="crash", status="ok", source_id=f"s{i}")
        row.update(change)
        rows.append(row)
    pq.write_table(pa.Table.from_pylist(rows, schema=manifest_schema()), path)
    return path


def test_read_manifest_returns_the_schema(tmp_path: Path) -> None:
    table = read_manifest(manifest_file(tmp_path / "m.parquet"))
    assert tuple(table.column_names) == MANIFEST_COLUMNS and table.num_rows == 3
    # an older manifest without an optional column reads it as nulls
    pq.write_table(pq.read_table(tmp_path / "m.parquet").drop_columns(["dup_group"]), tmp_path / "old.parquet")
    assert read_manifest(tmp_path / "old.parquet", ["clip_id", "dup_group"]).column("dup_group").null_count == 3


def test_read_manifest_validates(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="status 'done' is not one of ok, failed"):
        read_manifest(manifest_file(tmp_path / "a.parquet", status="done"))
    t = pq.read_table(manifest_file(tmp_path / "b.parquet"))
    t = t.set_column(t.column_names.index("width"), "width", pa.array(["wide"] * 3))
    pq.write_table(t, tmp_path / "b.parquet")
    with pytest.raises(ManifestError, match="column width is string, the manifest schema says int32"):
        read_manifest(tmp_path / "b.parquet")
    pq.write_table(t.drop_columns(["status"]), tmp_path / "c.parquet")
    with pytest.raises(ManifestError, match=r"missing column\(s\) status"):
        read_manifest(tmp_path / "c.parquet", ["clip_id"])


def test_split_and_publish_read_through_the_same_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = manifest_file(tmp_path / "m.parquet", n=30, status="done")
    for args in (["split", str(bad), "--out", str(tmp_path / "v1")],
                 ["publish", str(bad), "--out", str(tmp_path / "ds")]):
        assert vaar(args) == 2
        err = capsys.readouterr().err
        assert "status 'done' is not one of" in err and err.count("\n") == 1


def test_sums_parser_one_rule(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    digest = hashlib.sha256(b"x\n").hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{digest} *a.csv\n{digest}  b.csv\nnot a line\n")
    listed, problems = parse_sums(tmp_path / "SHA256SUMS")
    assert listed == {"a.csv": digest, "b.csv": digest}  # `sha256sum -b` style accepted
    assert [p.message.split(": ", 1)[1] for p in problems] == ["not `<sha256>  <file>`"]
    (tmp_path / "SHA256SUMS").write_text(f"{digest}  a.csv\n{digest}  b.csv\n")
    with pytest.raises(ManifestError, match="b.csv: listed in SHA256SUMS but missing"):
        verify_listed(tmp_path, ["a.csv"])
    (tmp_path / "SHA256SUMS").unlink()
    with pytest.raises(ManifestError, match="SHA256SUMS: missing"):
        verify_listed(tmp_path, ["a.csv"])


def test_scoring_refuses_a_dataset_without_sha256sums(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids, y = make_truth(30)
    root = make_dataset(tmp_path / "ds", ids, y)
    preds = write_predictions(tmp_path / "p.csv", ids, None, ["crash"] * len(ids))
    (root / "splits" / "SHA256SUMS").unlink()  # an edited split file can no longer be caught
    assert bench(["score", str(preds), "--dataset", str(root), "--bootstrap", "10"]) == 2
    err = capsys.readouterr().err
    assert "SHA256SUMS: missing" in err and err.count("\n") == 1
    # ... and the same folder fails `vaar split --check` for the same reason
    assert vaar(["split", "--check", str(root / "splits")]) == 1
    assert "SHA256SUMS: missing" in capsys.readouterr().out


@pytest.mark.parametrize(("stage", "error", "code"), [
    ("download", "HTTP Error 404: Not Found (after 1 attempt)", "download.http_404"),
    ("download", "HTTP Error 503: Service Unavailable", "download.http_503"),
    ("validate", "curation/sources/a.csv:7: end (3) must be after start (5)", "validate.end_before_start"),
    ("validate", "x.csv:2: unknown label 'ufo'; use one of abuse, crash", "validate.unknown_label"),
    ("quality", "silent audio: 100% below -50 dBFS", "quality.silent"),
    ("verify", "no audio track (an audio-visual dataset needs sound)", "quality.no_audio"),
    ("trim", "internal error: KeyError: 'x'", "trim.internal_error"),
    ("sync", "something new", "sync.other"),
])
def test_reason_codes(stage: str, error: str, code: str) -> None:
    assert reason_code(stage, error) == code
