"""Removal requests: ``vaar build --exclude takedown.csv`` drops the rows it names.

A takedown file is a CSV with a header naming at least one of ``clip_id``, ``url``,
``source_id``; a source row is excluded when any non-empty cell of a takedown row equals the
same field of the source row (a ``url`` or ``source_id`` takes down every clip cut from that
video). Other columns (``reason``, ``date``, ``requested_by``) are kept for the record and ignored.
Excluded rows are not built; their ledger rows and media are deleted, so they leave the manifest
and the published dataset on the next run. Each removal is recorded (:func:`record_removals`)
in ``OUT/removals.jsonl``: which clip, which field of the request matched, whether media was
deleted, when, and the takedown file's path and sha256 — the answer to "did you remove it?".
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vaar.core._util.atomic import atomic_write_bytes
from vaar.core._util.hashing import sha256_file
from vaar.core.contracts.source_list import InvalidRow, SourceRow
from vaar.core.csvsafe import checked, header_of
from vaar.core.errors import ConfigError

KEYS = ("clip_id", "url", "source_id")


@dataclass(frozen=True)
class Exclusions:
    path: str
    values: dict[str, frozenset[str]]  # key -> values to drop

    def matches(self, clip_id: str, url: str, source_id: str) -> bool:
        return bool(self.matched_by(clip_id, url, source_id))

    def matched_by(self, clip_id: str, url: str, source_id: str) -> list[str]:
        """The fields of the row that a takedown row names (empty: not excluded)."""
        row = {"clip_id": clip_id, "url": url, "source_id": source_id}
        return [k for k in KEYS if row[k] and row[k] in self.values.get(k, frozenset())]

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
    header = [h.strip() for h in header_of(reader, str(p), ConfigError)]
    if not any(k in header for k in KEYS):
        raise ConfigError(f"{p}: the header must name clip_id, url or source_id (got {','.join(header) or 'nothing'})")
    values: dict[str, set[str]] = {k: set() for k in KEYS}
    for raw in checked(reader, str(p), ConfigError):
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



def removal_records(ex: Exclusions, valid: list[SourceRow], invalid: list[InvalidRow]) -> list[dict[str, object]]:
    """One record per source row the takedown file excludes (before :func:`apply_exclusions`)."""
    rows = [(r.clip_id, r.url, r.source_id) for r in valid]
    rows += [(r.raw.get("clip_id", ""), r.raw.get("url", ""), r.raw.get("source_id", "")) for r in invalid]
    out: list[dict[str, object]] = []
    for clip_id, url, source_id in rows:
        keys = ex.matched_by(clip_id, url, source_id)
        if keys:
            out.append({"clip_id": clip_id, "url": url, "source_id": source_id, "matched_by": keys})
    return out


def record_removals(path: Path, ex: Exclusions, records: list[dict[str, object]], deleted: set[str]) -> None:
    """Append ``records`` to the removal log at ``path`` (JSON lines; the file is rewritten whole
    under a temporary name, so a crash never leaves half a line)."""
    if not records:
        return
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    request = {"takedown_file": ex.path, "takedown_sha256": sha256_file(Path(ex.path)), "removed_at": when}
    lines = [json.dumps({**r, "media_deleted": r["clip_id"] in deleted, **request}, sort_keys=True) for r in records]
    old = path.read_bytes() if path.is_file() else b""
    atomic_write_bytes(path, old + ("\n".join(lines) + "\n").encode("utf-8"))
