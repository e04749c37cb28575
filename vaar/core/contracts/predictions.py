"""The predictions contract: the format, its JSON Schema, and the reader of untrusted files.

A predictions file (CSV, Parquet or JSONL) holds one record per clip of the scored split:

* VAAR tasks: ``clip_id``, ``label`` (a class slug; ``vaar-binary`` also accepts ``anomaly``), and
  optionally ``score_<slug>`` for every class (all or none; ``vaar-binary`` also accepts one
  ``score_anomaly``), finite numbers, higher meaning more likely. Every clip exactly once.
* ``xd-violence``: JSONL/Parquet ``{"video": name, "scores": [snippet scores]}``, or CSV in long
  form ``video,snippet,score``.

:func:`predictions_schema` is the one definition of a record (exported as
``leaderboard/schema/predictions.schema.json`` by ``vaar-bench schema``); :func:`read_table` reads a
file into columns within fixed bounds; the file-level rules (each clip once, exactly the split's
clips, all score columns or none) are checked against the ground truth by
:mod:`vaar.core.contracts.clip_predictions` (VAAR tasks) and :mod:`vaar.core.contracts.video_predictions`
(``xd-violence``), which the tasks call.

Bounds (a refused file never costs more than a few hundred MB): the file size (``--max-mb``);
the row count (Parquet: from the footer, before any data is read; CSV and JSONL: counted while
streaming, stopping at the cap), capped near the split size by the task; the uncompressed size
declared by the Parquet footer; the length of one line; the nesting depth and integer size of
JSON. Nothing is ever unpickled.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from vaar.core.contracts.untrusted_json import JsonInputError, loads
from vaar.core.errors import SubmissionError

Format = Literal["csv", "parquet", "jsonl"]
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_ROWS = 1_000_000  # XD-Violence's long CSV: one row a snippet (~200k on its test set)
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_COLUMNS = 64
MAX_FOOTER_BYTES = 4 * 1024 * 1024
MAX_SHOWN = 5
PY_VALUE_BYTES = 32  # a Python float in a list: the object and its pointer
CLIP_ID = "clip_id"
LABEL = "label"
SCORE_PREFIX = "score_"
ANOMALY = "anomaly"

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".npy", ".npz", ".joblib", ".ckpt"}


def rows_cap(n_clips: int) -> int:
    """The most rows a file for a split of ``n_clips`` may have: the split, plus a little room
    so that a few extra or duplicated rows are reported as such rather than as a size error."""
    return n_clips + max(16, n_clips // 100)


def predictions_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one predictions record (a CSV row, JSONL line or Parquet row)."""
    from vaar.core.taxonomy import default_taxonomy

    slugs = list(default_taxonomy().slugs)
    number = {"type": "number", "description": "finite; higher means more likely"}
    scores = {f"{SCORE_PREFIX}{s}": number for s in slugs}
    clip_id = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "vaar-bench predictions record",
        "description": (
            "One record of a predictions file (CSV row, JSONL line or Parquet row); the file has one record "
            "per clip (per video for xd-violence) of the scored split, each exactly once, and either every "
            f"{SCORE_PREFIX}<class> column or none. Files are CSV (UTF-8, header row), JSONL or Parquet, "
            f"at most {DEFAULT_MAX_BYTES >> 20} MB by default and never unpickled (vaar/core/contracts/predictions.py)."),
        "$defs": {
            "vaar-cls": {"type": "object", "additionalProperties": False, "required": [CLIP_ID, LABEL],
                         "properties": {CLIP_ID: clip_id, LABEL: {"enum": slugs}, **scores}},
            "vaar-binary": {"type": "object", "additionalProperties": False, "required": [CLIP_ID, LABEL],
                            "properties": {CLIP_ID: clip_id, LABEL: {"enum": [*slugs, ANOMALY]}, **scores,
                                           f"{SCORE_PREFIX}{ANOMALY}": number}},
            "xd-violence": {"type": "object", "additionalProperties": False, "required": ["video", "scores"],
                            "properties": {"video": {"type": "string", "minLength": 1, "maxLength": 200},
                                           "scores": {"type": "array", "minItems": 1, "items": number}}},
            "xd-violence-csv-row": {"type": "object", "additionalProperties": False,
                                    "required": ["video", "snippet", "score"],
                                    "properties": {"video": {"type": "string", "minLength": 1, "maxLength": 200},
                                                   "snippet": {"type": "integer", "minimum": 0}, "score": number}},
        },
        "anyOf": [{"$ref": "#/$defs/vaar-cls"}, {"$ref": "#/$defs/vaar-binary"},
                  {"$ref": "#/$defs/xd-violence"}, {"$ref": "#/$defs/xd-violence-csv-row"}],
    }


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


def read_table(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = DEFAULT_MAX_ROWS) -> Table:
    """Read ``path`` as a table of columns, within the bounds. Raises :class:`SubmissionError` when it cannot."""
    p = Path(path)
    try:
        size = os.stat(p).st_size
        f = open(p, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise fail(p, f"cannot open ({exc.strerror})", "check the path") from None
    with f:
        if size > max_bytes:
            raise fail(p, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
                       "submit a smaller file (drop unused columns, use Parquet) or raise --max-mb")
        if size == 0:
            raise fail(p, "file is empty", "write a header and one row per clip")
        fmt = detect_format(p, f.read(8))
        f.seek(0)
        digest = hashlib.sha256()
        if fmt == "parquet":
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
            columns, data, where = _read_parquet(p, max_rows, max_bytes)
        else:
            lines = _lines(p, f, digest)
            columns, data, where = _read_csv(p, lines, max_rows) if fmt == "csv" else _read_jsonl(p, lines, max_rows)
            for _ in lines:  # hash what is left (a blank tail)
                pass
    if not where:
        raise fail(p, "has a header but no rows", "write one row per clip")
    return Table(p, fmt, tuple(columns), data, tuple(where), digest.hexdigest())


def _lines(p: Path, f: IO[bytes], digest: Any) -> Iterator[tuple[int, str]]:
    """(line number, decoded line) of a UTF-8 text file, hashing every byte on the way."""
    number = 0
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        digest.update(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise fail(p, f"line {number} is longer than {MAX_LINE_BYTES >> 20} MB", "write one short line per clip")
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if b"\x00" in raw:
            raise fail(p, f"contains NUL bytes (line {number}), so it is not a text file",
                       "export it as CSV or JSONL text")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(p, f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {number})",
                       "re-save the file as UTF-8") from None


def _too_many(p: Path, max_rows: int) -> SubmissionError:
    return fail(p, f"has more than {max_rows:,} rows, more than the scored split can need",
                "write one row per clip of the split")


def _read_csv(p: Path, lines: Iterator[tuple[int, str]], max_rows: int) -> tuple[list[str], dict[str, list[Any]], list[str]]:
    current = [0]

    def text() -> Iterator[str]:
        for number, line in lines:
            current[0] = number
            yield line

    reader = csv.reader(text(), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise fail(p, "file is empty", "write a header and one row per clip")
        columns = [h.strip() for h in header]
        _check_header(p, columns)
        n_col = len(columns)
        cols: list[list[str]] = [[] for _ in columns]
        where: list[str] = []
        ragged: list[str] = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != n_col:
                ragged.append(f"line {current[0]}: {len(row)} fields")
                if len(ragged) > MAX_SHOWN:
                    break
                continue
            if len(where) >= max_rows:
                raise _too_many(p, max_rows)
            for c, value in zip(cols, row, strict=True):
                c.append(value)
            where.append(f"line {current[0]}")
    except csv.Error as exc:
        raise _csv_error(p, current[0], exc) from None
    if ragged:
        raise fail(p, f"rows with a field count other than the header's {n_col}",
                   "give every row one value per header column", ragged)
    return columns, dict(zip(columns, cols, strict=True)), where


def _csv_error(p: Path, line: int, exc: csv.Error) -> SubmissionError:
    if "field limit" in str(exc):
        return fail(p, f"line {line} has a field longer than {csv.field_size_limit() // 1024} KB",
                    "write clip ids, labels and numbers only")
    return fail(p, f"is not valid CSV (line {line}: {exc})", "quote fields that contain commas or newlines")


def _read_jsonl(p: Path, lines: Iterator[tuple[int, str]], max_rows: int) -> tuple[list[str], dict[str, list[Any]], list[str]]:
    cols: dict[str, list[Any]] = {}
    where: list[str] = []
    bad: list[str] = []
    odd: list[str] = []
    for i, line in lines:
        if not line.strip():
            continue
        problem = _add_record(p, line, cols, max_rows, len(where))
        if problem is None:
            where.append(f"line {i}")
        elif problem.startswith("keys "):
            odd.append(f"line {i}: {problem}")
        else:
            bad.append(f"line {i}: {problem}")
        if len(bad) > MAX_SHOWN or len(odd) > MAX_SHOWN:
            break
    if bad:
        raise fail(p, "lines that are not JSON objects", "write one JSON object per line", bad)
    if not cols:
        raise fail(p, "has no records", "write one JSON object per line, one per clip")
    if odd:
        raise fail(p, f"records whose keys differ from the first record's {sorted(cols)}",
                   "give every record the same keys", odd)
    return list(cols), cols, where


def _add_record(p: Path, line: str, cols: dict[str, list[Any]], max_rows: int, n: int) -> str | None:
    """Append one JSONL record to ``cols``; returns why it cannot be, or None."""
    try:
        obj = loads(line)
    except JsonInputError as exc:
        return str(exc)
    if not isinstance(obj, dict):
        return "not an object"
    if not cols:
        _check_header(p, list(obj))
        if not obj:
            return "an empty object"
        cols.update({c: [] for c in obj})
    elif obj.keys() != cols.keys():
        return f"keys {sorted(obj)}"
    if n >= max_rows:
        raise _too_many(p, max_rows)
    for c, v in obj.items():
        cols[c].append(v)
    return None


def _flat(t: Any) -> bool:
    """A column type a predictions table may have: text, a number, a boolean or null, or a list of numbers
    (XD-Violence's per-snippet ``scores``); no structs, maps, nested lists or lists of text."""
    import pyarrow as pa

    if pa.types.is_list(t) or pa.types.is_large_list(t):
        v = t.value_type
        return bool(pa.types.is_integer(v) or pa.types.is_floating(v) or pa.types.is_boolean(v))
    if pa.types.is_dictionary(t):
        t = t.value_type
    return bool(_is_text(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
                or pa.types.is_boolean(t) or pa.types.is_null(t))


def _check_list_values(p: Path, meta: Any, max_bytes: int) -> None:
    """List columns hold as many values as their chunks declare (a dictionary page can make a few bytes
    declare millions): refused from the footer when their Python copies would pass ``max_bytes``."""
    repeated = [j for j in range(meta.num_columns) if meta.schema.column(j).max_repetition_level > 0]
    values = sum(meta.row_group(i).column(j).num_values for i in range(meta.num_row_groups) for j in repeated)
    if values * PY_VALUE_BYTES > max_bytes:
        raise fail(p, f"declares {values:,} values in list columns, over {max_bytes >> 20} MB once read",
                   "write fewer values per row (or the long format, one row per value)")


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
                or pa.types.is_large_binary(t))


def _check_flat(p: Path, schema: Any) -> None:
    nested = [f"{f.name} ({f.type})" for f in schema if not _flat(f.type)]
    if nested:
        raise fail(p, "has columns that are not plain text or numbers", "write one value per cell", nested)


def _expanded_bytes(col: Any) -> int:
    """Bytes of text ``col`` holds once every row is materialised (a dictionary's value counted once
    per row that points at it, not once as the file stores it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(col.type):
        values = col.dictionary
        if not _is_text(values.type):
            return 0
        lengths = pc.binary_length(values).cast(pa.int64()).fill_null(0)
        total = pc.sum(pc.take(lengths, col.indices))
        return int(total.as_py() or 0)
    if _is_text(col.type):
        return int(pc.sum(pc.binary_length(col).cast(pa.int64())).as_py() or 0)
    return 0


def _read_parquet(p: Path, max_rows: int, max_bytes: int = DEFAULT_MAX_BYTES,
                  ) -> tuple[list[str], dict[str, list[Any]], list[str]]:
    """Read a Parquet predictions file in bounded memory: footer, declared and row counts first; text
    columns are read as dictionaries and their expanded size (each row's value counted, as ``to_pylist``
    would copy it) is checked against ``max_bytes`` before any row becomes a Python object."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = os.path.getsize(p)
    with open(p, "rb") as f:
        f.seek(max(0, size - 8))
        tail = f.read(8)
    footer = int.from_bytes(tail[:4], "little")
    if size < 12 or tail[4:] != b"PAR1" or footer > size - 12:
        raise fail(p, "cannot be read as Parquet (no valid footer)", "write it with pyarrow or pandas .to_parquet")
    if footer > MAX_FOOTER_BYTES:
        raise fail(p, f"has a {footer / 1e6:.1f} MB Parquet footer (at most {MAX_FOOTER_BYTES >> 20} MB)",
                   "write a plain table of clip_id, label and the score columns")
    try:
        pf = pq.ParquetFile(p)
        text_cols = [f.name for f in pf.schema_arrow if _is_text(f.type) or pa.types.is_dictionary(f.type)]
        pf = pq.ParquetFile(p, read_dictionary=text_cols)  # a dictionary page stays one copy in memory
        meta = pf.metadata
        n_rows = meta.num_rows
        declared = sum(meta.row_group(i).column(j).total_uncompressed_size
                       for i in range(meta.num_row_groups) for j in range(meta.num_columns))
        columns = list(pf.schema_arrow.names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(p, f"cannot be read as Parquet ({first[:120]})", "write it with pyarrow or pandas .to_parquet") from None
    if n_rows > max_rows:
        raise _too_many(p, max_rows)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise fail(p, f"declares {declared / 1e6:.0f} MB uncompressed, over the {MAX_UNCOMPRESSED_BYTES >> 20} MB limit",
                   "write only clip_id, label and the score columns")
    if len(columns) > MAX_COLUMNS:
        raise fail(p, f"has {len(columns)} columns (at most {MAX_COLUMNS})", "write only the predictions columns")
    _check_header(p, columns)
    _check_flat(p, pf.schema_arrow)
    _check_list_values(p, meta, max_bytes)
    data: dict[str, list[Any]] = {c: [] for c in columns}
    seen = 0
    expanded = 0
    try:
        for batch in pf.iter_batches(batch_size=8_192):
            seen += batch.num_rows
            if seen > max_rows:  # a footer that lied
                raise _too_many(p, max_rows)
            expanded += sum(_expanded_bytes(batch.column(c)) for c in columns)
            if expanded > max_bytes:  # before the rows become Python objects
                raise fail(p, f"expands to more than {max_bytes >> 20} MB of text (a dictionary page repeated "
                              "in every row)", "write plain clip ids, labels and scores")
            for c in columns:
                data[c].extend(batch.column(c).to_pylist())
    except (pa.ArrowException, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(p, f"cannot be read as Parquet ({first[:120]})", "write it with pyarrow or pandas .to_parquet") from None
    where = [f"row {i + 1}" for i in range(seen)]
    return columns, data, where


def _check_header(p: Path, columns: list[str]) -> None:
    if len(columns) > MAX_COLUMNS:
        raise fail(p, f"has {len(columns)} columns (at most {MAX_COLUMNS})", "write only the predictions columns")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise fail(p, "repeated column name(s)", "name each column once", dupes)
    if any(not c for c in columns):
        raise fail(p, "an empty column name", "name every column")
