"""One review session: the candidates, what the build made of each, and the decisions so far."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vaar.curation.manifest import read_manifest
from vaar.curation.review.candidates import Candidate, read_candidates
from vaar.curation.review.decisions import DecisionStore
from vaar.curation.review.previews import KINDS, PreviewCache
from vaar.errors import StageError
from vaar.taxonomy import Taxonomy, default_taxonomy

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
        self.store = DecisionStore(out, candidates, columns, self.taxonomy, reviewer=reviewer)
        self.previews = PreviewCache(cache_dir or out.with_name(f".{out.name}.previews"))

    def media(self, clip_id: str) -> ClipMedia | None:
        """The built clip of a candidate, if the build made one (and it is under --media)."""
        r = self.built.get(clip_id)
        if not r or r.get("status") != "ok" or not r.get("video_path"):
            return None
        path = (self.media_dir / str(r["video_path"])).resolve()
        if not path.is_relative_to(self.media_dir) or not path.is_file():
            return None
        return ClipMedia(path, str(r.get("video_sha256") or path.stat().st_mtime_ns), float(r.get("duration") or 0.0))

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
                "flags": flags(r) if r else ["not built: run `vaar build --candidates` on this list"],
                "decision": asdict(d) if d else None,
            })  # fmt: skip
        return {
            "classes": list(self.taxonomy.slugs),
            "first_undecided": self.store.first_undecided(),
            "items": items,
            "out": str(self.store.out),
        }


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
