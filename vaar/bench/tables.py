"""Read an untrusted predictions table: the reader lives with its contract in
:mod:`vaar.core.contracts.predictions`; these names stay importable from here for the tasks."""

from __future__ import annotations

from vaar.core.contracts.predictions import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ROWS,
    MAX_SHOWN,
    Format,
    Table,
    detect_format,
    fail,
    read_table,
    rows_cap,
    show,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ROWS", "MAX_SHOWN", "Format", "Table", "detect_format", "fail",
           "read_table", "rows_cap", "show"]
