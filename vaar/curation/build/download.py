"""Download stage: fetch only what the clips of one source video need, once, with yt-dlp.

All clips cut from one URL are handled by one :func:`fetch_source` call, so no byte is fetched
twice. How the bytes are fetched is a policy (:data:`DownloadMode`):

* ``full`` — the whole file. For a direct media file over HTTP this is the cheapest way: a
  section download of such a file makes ffmpeg seek over HTTP, and each seek re-reads, so it was
  measured here to fetch 3–9× the file's bytes.
* ``section`` — only the needed spans (yt-dlp ``download_ranges``), with keyframes forced at the
  cuts so that the section starts exactly at the requested time. Spans of one source closer than
  ``merge_gap_s`` are merged into one section. Right for long streaming sources (YouTube DASH)
  where each clip needs seconds of an hour-long video.
* ``auto`` (default) — ``full`` for a direct single-file HTTP source, ``section`` otherwise.

A direct file is recognised from a ``HEAD`` request (its ``Content-Type``), so its body is sent
once: the generic extractor's ``GET`` probe made the server send the whole file a second time.

The source list and everything behind its URLs are untrusted (see :mod:`vaar.curation.netguard`
and :mod:`vaar.curation.build.inputguard`): every request yt-dlp makes, every redirect target (before
it is followed) and the final URL of every response must pass the :class:`~vaar.curation.netguard.NetworkPolicy`; so
must the page, media, manifest and fragment URLs of the extracted formats (ffmpeg fetches those
itself in ``section`` mode, restricted to network protocols). A downloaded file must be a media
container, not a playlist: it is sniffed and probed with ffprobe limited to the ``file``
protocol and real container demuxers, and every ffmpeg that yt-dlp runs on it is limited so.

Transient errors (HTTP 5xx and 429, timeouts, resets, an empty or undecodable result — yt-dlp
can exit 0 leaving a 262-byte file after a connection cut) are retried with exponential backoff;
permanent ones (404, 403, unsupported URL) fail at once. Downloads land under a temporary name
(yt-dlp's ``.part``) and are recorded as done by an info file written last, so a killed run
never reuses half a file.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vaar.core._util.atomic import atomic_write_text
from vaar.core.errors import DownloadError, VerifyError
from vaar.core.textsafe import tool_message
from vaar.curation.build.direct import direct_info as _direct_info
from vaar.curation.build.fragments import FetchStats, download_error, fetch_by_index
from vaar.curation.build.inputguard import input_args, sniff_problem
from vaar.curation.build.media import probe
from vaar.curation.build.polite import GATE, host_slot
from vaar.curation.build.runstats import thread_clock
from vaar.curation.mp4 import read_mp4_facts
from vaar.curation.netguard import NetworkPolicy

DownloadMode = Literal["auto", "full", "section"]

_PERMANENT = re.compile(
    r"HTTP Error (400|401|403|404|410|451)|Unsupported URL|not a valid URL|Private video|"
    r"Video unavailable|removed|copyright|Sign in to confirm your age|in your country|"
    r"Name or service not known|No address associated|nodename nor servname|not a bot",
    re.I,
)
_THROTTLED = re.compile(r"HTTP Error 429|Too Many Requests", re.I)
BOT_CHECK = re.compile(r"not a bot", re.I)
"""The site suspects the client, not the video: the run pauses, then stops (the clips stay pending)."""
INFO_KEYS = ("id", "title", "uploader", "upload_date", "license", "webpage_url", "extractor_key", "duration")


@dataclass(frozen=True)
class DownloadConfig:
    """How sources are fetched. ``rate_limit`` is yt-dlp's (bytes/s, e.g. ``2M``)."""

    mode: DownloadMode = "auto"
    max_height: int = 720
    retries: int = 3
    backoff_s: float = 1.0
    socket_timeout_s: float = 20.0
    cookies: str | None = None
    rate_limit: str | None = None
    merge_gap_s: float = 30.0
    pad_s: float = 0.0
    allow_private_network: bool = False  # --allow-private-network (the sample, the tests)
    exempt_networks: tuple[str, ...] = ()  # CIDRs allowed although not public
    per_host: int = 3  # sources of one host downloading at once (polite; < 1: no cap)
    sleep_requests: float = 0.0  # yt-dlp --sleep-requests: seconds before each request
    sleep_interval: float = 0.0  # yt-dlp --sleep-interval: seconds before each download
    max_bot_checks: int = 3  # consecutive "not a bot" answers that stop the run (clips stay pending)
    force_keyframes: bool = True  # section fallback: re-encode so a section starts on its cut (``copy`` precision
    # needs it; the ``accurate`` trim re-encodes anyway, so the build turns it off: one encode, not two)
    index_fetch: bool = True  # section mode: fetch the fragments an index names (vaar.curation.build.fragments)

    @property
    def network(self) -> NetworkPolicy:
        return NetworkPolicy(self.allow_private_network, self.exempt_networks)


@dataclass(frozen=True)
class Section:
    """Part of a source held in ``path``: file time 0 is source time ``offset``."""

    path: Path
    offset: float
    start: float
    end: float
    has_audio: bool = True

    def covers(self, start: float, end: float) -> bool:
        return self.start <= start + 1e-6 and end <= self.end + 1e-6


@dataclass(frozen=True)
class SourceMedia:
    url: str
    sections: tuple[Section, ...]
    info: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    fetch: dict[str, Any] = field(default_factory=dict)  # method (index/section/full/cached), why, bytes, requests

    def section_for(self, start: float, end: float) -> Section:
        for s in self.sections:
            if s.covers(start, end):
                return s
        ends = [s.end for s in self.sections if s.start <= start + 1e-6]
        if ends:
            raise DownloadError(
                f"short clip: the span {start:g}-{end:g} s runs past the source's end at {max(ends):.2f} s"
            )
        raise DownloadError(f"no downloaded section covers {start:g}-{end:g} s")


def ytdlp_version() -> str:
    """yt-dlp's version, read from its ``version.py`` without importing the package (its import
    costs ~0.2 s, which a build with nothing to download never needs)."""
    import importlib.util

    spec = importlib.util.find_spec("yt_dlp")  # locates the package without running it
    origin = Path(spec.origin).with_name("version.py") if spec and spec.origin else None
    text = origin.read_text(encoding="utf-8") if origin and origin.is_file() else ""
    found = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    if found:
        return found.group(1)
    from yt_dlp.version import __version__

    return str(__version__)


def source_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:20]


def merge_spans(spans: Sequence[tuple[float, float]], gap: float, pad: float) -> list[tuple[float, float]]:
    """Union of the clip spans (padded), merging spans closer than ``gap`` seconds."""
    merged: list[list[float]] = []
    for s, e in sorted((max(0.0, s - pad), e + pad) for s, e in spans):
        if merged and s <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


class _Log:
    """Collects yt-dlp's messages instead of printing them (library code does not print)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def debug(self, msg: str) -> None:
        pass

    def info(self, msg: str) -> None:
        pass

    def warning(self, msg: str) -> None:
        self.messages.append(msg)

    def error(self, msg: str) -> None:
        self.messages.append(msg)


_FFMPEG_PPS = ("merger", "fixupm3u8", "fixupm4a", "fixupstretched", "fixuptimestamp", "fixupduration",
               "fixupduplicatemoov", "videoremuxer", "videoconvertor")  # fmt: skip


def _params(cfg: DownloadConfig, outtmpl: str) -> dict[str, Any]:
    h = cfg.max_height
    params: dict[str, Any] = {
        "format": f"bv*[height<=?{h}]+ba/b[height<=?{h}]/bv*+ba/b",
        "merge_output_format": "mp4",
        "outtmpl": outtmpl,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "retries": 2,
        "fragment_retries": 2,
        "socket_timeout": cfg.socket_timeout_s,
        "continuedl": False,
        "overwrites": True,
        "logger": _Log(),
        # ffmpeg run by yt-dlp: on a URL (section downloads) network protocols only; on a
        # downloaded file (merge, fixups) one local file of a real container format
        # -seek_timestamp: -ss is a time of the source, not of each input's own start, so separate
        # video and audio formats whose first timestamps differ are cut at the same instant
        "external_downloader_args": {"ffmpeg_i": ["-protocol_whitelist", "http,https,tcp,tls,crypto",
                                                  "-seek_timestamp", "1"]},
        "postprocessor_args": {f"{pp}+ffmpeg_i": input_args() for pp in _FFMPEG_PPS},
    }
    if cfg.sleep_requests > 0:
        params["sleep_interval_requests"] = cfg.sleep_requests
    if cfg.sleep_interval > 0:
        params["sleep_interval"] = cfg.sleep_interval
    if cfg.cookies:
        params["cookiefile"] = cfg.cookies
    if cfg.rate_limit:
        from yt_dlp.utils import parse_bytes

        params["ratelimit"] = parse_bytes(cfg.rate_limit)
    return params


def _is_direct(info: dict[str, Any]) -> bool:
    proto = str(info.get("protocol") or "")
    return bool(info.get("direct")) or (proto in ("http", "https") and not info.get("requested_formats"))


def fetch_source(
    url: str, spans: Sequence[tuple[float, float]], cache_dir: Path, cfg: DownloadConfig = DownloadConfig()
) -> SourceMedia:
    """Fetch what the clips ``spans`` of ``url`` need into ``cache_dir`` (reused when done)."""
    last: DownloadError | None = None
    host = urllib.parse.urlsplit(url).hostname or ""
    for attempt in range(1, cfg.retries + 2):
        try:
            with host_slot(host, cfg.per_host):
                GATE.wait()
                media = _fetch_once(url, spans, cache_dir, cfg)
            return SourceMedia(media.url, media.sections, media.info, attempt, media.fetch)
        except DownloadError as exc:
            last = exc
            if BOT_CHECK.search(exc.reason):  # the site suspects this client: the driver pauses or stops
                GATE.pause(cfg.backoff_s * 2 ** (attempt - 1))
                err = DownloadError(exc.reason)
                err.bot_check = True  # type: ignore[attr-defined]
                raise err from None
            if getattr(exc, "permanent", False) or attempt > cfg.retries:
                break
            wait = getattr(exc, "retry_after", None) or cfg.backoff_s * 2 ** (attempt - 1)
            if _THROTTLED.search(exc.reason):
                GATE.pause(wait)  # every download thread waits, not only this one
            else:
                time.sleep(wait)
    assert last is not None
    raise DownloadError(f"{last.reason} (after {attempt} attempt{'s' * (attempt > 1)})")


def _fetch_once(
    url: str, spans: Sequence[tuple[float, float]], cache_dir: Path, cfg: DownloadConfig
) -> SourceMedia:
    import yt_dlp

    key = source_key(url)
    folder = cache_dir / key
    done_file = folder / "done.json"
    wanted = merge_spans(spans, cfg.merge_gap_s, cfg.pad_s)
    if done_file.exists():
        cached = _load_done(done_file, url)
        if cached is not None and all(any(s.covers(a, b) for s in cached.sections) for a, b in spans):
            return cached
    folder.mkdir(parents=True, exist_ok=True)
    ydl = _ydl(cfg)
    try:
        _check_url(url, cfg.network)
        clock = thread_clock()
        info = _direct_info(ydl, url) or ydl.extract_info(url, download=False)
        resolved = thread_clock()
        if info is None:
            raise download_error("yt-dlp returned no information for this URL", True)
        for u in _info_urls(info):
            _check_url(u, cfg.network)
        meta = {k: info.get(k) for k in INFO_KEYS}
        mode = cfg.mode
        if mode == "auto":
            mode = "full" if _is_direct(info) else "section"
        sections: list[Section] = []
        stats = FetchStats(method=mode)
        if mode == "full":
            path = _download(ydl, info, folder / "full.%(ext)s", None)
            facts = _check_file(path)
            dur = float(facts.get("duration") or info.get("duration") or 0.0)
            sections.append(Section(path, 0.0, 0.0, dur if dur > 0 else float("inf"), facts["has_audio"]))
        else:
            sections = _fetch_sections(ydl, url, info, spans, wanted, folder, cfg, stats)
    except yt_dlp.utils.DownloadError as exc:
        msg = tool_message(str(exc), "download failed")
        raise download_error(msg, bool(_PERMANENT.search(msg))) from None
    except yt_dlp.utils.YoutubeDLError as exc:
        raise download_error(tool_message(str(exc), "download failed"), False) from None
    done = thread_clock()
    fetch = {"method": stats.method, "why": stats.reason, "bytes": stats.bytes, "requests": stats.requests,
             **_seconds("resolve", clock, resolved), **_seconds("download", resolved, done)}
    media = SourceMedia(url, tuple(sections), meta, fetch=fetch)
    _write_done(done_file, media)
    return media


def _fetch_sections(ydl: Any, url: str, info: dict[str, Any], spans: Sequence[tuple[float, float]],
                    wanted: list[tuple[float, float]], folder: Path, cfg: DownloadConfig,
                    stats: FetchStats) -> list[Section]:
    """The sections of ``spans``: by the formats' index when they have one, else by yt-dlp's
    section download of the merged spans (``stats`` says which and why)."""
    from yt_dlp.utils import download_range_func

    def resolve() -> list[dict[str, Any]]:  # the signed URLs expired: sign anew
        fresh = ydl.extract_info(url, download=False)
        for u in _info_urls(fresh):
            _check_url(u, cfg.network)
        return list(fresh.get("requested_formats") or [fresh])

    padded = [(max(0.0, s - cfg.pad_s), e + cfg.pad_s) for s, e in spans]
    formats = list(info.get("requested_formats") or [info])
    got = fetch_by_index(ydl, formats, padded, folder, stats, resolve) if cfg.index_fetch else None
    if got is not None:
        return [Section(p, off, s, e, a) for p, off, s, e, a in got]
    stats.method, stats.reason = "section", stats.reason or "index fetching off"
    sections = []
    for i, (s, e) in enumerate(wanted):
        ranges = download_range_func(None, [(s, e)])
        path = _download(ydl, info, folder / f"section{i}-{s:.3f}-{e:.3f}.%(ext)s", ranges, cfg.force_keyframes)
        facts = _check_file(path)
        sections.append(Section(path, s, s, s + float(facts.get("duration") or 0.0), facts["has_audio"]))
    return sections


def _seconds(stage: str, a: tuple[float, float], b: tuple[float, float]) -> dict[str, float]:
    return {f"{stage}_wall_s": b[0] - a[0], f"{stage}_cpu_s": b[1] - a[1]}


def _check_url(url: str, policy: NetworkPolicy) -> None:
    problem = policy.url_problem(url)
    if problem:
        raise download_error(problem, True)


def _info_urls(info: dict[str, Any]) -> list[str]:
    """Every URL of the extracted media that yt-dlp or ffmpeg will fetch (page, formats, fragments)."""
    urls: list[str] = []
    formats = [info, *(info.get("requested_formats") or [])]
    for f in formats:
        for key in ("webpage_url", "url", "manifest_url", "fragment_base_url"):
            if isinstance(f.get(key), str):
                urls.append(f[key])
        for frag in f.get("fragments") or []:
            if isinstance(frag, dict) and isinstance(frag.get("url"), str):
                urls.append(frag["url"])
    return urls


_LOCAL = threading.local()


def guarded_youtubedl(policy: NetworkPolicy) -> Any:
    """``YoutubeDL`` whose every request, redirect and final URL obeys ``policy``.

    Requests go through yt-dlp's urllib handler only, with its redirect handler checking the
    target *before* following it (so a redirect into the private network sends nothing there);
    :meth:`urlopen` checks each request and the final URL of each response.
    """
    import yt_dlp
    from yt_dlp.networking._urllib import RedirectHandler, UrllibRH
    from yt_dlp.networking.exceptions import RequestError

    class Refused(RequestError):
        pass

    class GuardedUrllibRH(UrllibRH):  # type: ignore[misc]
        def _create_instance(self, *args: Any, **kwargs: Any) -> Any:
            opener = super()._create_instance(*args, **kwargs)
            for handler in opener.handlers:
                if isinstance(handler, RedirectHandler):
                    follow = handler.redirect_request

                    def checked(req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str,
                                _follow: Any = follow) -> Any:  # fmt: skip
                        problem = policy.url_problem(newurl)
                        if problem:
                            raise Refused(f"redirected: {problem}")
                        return _follow(req, fp, code, msg, headers, newurl)

                    handler.redirect_request = checked
            return opener

    class Guarded(yt_dlp.YoutubeDL):  # type: ignore[misc]
        def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
            return super().build_request_director([GuardedUrllibRH], preferences)

        def urlopen(self, req: Any) -> Any:
            url = req if isinstance(req, str) else getattr(req, "url", None) or getattr(req, "full_url", "")
            _check_url(str(url), policy)
            GATE.wait()  # a 429 or bot check elsewhere pauses this request too
            try:
                resp = super().urlopen(req)
            except Refused as exc:
                raise download_error(str(exc.msg or exc), True) from None
            problem = policy.url_problem(str(resp.url))  # after redirects
            if problem:
                resp.close()
                raise download_error(f"redirected: {problem}", True)
            return resp

    return Guarded


def _ydl(cfg: DownloadConfig) -> Any:
    """This thread's ``YoutubeDL`` for ``cfg``: building one costs ~0.9 s, so it is reused."""
    cache: dict[DownloadConfig, Any] = _LOCAL.__dict__.setdefault("ydl", {})
    if cfg not in cache:
        cache[cfg] = guarded_youtubedl(cfg.network)(_params(cfg, "%(id)s.%(ext)s"))
    return cache[cfg]


def _download(ydl: Any, info: dict[str, Any], outtmpl: Path, ranges: Any, force_keyframes: bool = True) -> Path:
    """Download ``info`` to ``outtmpl`` (whole, or the ``download_ranges`` given)."""
    ydl.params["outtmpl"] = {"default": str(outtmpl)}
    ydl.params["download_ranges"] = ranges
    ydl.params["force_keyframes_at_cuts"] = ranges is not None and force_keyframes  # a section starts on its cut
    if ranges is None:
        ydl.params.pop("download_ranges")
    result = ydl.process_ie_result(dict(info), download=True)
    downloads = (result or {}).get("requested_downloads") or []
    path = downloads[0].get("filepath") if downloads else None
    if not path or not Path(path).exists():
        raise download_error("yt-dlp reported success but wrote no file", False)
    return Path(path)


def _check_file(path: Path) -> dict[str, Any]:
    """yt-dlp can exit 0 with an empty or truncated file; catch that here, as transient.

    An MP4 is read by the moov reader (:mod:`vaar.curation.mp4`: every sample must lie inside
    the file, so a cut download is caught); anything it is unsure of goes to ffprobe."""
    size = path.stat().st_size
    problem = sniff_problem(path)
    if problem:
        raise download_error(problem, True)
    mp4 = read_mp4_facts(path)  # an MP4 the moov reader is sure of needs no ffprobe process
    if mp4 is not None and mp4.first("video") is not None:
        return {"duration": mp4.duration, "has_audio": mp4.first("audio") is not None}
    try:
        facts = probe(path, untrusted=True)
    except VerifyError as exc:
        raise download_error(f"download produced an unreadable file ({size} bytes): {exc.reason}", False) from None
    if not facts.get("streams"):
        raise download_error(f"download produced a file with no media streams ({size} bytes)", False)
    has_audio = any(st.get("codec_type") == "audio" for st in facts["streams"])
    return {"duration": facts.get("format", {}).get("duration"), "has_audio": has_audio}


def _write_done(path: Path, media: SourceMedia) -> None:
    data = {
        "url": media.url,
        "info": media.info,
        "fetch": media.fetch,
        "sections": [
            {"file": s.path.name, "offset": s.offset, "start": s.start,
             "end": s.end if s.end != float("inf") else None, "has_audio": s.has_audio}
            for s in media.sections
        ],
    }
    atomic_write_text(path, json.dumps(data, sort_keys=True))


def _load_done(path: Path, url: str) -> SourceMedia | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("url") != url:
        return None
    sections = []
    for s in data["sections"]:
        p = path.parent / s["file"]
        if not p.exists():
            return None
        end = s["end"] if s["end"] is not None else float("inf")
        sections.append(Section(p, s["offset"], s["start"], end, bool(s.get("has_audio", True))))
    fetch = {**(data.get("fetch") or {}), "cached": True, "bytes": 0, "requests": 0}
    return SourceMedia(url, tuple(sections), data.get("info") or {}, fetch=fetch)
