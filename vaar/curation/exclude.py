"""Removal requests: ``vaar build --exclude takedown.csv`` drops the rows it names.

A takedown file is a CSV with a header naming at least one of ``clip_id``, ``url``,
``source_id``; a source row is excluded when any non-empty cell of a takedown row equals the
same field of the source row (a ``url`` or ``source_id`` takes down every clip cut from that
video). Other columns (``reason``, ``date``, ``requested_by``) are kept for the record and ignored.
Excluded rows are not built; their ledger rows and media are deleted, so they leave the manifest
and the published dataset on the next run.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from vaar.curation.sources import InvalidRow, SourceRow
from vaar.errors import ConfigError

KEYS = ("clip_id", "url", "source_id")


@dataclass(frozen=True)
class Exclusions:
    path: str
    values: dict[str, frozenset[str]]  # key -> values to drop

    def matches(self, clip_id: str, url: str, source_id: str) -> bool:
        row = {"clip_id": clip_id, "url": url, "source_id": source_id}
        return any(row[k] in self.values.get(k, frozenset()) for k in KEYS if row[k])

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.values.values())


def read_exclusions(path: str | Path) -> Exclusions:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such takedown file; pass a CSV with a clip_id, url or source_id column")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if not any(k in header for k in KEYS):
        raise ConfigError(f"{p}: the header must name clip_id, url or source_id (got {','.join(header) or 'nothing'})")
    values: dict[str, set[str]] = {k: set() for k in KEYS}
    for raw in reader:
        for k, v in raw.items():
            key = (k or "").strip()
            if key in values and isinstance(v, str) and v.strip():
                values[key].add(v.strip())
    return Exclusions(str(p), {k: frozenset(v) for k, v in values.items() if v})


def apply_exclusions(
    ex: Exclusions, valid: list[SourceRow], invalid: list[InvalidRow]
) -> tuple[list[SourceRow], list[InvalidRow], list[str]]:
    """(kept valid rows, kept invalid rows, excluded clip ids, sorted)."""
    kept_valid = [r for r in valid if not ex.matches(r.clip_id, r.url, r.source_id)]
    kept_invalid = [
        r for r in invalid
        if not ex.matches(r.raw.get("clip_id", ""), r.raw.get("url", ""), r.raw.get("source_id", ""))
    ]  # fmt: skip
    gone = {r.clip_id for r in valid} - {r.clip_id for r in kept_valid}
    gone |= {r.clip_id for r in invalid} - {r.clip_id for r in kept_invalid}
    return kept_valid, kept_invalid, sorted(gone)

