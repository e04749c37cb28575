"""Candidate rows for review: a source list whose spans may be empty, plus provenance columns.

Every column of the input is kept, in order, so provenance (``seed``, ``seed_label``,
``seed_flags`` from ``vaar discover``) travels through review into ``reviewed.csv``. The
source-list columns come first in their canonical order.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from vaar.core.contracts.source_list import CLIP_ID_RE, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from vaar.core.csvsafe import checked, header_of
from vaar.core.errors import SourceListError

SOURCE_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
MAX_CANDIDATES = 200_000
#: columns that mark a `vaar discover` candidates file, and the column `vaar review` adds to its output
PROVENANCE_COLUMNS = ("seed", "seed_flags")
REVIEWED_COLUMN = "reviewed_by"


def refuse_unreviewed(paths: list[Path]) -> None:
    """A source list for ``vaar build`` must not be an unreviewed candidates file (provenance
    columns without ``reviewed_by``): one line naming the file and the review steps."""
    for path in paths:
        try:
            with open(path, encoding="utf-8-sig", newline="") as f:
                header = {h.strip() for h in next(csv.reader(f), [])}
        except (OSError, UnicodeDecodeError, csv.Error):
            continue  # the source-list reader reports an unreadable file in its own words
        found = [c for c in PROVENANCE_COLUMNS if c in header]
        if found and REVIEWED_COLUMN not in header:
            raise SourceListError(
                f"{path}: a candidates file from `vaar discover` (columns {', '.join(found)}; no {REVIEWED_COLUMN}), "
                f"not a reviewed source list; build its clips with `vaar build --candidates {path} --out DIR`, "
                f"review them with `vaar review {path} --media DIR --out reviewed.csv`, then build reviewed.csv "
                f"(a list reviewed by an older vaar: add a {REVIEWED_COLUMN} column)")


@dataclass(frozen=True)
class Candidate:
    """One row to review; ``start``/``end`` are ``None`` when the seed gave no span."""

    clip_id: str
    line: int
    fields: dict[str, str]

    @property
    def label(self) -> str:
        return self.fields.get("label", "")

    @property
    def start(self) -> float | None:
        return _seconds(self.fields.get("start", ""))

    @property
    def end(self) -> float | None:
        return _seconds(self.fields.get("end", ""))


def _seconds(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) and x >= 0 else None


def read_candidates(path: Path) -> tuple[list[Candidate], list[str]]:
    """Rows and the output column order; a file that cannot be reviewed is one clear error."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceListError(f"{path}: no such candidate list; pass the CSV made by `vaar discover`") from None
    except UnicodeDecodeError as exc:
        raise SourceListError(f"{path}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(h or "").strip() for h in header_of(reader, str(path), SourceListError)]
    missing = [c for c in ("clip_id", "url", "label") if c not in header]
    if missing:
        raise SourceListError(f"{path}: header lacks column(s) {', '.join(missing)}; "
                              f"candidates need {','.join(SOURCE_COLUMNS)} (start/end may be empty)")
    columns = list(SOURCE_COLUMNS) + [h for h in header if h and h not in SOURCE_COLUMNS]
    rows: list[Candidate] = []
    seen: dict[str, int] = {}
    for raw in checked(reader, str(path), SourceListError):
        line = reader.line_num
        fields = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        cid = fields.get("clip_id", "")
        if not CLIP_ID_RE.match(cid):
            raise SourceListError(f"{path}:{line}: unsafe clip_id {cid!r}; use 1-64 letters, digits, '_' or '-'")
        if cid in seen:
            raise SourceListError(f"{path}:{line}: duplicate clip_id {cid!r} (first at line {seen[cid]}); "
                                  "give each candidate its own id")
        seen[cid] = line
        rows.append(Candidate(cid, line, {c: fields.get(c, "") for c in columns}))
        if len(rows) > MAX_CANDIDATES:
            raise SourceListError(f"{path}: more than {MAX_CANDIDATES} candidates; split the list")
    if not rows:
        raise SourceListError(f"{path}: no candidate rows")
    return rows, columns
