"""Whole-source previews for spanless candidates: what ``vaar build --candidates`` makes for a
``no_span`` row (every ``xd-violence-list`` and ``ytsearch`` candidate), so the reviewer can find
the event and mark its span in ``vaar review``.

A preview is the first :data:`PREVIEW_SECONDS` (10 minutes) of the source, or all of it when
shorter, re-encoded small (:data:`SHORT_SIDE` px, :data:`FPS` fps, 16 kHz mono AAC, no source
metadata) to ``BUILD/previews/<clip_id>.mp4``. Its time 0 is source time 0, so a span marked on it
is already in source seconds; the reviewed row gets that span and a normal build then cuts it.
The source is fetched through the build's own download stage (:func:`vaar.curation.build.download.fetch_source`:
the same network guard, the same cache) and the result is listed in ``BUILD/previews/index.json``::

    {"clip_id": {"path": "previews/clip_id.mp4", "duration": 7.0, "source_duration": 7.0,
                 "truncated": false, "url": "..."}}

A row whose source cannot be fetched gets ``{"error": "..."}`` instead (the page says why).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaar.core._util.atomic import atomic_path, atomic_write_text
from vaar.core.contracts.source_list import CLIP_ID_RE
from vaar.core.errors import DownloadError, StageError
from vaar.curation.build.download import DownloadConfig, fetch_source
from vaar.curation.build.media import run_tool

PREVIEW_SECONDS = 600.0  # the first ten minutes of a source (XD-Violence segments run for minutes)
SHORT_SIDE = 180
FPS = 12
FOLDER = "previews"
INDEX = "index.json"


@dataclass(frozen=True)
class SourcePreview:
    """One spanless candidate's preview (``error`` set when none could be made)."""

    clip_id: str
    url: str
    path: str | None = None  # relative to the build folder
    duration: float = 0.0  # seconds of preview (source time 0 .. duration)
    source_duration: float | None = None
    truncated: bool = False  # the source runs past the preview
    error: str | None = None


def spanless_rows(rows: Sequence[tuple[int, dict[str, str]]]) -> list[tuple[str, str]]:
    """``(clip_id, url)`` of the rows that leave both start and end empty (and have a safe id)."""
    return [(r.get("clip_id", ""), r.get("url", "")) for _, r in rows
            if not r.get("start") and not r.get("end") and CLIP_ID_RE.match(r.get("clip_id", ""))]


def make_previews(rows: Sequence[tuple[str, str]], out: Path, cfg: DownloadConfig = DownloadConfig(),  # noqa: B008
                  *, on_row: Callable[[SourcePreview], None] | None = None,
                  seconds: float = PREVIEW_SECONDS) -> list[SourcePreview]:  # fmt: skip
    """Make (or reuse) the preview of each ``(clip_id, url)``; writes ``previews/index.json``."""
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    done: list[SourcePreview] = []
    for clip_id, url in rows:
        try:
            p = _one(clip_id, url, out, cfg, seconds)
        except (DownloadError, StageError) as exc:
            p = SourcePreview(clip_id, url, error=getattr(exc, "reason", None) or str(exc))
        done.append(p)
        if on_row:
            on_row(p)
    index = {p.clip_id: {k: v for k, v in p.__dict__.items() if k != "clip_id"} for p in done}
    old = read_index(out)
    atomic_write_text(folder / INDEX, json.dumps({**old, **index}, indent=1, sort_keys=True) + "\n")
    return done


def _one(clip_id: str, url: str, out: Path, cfg: DownloadConfig, seconds: float) -> SourcePreview:
    target = out / FOLDER / f"{clip_id}.mp4"
    media = fetch_source(url, [(0.0, seconds)], out / "cache", cfg)
    section = next((s for s in media.sections if s.start <= 1e-6), None)
    if section is None:
        raise StageError("the download holds no part from the source's start")
    src_dur = float(media.info.get("duration") or 0.0) or (section.end if math.isfinite(section.end) else None)
    length = min(seconds, section.end - section.start) if math.isfinite(section.end) else seconds
    with atomic_path(target, suffix=".mp4") as tmp:
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(section.path), "-t", f"{length:.3f}",
               "-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1", "-map_chapters", "-1",
               "-vf", f"scale=-2:'min({SHORT_SIDE},ih)',fps={FPS}", "-c:v", "libx264", "-preset", "veryfast",
               "-crf", "30", "-g", str(FPS), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "48k", "-ac", "1",
               "-ar", "16000", "-movflags", "+faststart", str(tmp)]  # fmt: skip
        proc = run_tool(cmd)
        if proc.returncode != 0 or not tmp.is_file() or not tmp.stat().st_size:
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise StageError(f"ffmpeg could not make the preview: {msg[-1][:200] if msg else 'no output'}")
    dur = _duration(target) or length
    truncated = src_dur is not None and src_dur > dur + 0.5
    return SourcePreview(clip_id, url, f"{FOLDER}/{clip_id}.mp4", round(dur, 3),
                         round(src_dur, 3) if src_dur else None, truncated)


def _duration(path: Path) -> float | None:
    from vaar.curation.mp4.facts import read_mp4_facts

    facts = read_mp4_facts(path)
    return float(facts.duration) if facts is not None and facts.duration else None


def read_index(out: Path) -> dict[str, dict[str, Any]]:
    """``previews/index.json`` of a build folder ({} when absent or unreadable)."""
    path = out / FOLDER / INDEX
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
