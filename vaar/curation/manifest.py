"""``manifest.parquet``: the ledger as a Parquet table, one row per source row.

Streamed from the ledger in batches (memory does not grow with the number of clips), written to
a temporary name and renamed. Its schema is :func:`vaar.schema.manifest_schema`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vaar._util.atomic import atomic_path
from vaar.errors import ManifestError
from vaar.schema import MANIFEST_COLUMNS, manifest_schema

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


def read_manifest(path: Path, columns: list[str] | None = None) -> pa.Table:
    """Read a manifest, checking that the needed columns are there."""
    if not Path(path).is_file():
        raise ManifestError(f"{path}: no such manifest; run 'vaar build' first")
    try:
        table = pq.read_table(path, columns=None)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ManifestError(f"{path}: not a readable Parquet manifest ({exc})") from None
    missing = [c for c in (columns or []) if c not in table.column_names]
    if missing:
        raise ManifestError(f"{path}: manifest lacks column(s) {', '.join(missing)}; rebuild it with this vaar")
    return table.select(columns) if columns else table
