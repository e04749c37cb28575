"""Read an untrusted predictions table (CSV, Parquet or JSONL) into plain columns.

Nothing is ever unpickled: CSV and JSONL are parsed as UTF-8 text, Parquet by pyarrow (whose
metadata is JSON). A file that cannot be read becomes a :class:`~vaar.errors.SubmissionError`
with one line: the file, the problem, up to five offending lines, and the fix.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vaar.errors import SubmissionError

Format = Literal["csv", "parquet", "jsonl"]
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_SHOWN = 5

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".npy", ".npz", ".joblib", ".ckpt"}


@dataclass(frozen=True)
class Table:
    """Columns of an untrusted file; ``where[i]`` names row ``i`` for error messages."""

    path: Path
    format: Format
    columns: tuple[str, ...]
    data: dict[str, list[Any]]
    where: tuple[str, ...]
    sha256: str

    def __len__(self) -> int:
        return len(self.where)


def show(items: Sequence[str], total: int | None = None) -> str:
    """Up to five items, one line, with a count of the rest."""
    total = len(items) if total is None else total
    shown = [_short(x) for x in items[:MAX_SHOWN]]
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
    return ", ".join(shown) + more


def _short(x: object) -> str:
    text = str(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def fail(path: Path | str, problem: str, fix: str, offenders: Sequence[str] = (), total: int | None = None) -> SubmissionError:
    """Build the one-line error: ``FILE: PROBLEM (OFFENDERS); FIX``."""
    detail = f" ({show(offenders, total)})" if offenders else ""
    return SubmissionError(f"{path}: {problem}{detail}; {fix}")


def detect_format(path: Path, head: bytes) -> Format:
    suffix = path.suffix.lower()
    if suffix in _PICKLE_SUFFIXES or head[:1] == b"\x80":
        raise fail(path, "looks like a pickle or tensor file, which is never loaded",
                   "export the predictions as CSV, Parquet or JSONL")
    if head[:4] == b"PAR1":
        return "parquet"
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise fail(path, f"unsupported format {suffix or '(no extension)'!r}",
               "name the file .csv, .parquet or .jsonl and use that format")


def read_table(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Table:
    """Read ``path`` as a table of columns. Raises :class:`SubmissionError` when it cannot."""
    p = Path(path)
    try:
        size = os.stat(p).st_size
    except OSError as exc:
        raise fail(p, f"cannot open ({exc.strerror})", "check the path") from None
    if size > max_bytes:
        raise fail(p, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
                   "submit a smaller file (drop unused columns, use Parquet) or raise --max-mb")
    if size == 0:
        raise fail(p, "file is empty", "write a header and one row per clip")
    raw = p.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    fmt = detect_format(p, raw[:8])
    if fmt == "parquet":
        columns, data, where = _read_parquet(p, raw)
    else:
        text = _decode(p, raw)
        columns, data, where = _read_csv(p, text) if fmt == "csv" else _read_jsonl(p, text)
    if not where:
        raise fail(p, "has a header but no rows", "write one row per clip")
    return Table(p, fmt, tuple(columns), data, tuple(where), digest)


def _decode(p: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail(p, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line})",
                   "re-save the file as UTF-8") from None


def _read_csv(p: Path, text: str) -> tuple[list[str], dict[str, list[Any]], list[str]]:
    if "\x00" in text:
        raise fail(p, "contains NUL bytes, so it is not a CSV text file", "export it as CSV text")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise fail(p, "file is empty", "write a header and one row per clip")
        columns = [h.strip() for h in header]
        _check_header(p, columns)
        n_col = len(columns)
        rows: list[list[str]] = []
        where: list[str] = []
        ragged: list[str] = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != n_col:
                ragged.append(f"line {reader.line_num}: {len(row)} fields")
                continue
            rows.append(row)
            where.append(f"line {reader.line_num}")
    except csv.Error as exc:
        raise fail(p, f"is not valid CSV (line {reader.line_num}: {exc})",
                   "quote fields that contain commas or newlines") from None
    if ragged:
        raise fail(p, f"rows with a field count other than the header's {n_col}",
                   "give every row one value per header column", ragged)
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    return columns, data, where


def _read_jsonl(p: Path, text: str) -> tuple[list[str], dict[str, list[Any]], list[str]]:
    records: list[dict[str, Any]] = []
    where: list[str] = []
    bad: list[str] = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append(f"line {i}: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            bad.append(f"line {i}: not an object")
            continue
        records.append(obj)
        where.append(f"line {i}")
    if bad:
        raise fail(p, "lines that are not JSON objects", "write one JSON object per line", bad)
    if not records:
        raise fail(p, "has no records", "write one JSON object per line, one per clip")
    columns = list(records[0])
    _check_header(p, columns)
    keyset = set(columns)
    odd = [f"{w}: keys {sorted(r)}" for r, w in zip(records, where, strict=False) if set(r) != keyset]
    if odd:
        raise fail(p, f"records whose keys differ from the first record's {sorted(keyset)}",
                   "give every record the same keys", odd)
    data = {c: [r[c] for r in records] for c in columns}
    return columns, data, where


def _read_parquet(p: Path, raw: bytes) -> tuple[list[str], dict[str, list[Any]], list[str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(p, f"cannot be read as Parquet ({first})", "write it with pyarrow or pandas .to_parquet") from None
    columns = list(table.column_names)
    _check_header(p, columns)
    data = {c: table.column(c).to_pylist() for c in columns}
    where = [f"row {i + 1}" for i in range(table.num_rows)]
    return columns, data, where


def _check_header(p: Path, columns: list[str]) -> None:
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise fail(p, "repeated column name(s)", "name each column once", dupes)
    if any(not c for c in columns):
        raise fail(p, "an empty column name", "name every column")
