"""Seed ``ytsearch``: YouTube search (``ytsearchN:<phrase>``) per class, metadata only.

Each class's ``search_phrases`` (``taxonomy.yaml``) are sent to the yt-dlp API with
``extract_flat`` (the result list only: no video page, no media); each hit becomes a spanless
candidate (flags ``no_span``, ``search_result``) with its title, channel and duration in
``notes`` and the licence when the result gives one. Needs the internet (YouTube).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from vaar.core.errors import ConfigError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import YOUTUBE_ID_RE, Candidate
from vaar.curation.discover.seeds import SeedOptions, SeedResult, register_seed


def _clean(value: Any) -> str:
    return " ".join(str(value or "").split())[:120]


class _Quiet:
    """yt-dlp prints errors even when quiet; the error is raised and reported once instead."""

    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


def search(phrase: str, n: int) -> list[dict[str, Any]]:
    import yt_dlp

    params = {"quiet": True, "no_warnings": True, "skip_download": True, "extract_flat": "in_playlist",
              "logger": _Quiet()}  # fmt: skip
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.extract_info(f"ytsearch{n}:{phrase}", download=False)
    except yt_dlp.utils.DownloadError as exc:
        msg = str(exc).replace("ERROR: ", "").splitlines()[0].split(" (caused by")[0][:300]
        raise ConfigError(f"ytsearch {phrase!r}: {msg}") from None
    return list((info or {}).get("entries") or [])


@register_seed("ytsearch", needs_source=False, help="YouTube search per class phrase (internet)")
def ytsearch_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    if options.search_results < 1:
        raise ConfigError(f"--search-results must be >= 1, got {options.search_results}")
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    for cls in taxonomy.classes:
        if options.classes and cls.slug not in options.classes:
            continue
        for phrase in cls.search_phrases:
            for e in search(phrase, options.search_results):
                vid = str(e.get("id") or "")
                if not YOUTUBE_ID_RE.match(vid):
                    skipped["not a video (channel, playlist)"] += 1
                    continue
                dur = e.get("duration")
                notes = f"{_clean(e.get('title'))} | {_clean(e.get('channel') or e.get('uploader'))}"
                if isinstance(dur, (int, float)):
                    notes += f" | {dur:.0f} s"
                out.append(
                    Candidate(
                        video_id=vid, start=None, end=None, label=cls.slug, seed="ytsearch",
                        seed_labels=(phrase,), seed_flags=("no_span", "search_result"),
                        license=_clean(e.get("license")), notes=notes, span_tag="search",
                    )
                )  # fmt: skip
    return out, skipped
