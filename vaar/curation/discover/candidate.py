"""One candidate row and the candidates file (source-list columns plus provenance).

The file is byte-stable: rows sorted by (label, clip_id), ``\\n`` line ends, numbers written as
``%g``, so rerunning discover on the same input gives the same bytes (and a clean git diff).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vaar.core._util.atomic import atomic_write_text
from vaar.core.csvsafe import safe_cell

CANDIDATE_COLUMNS = (
    "clip_id", "url", "start", "end", "label", "source_id", "license",
    "annotation_source", "annotation_license", "notes", "seed", "seed_label", "seed_flags",
)  # fmt: skip
YOUTUBE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")


def youtube_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


@dataclass(frozen=True)
class Candidate:
    """A proposed clip of ``video_id`` (a YouTube id); ``start``/``end`` are None when the seed
    gives no span (the curator sets it in review). ``span_tag`` names a spanless candidate.

    ``license`` is the *video's* licence, empty until a source states it (a search result's
    ``license`` field, the build's extractor metadata, a reviewer); ``annotation_source`` and
    ``annotation_license`` say where the label came from and under which licence (VGGSound's
    CC BY 4.0 covers its annotations, not the uploaders' videos)."""

    video_id: str
    start: float | None
    end: float | None
    label: str
    seed: str
    seed_labels: tuple[str, ...]
    seed_flags: tuple[str, ...] = ()
    license: str = ""
    annotation_source: str = ""
    annotation_license: str = ""
    notes: str = ""
    span_tag: str = ""

    @property
    def clip_id(self) -> str:
        # 'yt-' keeps ids that start with '-' or '_' valid; the label is not part of the id
        if self.start is None:
            return f"yt-{self.video_id}-{self.span_tag or 'nospan'}"
        return f"yt-{self.video_id}-{_num(self.start).replace('.', 'p')}"

    @property
    def url(self) -> str:
        return youtube_url(self.video_id)

    def row(self) -> dict[str, str]:
        return {
            "clip_id": self.clip_id,
            "url": self.url,
            "start": "" if self.start is None else _num(self.start),
            "end": "" if self.end is None else _num(self.end),
            "label": self.label,
            "source_id": f"youtube:{self.video_id}",  # a YouTube id may start with "-"
            "license": self.license,
            "annotation_source": self.annotation_source,
            "annotation_license": self.annotation_license,
            "notes": self.notes,
            "seed": self.seed,
            "seed_label": ";".join(self.seed_labels),
            "seed_flags": ";".join(self.seed_flags),
        }


def _num(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


def _printable(text: str) -> str:
    """``text`` without control characters (escape sequences, newlines, NUL) of an untrusted list."""
    return "".join(ch if ch.isprintable() else " " for ch in text) if not text.isprintable() else text


def render_candidates(rows: Sequence[Candidate]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CANDIDATE_COLUMNS, lineterminator="\n")
    w.writeheader()
    for c in sorted(rows, key=lambda c: (c.label, c.clip_id)):
        # a search title may start with "=", a list's name may carry a terminal escape
        w.writerow({k: safe_cell(_printable(v)) for k, v in c.row().items()})
    return buf.getvalue()


def write_candidates(path: Path, rows: Sequence[Candidate]) -> None:
    """Write atomically (temporary file in the same folder, then rename)."""
    atomic_write_text(path, render_candidates(rows))
