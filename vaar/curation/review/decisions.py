"""Review decisions, written at once and atomically; reopening resumes where the curator stopped.

Three files beside ``--out reviewed.csv``, each rewritten through a temporary file and a rename
after every decision, so closing the browser (or killing the server) loses nothing:

* ``reviewed.csv``: the accepted rows with their reviewed label and span, in candidate order,
  every candidate column kept (provenance too). A valid source list for ``vaar build``.
* ``reviewed.rejected.csv``: the rejected rows with ``reason``.
* ``reviewed.decisions.jsonl``: every decision in the order it was made (a later decision on a
  clip overrides an earlier one). This log is what a restart reads.
"""

from __future__ import annotations

import io
import json
import math
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from vaar.core._util.atomic import atomic_write_text
from vaar.core.contracts.source_list import SourceLimits
from vaar.core.csvsafe import write_rows
from vaar.core.errors import ConfigError, InputError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.review.candidates import REVIEWED_COLUMN, Candidate

Action = Literal["accept", "reject", "undo"]  # undo: the clip's earlier decision is withdrawn (``z``)
MAX_REASON = 300


@dataclass(frozen=True)
class Decision:
    clip_id: str
    action: Action
    label: str
    start: float | None
    end: float | None
    reason: str = ""
    at: str = ""
    reviewer: str = ""  # who decided (``vaar review --reviewer``); empty in logs older than the field


class DecisionError(InputError):
    """A decision the page sent that cannot be recorded (unknown clip, bad span or label)."""


def review_paths(out: Path) -> tuple[Path, Path, Path]:
    """``(reviewed.csv, reviewed.rejected.csv, reviewed.decisions.jsonl)`` for ``--out``."""
    stem = out.name[: -len(out.suffix)] if out.suffix else out.name
    return out, out.with_name(f"{stem}.rejected.csv"), out.with_name(f"{stem}.decisions.jsonl")


def fmt_seconds(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:.3f}".rstrip("0").rstrip(".") or "0"


class DecisionStore:
    """Holds the decisions of one review session; thread-safe (the server is threaded)."""

    def __init__(self, out: Path, candidates: list[Candidate], columns: list[str], taxonomy: Taxonomy,
                 limits: SourceLimits | None = None, reviewer: str = "") -> None:  # fmt: skip
        self.out = out
        self.paths = review_paths(out)
        self.candidates = candidates
        self.columns = columns if REVIEWED_COLUMN in columns else [*columns, REVIEWED_COLUMN]
        self.reviewer = reviewer
        self.taxonomy = taxonomy
        self.limits = limits or SourceLimits()
        self._by_id = {c.clip_id: c for c in candidates}
        self._lock = threading.Lock()
        self._log: list[Decision] = []
        self.decisions: dict[str, Decision] = {}
        self._load()

    def _load(self) -> None:
        log = self.paths[2]
        if not log.is_file():
            return
        for n, line in enumerate(log.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = Decision(**json.loads(line))
            except (ValueError, TypeError):
                raise ConfigError(f"{log}:{n}: not a decision record; restore the file or move it away") from None
            self._log.append(d)
            if d.clip_id in self._by_id:
                self._apply(d)

    def first_undecided(self) -> int:
        for i, c in enumerate(self.candidates):
            if c.clip_id not in self.decisions:
                return i
        return len(self.candidates)

    def check(self, data: dict[str, Any]) -> Decision:
        """A decision from untrusted JSON; raises :class:`DecisionError` with the reason."""
        cid = data.get("clip_id")
        if not isinstance(cid, str) or cid not in self._by_id:
            raise DecisionError(f"unknown clip_id {cid!r}")
        action = data.get("action")
        if action not in ("accept", "reject", "undo"):
            raise DecisionError("action must be accept, reject or undo")
        if action == "undo":
            return self._undo(cid)
        label = data.get("label")
        if not isinstance(label, str):
            raise DecisionError("label must be a string")
        start, end = _num(data.get("start")), _num(data.get("end"))
        reason = data.get("reason") or ""
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise DecisionError(f"reason must be text of at most {MAX_REASON} characters")
        reason = " ".join(reason.split())
        if action == "accept":
            if label not in self.taxonomy:
                raise DecisionError(f"label {label!r} is not a class; use one of {', '.join(self.taxonomy.slugs)}")
            if start is None or end is None:
                raise DecisionError("an accepted clip needs a start and an end (trim it first)")
            if end <= start:
                raise DecisionError(f"end ({fmt_seconds(end)} s) must be after start ({fmt_seconds(start)} s)")
            dur = end - start
            if not self.limits.min_duration <= dur <= self.limits.max_duration:
                raise DecisionError(f"span {dur:.3f} s outside [{self.limits.min_duration:g}, "
                                    f"{self.limits.max_duration:g}] s")
        elif not reason:
            raise DecisionError("a rejection needs a reason")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return Decision(cid, action, label, start, end, reason, at, self.reviewer)  # type: ignore[arg-type]

    def record(self, d: Decision) -> None:
        """Keep ``d`` and rewrite the three files (each atomically) before returning."""
        with self._lock:
            self._log.append(d)
            self._apply(d)
            reviewed, rejected, log = self.paths
            atomic_write_text(log, "".join(json.dumps(asdict(x), ensure_ascii=False) + "\n" for x in self._log))
            atomic_write_text(reviewed, self._accepted_csv())
            atomic_write_text(rejected, self._rejected_csv())

    def _undo(self, cid: str) -> Decision:
        if cid not in self.decisions:
            raise DecisionError(f"{cid} has no decision to undo")
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return Decision(cid, "undo", "", None, None, "", at, self.reviewer)

    def _apply(self, d: Decision) -> None:
        if d.action == "undo":
            self.decisions.pop(d.clip_id, None)
        else:
            self.decisions[d.clip_id] = d

    def _rows(self, action: Action) -> list[dict[str, str]]:
        rows = []
        for c in self.candidates:
            d = self.decisions.get(c.clip_id)
            if d is None or d.action != action:
                continue
            row = dict(c.fields)
            row[REVIEWED_COLUMN] = d.reviewer or "unknown"
            if action == "accept":
                row.update(label=d.label, start=fmt_seconds(d.start), end=fmt_seconds(d.end))
            else:
                row["reason"] = d.reason
            rows.append(row)
        return rows

    def _accepted_csv(self) -> str:
        return _csv(self.columns, self._rows("accept"))

    def _rejected_csv(self) -> str:
        return _csv([*self.columns, "reason"], self._rows("reject"))


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DecisionError("start and end must be numbers of seconds")
    try:
        x = round(float(value), 3)
    except ValueError:
        raise DecisionError("start and end must be numbers of seconds") from None
    if not math.isfinite(x) or x < 0:
        raise DecisionError("start and end must be finite and >= 0")
    return x


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()  # vaar.core.csvsafe, header included: a candidate list's column name is untrusted text
    write_rows(buf, columns, ([r.get(c, "") for c in columns] for r in rows))
    return buf.getvalue()
