"""``manifest.parquet``: the ledger as a Parquet table, one row per source row.

Streamed from the ledger in batches (memory does not grow with the number of clips), written to
a temporary name and renamed. Its schema is :func:`vaar.core.contracts.manifest_schema.manifest_schema`;
:func:`read_manifest` is the one reader (``vaar split`` and ``vaar publish`` use it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vaar.core._util.atomic import atomic_path
from vaar.core.contracts.manifest_schema import (
    MANIFEST_COLUMNS,
    REQUIRED_COLUMNS,
    conform_manifest,
    manifest_schema,
    validate_manifest,
)
from vaar.core.errors import ManifestError

BATCH_ROWS = 2048


def write_manifest(rows: Iterable[dict[str, Any]], path: Path) -> int:
    """Write ``rows`` (dicts with the manifest columns) to ``path``; returns the row count."""
    schema = manifest_schema()
    n = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                writer.write_batch(_batch(batch, schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_batch(_batch(batch, schema))
            n += len(batch)
    return n


def _batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    cols = {name: [r.get(name) for r in rows] for name in MANIFEST_COLUMNS}
    return pa.RecordBatch.from_pydict(cols, schema=schema)


def read_manifest(
    path: str | Path,
    columns: Sequence[str] | None = None,
    *,
    required: Sequence[str] = REQUIRED_COLUMNS,
) -> pa.Table:
    """Read ``manifest.parquet``: the one reader of the manifest contract.

    ``columns`` (default: all of :data:`vaar.core.contracts.manifest_schema.MANIFEST_COLUMNS`) are returned in that order;
    one the file lacks comes back as nulls unless it is in ``required``, which must be present.
    The table is validated (:func:`vaar.core.contracts.manifest_schema.validate_manifest`). Raises :class:`ManifestError`
    (one line: the file and the fix) for a missing or non-Parquet file, a missing required column
    or a column of the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest; pass the manifest.parquet written by `vaar build`")
    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise ManifestError(f"{path}: not a readable Parquet manifest ({type(exc).__name__}); "
                            "pass the manifest.parquet written by `vaar build`") from None
    missing = [c for c in required if c not in names]
    if missing:
        raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}; a manifest needs "
                            f"{', '.join(required)} (see vaar/core/contracts/manifest_schema.py) — rebuild it with `vaar build`")
    want = list(columns) if columns is not None else list(MANIFEST_COLUMNS)
    try:
        table = pq.read_table(path, columns=[c for c in want if c in names])
    except (pa.ArrowInvalid, OSError) as exc:
        raise ManifestError(f"{path}: not a readable Parquet manifest ({exc})") from None
    table = conform_manifest(table, str(path))  # large_string, large_list, int widths: cast, not refused
    validate_manifest(table, str(path))
    schema = manifest_schema()
    for c in want:
        if c not in names:
            typ = schema.field(c).type if c in schema.names else pa.string()
            table = table.append_column(pa.field(c, typ), pa.nulls(table.num_rows, typ))
    return table.select(want)
