"""One review session: the candidates, what the build made of each, and the decisions so far."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vaar.core.contracts.manifest_file import read_manifest
from vaar.core.errors import StageError
from vaar.core.taxonomy import Taxonomy, default_taxonomy
from vaar.curation.review.candidates import Candidate, read_candidates
from vaar.curation.review.decisions import DecisionStore
from vaar.curation.review.previews import KINDS, PreviewCache
from vaar.curation.review.source_preview import read_index

# manifest columns the page shows (QC flags and the sync verdict of the build)
SHOWN = ("status", "error", "stage", "start", "end", "duration", "fps", "width", "height",
         "sync_verdict", "av_offset_ms", "sync_confidence", "silence_fraction", "frozen_fraction",
         "black_fraction", "dup_group", "title", "uploader", "license")  # fmt: skip
PREFETCH_AHEAD = 3  # previews drawn ahead of the clip on screen
FLAG_FRACTION = 0.3  # a fraction above this is shown as a flag (QC rejects at its own thresholds)


@dataclass(frozen=True)
class ClipMedia:
    video: Path
    key: str  # sha256 of the MP4 (cache key of the previews)
    duration: float
    source_start: float = 0.0  # source time of the video's time 0 (the built span's start)
    kind: str = "clip"  # clip: the built span; source: a whole-source preview of a spanless candidate
    truncated: bool = False  # a source preview that stops before the source does


class ReviewSession:
    def __init__(self, candidates_csv: Path, media_dir: Path, out: Path, taxonomy: Taxonomy | None = None,
                 cache_dir: Path | None = None, reviewer: str = "") -> None:  # fmt: skip
        self.taxonomy = taxonomy or default_taxonomy()
        self.candidates_csv = candidates_csv
        self.media_dir = media_dir.resolve()
        candidates, columns = read_candidates(candidates_csv)
        self.candidates: list[Candidate] = candidates
        table = read_manifest(self.media_dir / "manifest.parquet", ["clip_id", "video_path", "video_sha256", *SHOWN])
        self.built: dict[str, dict[str, Any]] = {r["clip_id"]: r for r in table.to_pylist()}
        self.source_previews = read_index(self.media_dir)
        self.store = DecisionStore(out, candidates, columns, self.taxonomy, reviewer=reviewer)
        self.previews = PreviewCache(cache_dir or out.with_name(f".{out.name}.previews"))

    def media(self, clip_id: str) -> ClipMedia | None:
        """The built clip of a candidate, if the build made one (and it is under --media)."""
        r = self.built.get(clip_id)
        if not r or r.get("status") != "ok" or not r.get("video_path"):
            return self._source_preview(clip_id)
        path = (self.media_dir / str(r["video_path"])).resolve()
        if not path.is_relative_to(self.media_dir) or not path.is_file():
            return None
        start = r.get("start")
        return ClipMedia(path, str(r.get("video_sha256") or path.stat().st_mtime_ns), float(r.get("duration") or 0.0),
                         float(start) if isinstance(start, (int, float)) else 0.0)

    def _source_preview(self, clip_id: str) -> ClipMedia | None:
        """The whole-source preview ``vaar build --candidates`` made for a spanless candidate."""
        p = self.source_previews.get(clip_id)
        if not p or p.get("error") or not isinstance(p.get("path"), str):
            return None
        path = (self.media_dir / p["path"]).resolve()
        if not path.is_relative_to(self.media_dir) or not path.is_file() or path.suffix != ".mp4":
            return None
        st = path.stat()
        dur = p.get("duration")
        return ClipMedia(path, f"source:{st.st_size}:{st.st_mtime_ns}", float(dur) if isinstance(dur, (int, float)) else 0.0,
                         0.0, "source", bool(p.get("truncated")))

    def warm_previews(self, clip_id: str, ahead: int = PREFETCH_AHEAD) -> None:
        """Draw the previews of the ``ahead`` candidates after ``clip_id`` (the curator's next ones)."""
        ids = [c.clip_id for c in self.candidates]
        i = ids.index(clip_id) if clip_id in ids else -1
        for cid in ids[i + 1 : i + 1 + ahead]:
            m = self.media(cid)
            if m is None:
                continue
            for kind in KINDS:
                try:
                    self.previews.get(kind, m.video, m.key, m.duration)
                except StageError:
                    break

    def state(self) -> dict[str, Any]:
        items = []
        for c in self.candidates:
            r = self.built.get(c.clip_id) or {}
            m = self.media(c.clip_id)
            rel = m.video.relative_to(self.media_dir).as_posix() if m else None
            d = self.store.decisions.get(c.clip_id)
            items.append({
                "clip_id": c.clip_id,
                "fields": c.fields,
                "start": c.start,
                "end": c.end,
                "built": {k: r.get(k) for k in SHOWN} if r else None,
                "video": f"/media/{quote(rel)}" if rel else None,
                "media": {"kind": m.kind, "source_start": m.source_start, "duration": m.duration,
                          "truncated": m.truncated} if m else None,
                "flags": self._flags(c.clip_id, r, m),
                "seed_flags": [f for f in c.fields.get("seed_flags", "").split(";") if f],
                "decision": asdict(d) if d else None,
            })  # fmt: skip
        return {
            "reviewer": self.store.reviewer,
            "classes": list(self.taxonomy.slugs),
            "first_undecided": self.store.first_undecided(),
            "items": items,
            "out": str(self.store.out),
        }

    def _flags(self, clip_id: str, r: dict[str, Any], m: ClipMedia | None) -> list[str]:
        p = self.source_previews.get(clip_id) or {}
        if m is not None and m.kind == "source":
            whole = (f"the first {m.duration:.0f} s of a {p.get('source_duration'):.0f} s source" if m.truncated
                     and isinstance(p.get("source_duration"), (int, float)) else "the whole source")
            return [f"no span yet: this preview shows {whole}; find the event and mark its start and end"]
        if m is None and p.get("error"):
            return [f"no preview of the source: {str(p['error'])[:300]}"]
        if not r:
            return ["not built: run `vaar build --candidates` on this list"]
        return flags(r)


def flags(r: dict[str, Any]) -> list[str]:
    """Plain-language QC flags of a manifest row."""
    out: list[str] = []
    if r.get("status") != "ok":
        out.append(f"{r.get('status')} at {r.get('stage') or '?'}: {r.get('error') or ''}".strip())
    verdict = r.get("sync_verdict")
    if verdict and verdict != "in_sync":
        off = r.get("av_offset_ms")
        out.append(f"sync {verdict}" + (f" ({off:+.0f} ms)" if isinstance(off, (int, float)) else ""))
    for key, what in (("silence_fraction", "silent"), ("frozen_fraction", "frozen"), ("black_fraction", "black")):
        v = r.get(key)
        if isinstance(v, (int, float)) and v > FLAG_FRACTION:
            out.append(f"{100 * v:.0f}% {what}")
    if r.get("dup_group"):
        out.append(f"near-duplicate group {r['dup_group']}")
    return out
