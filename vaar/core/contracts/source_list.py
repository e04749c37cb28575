"""Read and validate a reviewed source list (``curation/sources/*.csv``).

Two kinds of problem, two outcomes:

* the file cannot be used at all (missing, not UTF-8, a required column missing): a
  :class:`~vaar.core.errors.SourceListError`, which the CLI prints as one line and exits 2;
* one row is wrong (no span, unknown label, ``end <= start``, duration out of range, duplicate or unsafe
  ``clip_id``, unsafe ``source_id``, unsupported URL scheme, malformed number): an :class:`InvalidRow` naming file, line
  and reason. The build records it as an ``invalid`` manifest row and goes on with the others.

``license`` is the *video's* licence. The build records it only when ``license_reviewed`` is
``yes`` (a reviewer checked the page); otherwise the build takes what the video page states
(yt-dlp's ``license``) and records ``unknown`` when it states nothing. ``annotation_source`` and
``annotation_license`` say where the label came from and under which licence.

Columns beyond the source-list ones (e.g. the provenance columns ``seed``, ``seed_label``,
``seed_flags`` of a ``vaar discover`` candidates file) are ignored. A candidates file may leave
``start`` and ``end`` empty (a spanless candidate that review must trim): :func:`check_candidates`
accepts that, the build does not.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from vaar.core.csvsafe import checked, header_of
from vaar.core.errors import SourceListError
from vaar.core.taxonomy import Taxonomy, default_taxonomy

REQUIRED_COLUMNS = ("clip_id", "url", "start", "end", "label")
OPTIONAL_COLUMNS = ("source_id", "license", "license_reviewed", "annotation_source", "annotation_license", "notes")
_YES, _NO = ("yes", "true", "1"), ("", "no", "false", "0")
CLIP_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: a source id (``youtube:abc``, ``ucf/Abuse001``, a URL): starts with a letter or digit (so a
#: spreadsheet never reads it as a formula), printable, no spaces, at most 300 characters
SOURCE_ID_RE = re.compile(r"^[A-Za-z0-9][\x21-\x7e]{0,299}$")
URL_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class SourceRow:
    """One valid row: a clip to cut from ``url`` between ``start`` and ``end`` seconds."""

    clip_id: str
    url: str
    start: float
    end: float
    label: str
    source_id: str
    license: str | None
    notes: str | None
    source_file: str
    source_line: int
    license_reviewed: bool = False  # a reviewer checked ``license`` on the video's page
    annotation_source: str | None = None
    annotation_license: str | None = None

    @property
    def reviewed_license(self) -> str | None:
        """The row's licence if a reviewer vouched for it, else None (the build asks the page)."""
        return self.license if self.license_reviewed else None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class InvalidRow:
    """A row that cannot be built; ``clip_id`` may itself be the problem."""

    clip_id: str
    reason: str
    source_file: str
    source_line: int
    raw: dict[str, str]

    def message(self) -> str:
        return f"{self.source_file}:{self.source_line}: {self.reason}"


@dataclass(frozen=True)
class SourceLimits:
    """Accepted clip durations in seconds (VAAR clips are a few seconds to a minute)."""

    min_duration: float = 1.0
    max_duration: float = 120.0


def read_sources(
    paths: Iterable[str | Path],
    *,
    taxonomy: Taxonomy | None = None,
    limits: SourceLimits = SourceLimits(),
) -> tuple[list[SourceRow], list[InvalidRow]]:
    """Validate every row of every file; ``clip_id`` must be unique across all files.

    The first row with a ``clip_id`` owns it (valid or not); a later row with the same id is
    invalid ("duplicate clip_id 'x', first at FILE:LINE") under its own ``invalid:FILE:LINE``
    key, so both rows reach the ledger and the manifest and neither replaces the other.
    """
    tax = taxonomy or default_taxonomy()
    valid: list[SourceRow] = []
    invalid: list[InvalidRow] = []
    seen: dict[str, str] = {}
    keys: set[str] = set()
    for path in paths:
        for line, raw in _read_csv(Path(path)):
            row, reason = _validate(raw, tax, limits, str(path), line)
            clip_id = (raw.get("clip_id") or "").strip()
            first = seen.get(clip_id)
            if first is not None:
                reason = f"duplicate clip_id {clip_id!r}, first at {first}; give each clip its own id" + (
                    f" (and: {reason})" if reason else ""
                )
            elif CLIP_ID_RE.match(clip_id):
                seen[clip_id] = f"{path}:{line}"
            if reason is not None or row is None:
                key = clip_id if first is None and CLIP_ID_RE.match(clip_id) else _position_id(str(path), line, keys)
                keys.add(key)
                invalid.append(InvalidRow(key, reason or "", str(path), line, raw))
                continue
            valid.append(row)
    return valid, invalid


def check_candidates(
    paths: Iterable[str | Path], *, taxonomy: Taxonomy | None = None, limits: SourceLimits = SourceLimits()
) -> tuple[int, list[InvalidRow]]:
    """Validate a candidates file: as :func:`read_sources`, except that a row may leave both
    ``start`` and ``end`` empty. Returns (valid row count, invalid rows)."""
    tax = taxonomy or default_taxonomy()
    n_valid, invalid = 0, []
    seen: dict[str, str] = {}
    keys: set[str] = set()
    for path in paths:
        for line, raw in _read_csv(Path(path)):
            check = raw
            if not raw.get("start") and not raw.get("end"):
                check = {**raw, "start": "0", "end": f"{limits.min_duration:g}"}
            _, reason = _validate(check, tax, limits, str(path), line)
            clip_id = raw.get("clip_id", "")
            if reason is None and clip_id in seen:
                reason = f"duplicate clip_id {clip_id!r} (first at {seen[clip_id]}); give each clip its own id"
            if reason is not None:
                key = clip_id if CLIP_ID_RE.match(clip_id) and clip_id not in seen else _position_id(str(path), line, keys)
                keys.add(key)
                invalid.append(InvalidRow(key, reason, str(path), line, raw))
                continue
            seen[clip_id] = f"{path}:{line}"
            n_valid += 1
    return n_valid, invalid


def read_rows(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """(line, raw row) of a source list or candidates file; header checked, rows not validated."""
    return _read_csv(Path(path))


def _position_id(path: str, line: int, taken: set[str]) -> str:
    """Ledger/manifest key of a row whose clip_id cannot be its key: ``invalid:FILE:LINE``.

    ``:`` is not allowed in a clip_id, so this never collides with a clip's own id.
    """
    key = f"invalid:{Path(path).name}:{line}"
    n = 1
    while key in taken:  # two lists with the same file name
        n += 1
        key = f"invalid:{Path(path).name}:{line}#{n}"
    return key


def _read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise SourceListError(f"{path}: no such source list; pass a CSV file (see curation/sources/README.md)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceListError(
            f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8 and rerun"
        ) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in header_of(reader, str(path), SourceListError)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SourceListError(
            f"{path}: header lacks column(s) {', '.join(missing)}; the header must name "
            f"{','.join(REQUIRED_COLUMNS)} (optional: {','.join(OPTIONAL_COLUMNS)})"
        )
    rows = []
    for i, raw in enumerate(checked(reader, str(path), SourceListError)):
        clean = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
        rows.append((reader.line_num if reader.line_num else i + 2, clean))
    return rows


def _number(raw: dict[str, str], key: str) -> float | str:
    value = raw.get(key, "")
    try:
        x = float(value)
    except ValueError:
        return f"malformed number in {key}: {value!r}; write seconds such as 12.5"
    if not math.isfinite(x) or x < 0:
        return f"{key} must be a finite number of seconds >= 0, got {_short(value)}"
    return x


def _validate(
    raw: dict[str, str], tax: Taxonomy, limits: SourceLimits, path: str, line: int
) -> tuple[SourceRow | None, str | None]:
    clip_id = raw.get("clip_id", "")
    if not CLIP_ID_RE.match(clip_id):
        return None, (
            f"unsafe clip_id {clip_id!r}: use 1-64 letters, digits, '_' or '-', starting with a letter or digit"
        )
    label = raw.get("label", "")
    if label not in tax:
        return None, f"unknown label {label!r}; use one of {', '.join(tax.slugs)}"
    url = raw.get("url", "")
    parsed = urlparse(url)
    if parsed.scheme not in URL_SCHEMES or not parsed.netloc:
        return None, f"unsupported URL {url!r}: only http(s) URLs with a host are accepted"
    if not raw.get("start") and not raw.get("end"):
        return None, (
            "no span: start and end are empty (a candidate from `vaar discover`); "
            "set the span in `vaar review` before building"
        )
    source_id = raw.get("source_id") or ""
    if source_id and not SOURCE_ID_RE.match(source_id):
        return None, (
            f"unsafe source_id {source_id[:60]!r}: use up to 300 printable characters without spaces, "
            "starting with a letter or digit (a leading =, +, -, @ is a spreadsheet formula)"
        )
    start, end = _number(raw, "start"), _number(raw, "end")
    for value in (start, end):
        if isinstance(value, str):
            return None, value
    assert isinstance(start, float) and isinstance(end, float)
    if end <= start:
        return None, f"end ({end:g}) must be after start ({start:g})"
    dur = end - start
    if not limits.min_duration <= dur <= limits.max_duration:
        return None, (
            f"duration {dur:g} s outside [{limits.min_duration:g}, {limits.max_duration:g}] s; "
            "split long spans into several clips"
        )
    reviewed = (raw.get("license_reviewed") or "").strip().lower()
    if reviewed not in _YES + _NO:
        return None, f"license_reviewed {reviewed[:20]!r}: use yes or no (yes: a reviewer checked the licence on the page)"
    if reviewed in _YES and not raw.get("license"):
        return None, "license_reviewed is yes but license is empty; give the licence the video's page states"
    return (
        SourceRow(
            clip_id=clip_id,
            url=url,
            start=start,
            end=end,
            label=label,
            source_id=raw.get("source_id") or url,
            license=raw.get("license") or None,
            notes=raw.get("notes") or None,
            source_file=path,
            source_line=line,
            license_reviewed=reviewed in _YES,
            annotation_source=raw.get("annotation_source") or None,
            annotation_license=raw.get("annotation_license") or None,
        ),
        None,
    )


def _short(value: str, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error line stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
