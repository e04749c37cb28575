"""Contracts accept what the ecosystem writes: a manifest written back by pandas (``large_string``),
polars-style ``large_list``, other integer widths and dictionary-encoded text are cast, not refused;
text for a number, a float for an integer or an integer that does not fit is still refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.splits import synth
from vaar.core.contracts.arrow_types import TypeMismatch, conform, equivalent
from vaar.core.contracts.manifest_file import read_manifest
from vaar.core.contracts.manifest_schema import empty_row, manifest_schema
from vaar.core.errors import ManifestError


def _manifest(path: Path, n: int = 120) -> Path:
    rows: list[dict[str, Any]] = []
    for i, it in enumerate(synth(n, seed=3)):
        row = empty_row()
        row.update(source_file="curation/sources/test.csv", source_line=i + 2, status="ok", clip_id=it.clip_id,
                   label=it.label, source_id=it.source_id, dup_group=it.dup_group, width=160, height=90)
        rows.append(row)
    pq.write_table(pa.Table.from_pylist(rows, schema=manifest_schema()), path)
    return path


def _widen(table: pa.Table) -> pa.Table:
    """What pandas (string[pyarrow] / pandas 3) and polars write: large strings, int64 counts."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_string(t):
            t = pa.large_string()
        elif pa.types.is_int32(t):
            t = pa.int64()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


def test_pandas_round_trip_reads_as_the_same_manifest(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    src = _manifest(tmp_path / "m.parquet")
    df = pd.read_parquet(src)
    df.to_parquet(tmp_path / "pandas.parquet")  # whatever this pandas writes
    pq.write_table(_widen(pq.read_table(tmp_path / "pandas.parquet")), tmp_path / "wide.parquet")
    assert pq.read_schema(tmp_path / "wide.parquet").field("clip_id").type == pa.large_string()
    want = read_manifest(src)
    for name in ("pandas.parquet", "wide.parquet"):
        got = read_manifest(tmp_path / name)
        assert got.schema.equals(want.schema), name
        assert got.to_pylist() == want.to_pylist(), name


def test_vaar_split_accepts_a_large_string_manifest(tmp_path: Path) -> None:
    """The issue's report: `vaar split` refused a manifest written back by pandas."""
    src = _manifest(tmp_path / "m.parquet", n=600)
    pq.write_table(_widen(pq.read_table(src)), tmp_path / "wide.parquet")
    out = []
    for name in ("m.parquet", "wide.parquet"):
        dest = tmp_path / f"split-{name}"
        proc = subprocess.run([sys.executable, "-m", "vaar.cli", "split", str(tmp_path / name), "--out", str(dest)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        out.append({p.name: p.read_bytes() for p in sorted(dest.iterdir()) if p.name != "split.json"})
    assert out[0] == out[1]  # the same split, byte for byte


def test_real_mismatches_are_still_refused_in_one_line(tmp_path: Path) -> None:
    src = pq.read_table(_manifest(tmp_path / "m.parquet", n=20))
    cases = {
        "width": (pa.array([1.5] * src.num_rows), "column width is double and does not cast to the contract's int32"),
        "height": (pa.array([2**40] * src.num_rows), "column height holds 1099511627776, which does not fit"),
        "label": (pa.array([7] * src.num_rows), "column label is int64, the manifest schema says string"),
    }
    for col, (values, message) in cases.items():
        t = src.set_column(src.column_names.index(col), col, values)
        pq.write_table(t, tmp_path / f"{col}.parquet")
        with pytest.raises(ManifestError, match=message) as exc:
            read_manifest(tmp_path / f"{col}.parquet")
        assert "\n" not in str(exc.value) and f"{col}.parquet" in str(exc.value)


@pytest.mark.parametrize(("have", "want"), [
    (pa.large_string(), pa.string()),
    (pa.dictionary(pa.int8(), pa.string()), pa.string()),
    (pa.large_list(pa.large_string()), pa.list_(pa.string())),
    (pa.list_(pa.int64()), pa.large_list(pa.int32())),
    (pa.int64(), pa.int32()),
    (pa.uint8(), pa.int32()),
    (pa.float32(), pa.float64()),
    (pa.large_binary(), pa.binary()),
    (pa.null(), pa.int32()),
    (pa.float64(), pa.int32()),  # pandas' nullable integers; values are checked by conform
])
def test_equivalent_types(have: pa.DataType, want: pa.DataType) -> None:
    assert equivalent(have, want)


@pytest.mark.parametrize(("have", "want"), [
    (pa.string(), pa.int32()),
    (pa.float64(), pa.float32()),  # narrowing loses precision
    (pa.int32(), pa.string()),
    (pa.list_(pa.int64()), pa.list_(pa.string())),
    (pa.string(), pa.list_(pa.string())),
    (pa.binary(), pa.string()),  # bytes are not text
])
def test_real_mismatches(have: pa.DataType, want: pa.DataType) -> None:
    assert not equivalent(have, want)


def test_conform_casts_values_and_refuses_what_does_not_fit() -> None:
    assert conform(pa.chunked_array([pa.array(["a", None], pa.large_string())]), pa.string()).type == pa.string()
    cat = pa.chunked_array([pa.array(["x", "y", "x"]).dictionary_encode()])
    assert conform(cat, pa.string()).to_pylist() == ["x", "y", "x"]
    nested = pa.array([["a"], None, ["b", "c"]], pa.large_list(pa.large_string()))
    assert conform(nested, pa.list_(pa.string())).to_pylist() == [["a"], None, ["b", "c"]]
    assert conform(pa.array([1, 2**31 - 1], pa.int64()), pa.int32()).to_pylist() == [1, 2**31 - 1]
    with pytest.raises(TypeMismatch, match="holds 2147483648, which does not fit"):
        conform(pa.array([1, 2**31], pa.int64()), pa.int32())
    assert conform(pa.array([3.0, None, 7.0]), pa.int32()).to_pylist() == [3, None, 7]
    with pytest.raises(TypeMismatch, match="does not cast"):
        conform(pa.array([3.0, 2.5]), pa.int32())
    with pytest.raises(TypeMismatch, match="holds -1"):
        conform(pa.array([-1, 3], pa.int64()), pa.uint16())
