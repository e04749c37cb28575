"""Index-driven fetching: only the fragments a clip needs, as a DASH player reads them.

A YouTube-style adaptive format is one fragmented file per stream (video-only, audio-only). A
player never reads such a file from its start to play minute 50: it reads the init segment
(``ftyp`` + ``moov``) and the index (``sidx``, :mod:`vaar.curation.mp4.sidx`; for WebM the
``Cues``, :mod:`vaar.curation.build.cues`) from the head of the file, then asks for the byte ranges of the fragments that cover the span. This module does
the same for every requested format of a source::

    head (64 KiB Range) ─► init segment + sidx ─► fragments covering each span (padded)
        ─► one Range request per run of adjacent fragments, each fragment fetched once
        ─► init + fragments per stream ─► ffmpeg -c copy -copyts ─► one Matroska file per section

The section file keeps the source's timestamps (the fragments' ``tfdt``), so the trim seeks to
the exact start and both streams stay aligned as they were served. A format without a usable
index (a progressive MP4, WebM with its cues at the end, a hierarchical or hostile index) raises :class:`NoIndex` and the
caller falls back to yt-dlp's section download, recording why.

Every request goes through the guarded ``YoutubeDL`` (:func:`vaar.curation.build.download.guarded_youtubedl`),
so the network policy holds for each range; ffmpeg only ever reads local files here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaar.core.errors import DownloadError, VerifyError
from vaar.core.textsafe import one_line
from vaar.curation.build.cues import locate_cues, parse_cues
from vaar.curation.build.inputguard import input_args
from vaar.curation.build.media import probe, run_tool
from vaar.curation.build.polite import GATE
from vaar.curation.mp4.box import BoxError
from vaar.curation.mp4.sidx import HEAD_BYTES, SegmentIndex, locate_index, parse_sidx

MARGIN_S = 0.05
"""Fetched around each span, so a cut on a fragment boundary has its keyframe and last sample."""
THROTTLE_RETRIES = 4
"""Times one range is asked again after a 429 (each after the whole process paused)."""
MAX_RANGE_BYTES = 1 << 30
"""Largest single range asked for (a hostile index cannot make the build read more at once)."""


class NoIndex(Exception):
    """The format cannot be fetched by its index; the reason goes into the ledger."""


@dataclass
class FetchStats:
    """What one source's fetch cost: requests made and body bytes received."""

    method: str = "index"
    reason: str | None = None
    requests: int = 0
    bytes: int = 0
    stream_bytes: dict[str, int] = field(default_factory=dict)
    resolved_again: int = 0  # format URLs that expired mid-fetch and were extracted anew


def download_error(msg: str, permanent: bool, retry_after: float | None = None) -> DownloadError:
    err = DownloadError(one_line(msg))  # a site's text: no escape sequences or controls, one line
    err.permanent = permanent  # type: ignore[attr-defined]
    err.retry_after = retry_after  # type: ignore[attr-defined]
    return err


@dataclass(frozen=True)
class _Stream:
    fmt: dict[str, Any]
    size: int
    head: bytes
    index: SegmentIndex

    @property
    def is_audio(self) -> bool:
        return str(self.fmt.get("vcodec") or "") == "none"


def indexable(fmt: dict[str, Any]) -> str | None:
    """Why ``fmt`` cannot be fetched by index (None: it may be; the head decides)."""
    if str(fmt.get("protocol") or "") not in ("http", "https"):
        return f"protocol {fmt.get('protocol')!r} is not a plain HTTP file"
    if str(fmt.get("ext") or "") not in ("mp4", "m4a", "m4v", "webm"):
        return f"{fmt.get('ext')} format: only fragmented MP4 (sidx) and WebM (Cues) indexes are read"
    return None


def _get(ydl: Any, fmt: dict[str, Any], start: int, end: int, stats: FetchStats) -> tuple[bytes, int]:
    """Bytes ``[start, end]`` of the format's URL and the file's total size."""
    from yt_dlp.networking import Request
    from yt_dlp.networking.exceptions import HTTPError, RequestError

    headers = {**(fmt.get("http_headers") or {}), "Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"}
    sleep = float(ydl.params.get("sleep_interval_requests") or 0)
    for attempt in range(THROTTLE_RETRIES + 1):
        if sleep:
            time.sleep(sleep)
        stats.requests += 1
        try:
            resp = ydl.urlopen(Request(fmt["url"], headers=headers))
            break
        except HTTPError as exc:
            wait = _retry_after(exc.response.headers.get("Retry-After"))
            exc.response.close()
            if exc.status == 429 and attempt < THROTTLE_RETRIES:
                GATE.pause(wait or 2.0**attempt)  # every download thread waits, then this range is asked again
                GATE.wait()
                continue
            raise download_error(f"HTTP Error {exc.status}: {exc.reason}", exc.status in (400, 401, 404, 410, 451),
                                 wait) from None
        except RequestError as exc:
            raise download_error(str(exc.msg or exc), False) from None
    with resp:
        want = end - start + 1
        body = resp.read(want + 1)
        total = _total(resp.headers.get("Content-Range"))
    stats.bytes += len(body)
    key = str(fmt.get("format_id"))
    stats.stream_bytes[key] = stats.stream_bytes.get(key, 0) + len(body)
    if resp.status != 206 or total is None:
        raise NoIndex("the server does not answer Range requests")
    if len(body) != min(want, total - start):
        raise download_error(f"connection closed after {len(body)} of {want} bytes (range {start}-{end})", False)
    return body, total


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header (delta-seconds only), capped at ten minutes."""
    try:
        return min(600.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None


def _total(content_range: str | None) -> int | None:
    if not content_range or "/" not in content_range:
        return None
    tail = content_range.rsplit("/", 1)[1].strip()
    return int(tail) if tail.isdigit() else None


def _open(ydl: Any, fmt: dict[str, Any], stats: FetchStats) -> _Stream:
    head, size = _get(ydl, fmt, 0, HEAD_BYTES - 1, stats)
    if fmt.get("ext") == "webm":
        return _open_webm(ydl, fmt, stats, head, size)
    try:
        init_size, sidx_at, sidx_size = locate_index(head, size)
        box = head[sidx_at : sidx_at + sidx_size]
        if len(box) < sidx_size:
            more, _ = _get(ydl, fmt, sidx_at + len(box), sidx_at + sidx_size - 1, stats)
            box += more
        index = parse_sidx(box, sidx_at, size, init_size)
    except BoxError as exc:
        raise NoIndex(f"format {fmt.get('format_id')}: {exc}") from None
    return _Stream(fmt, size, head[:init_size], index)


def _open_webm(ydl: Any, fmt: dict[str, Any], stats: FetchStats, head: bytes, size: int) -> _Stream:
    try:
        init_size, at, cues_size, seg_start, scale = locate_cues(head, size)
        element = head[at : at + cues_size]
        if len(element) < cues_size:
            more, _ = _get(ydl, fmt, at + len(element), at + cues_size - 1, stats)
            element += more
        index = parse_cues(element, init_size, seg_start, scale, size)
    except BoxError as exc:
        raise NoIndex(f"format {fmt.get('format_id')}: {exc}") from None
    return _Stream(fmt, size, head[:init_size], index)


def _sections(streams: list[_Stream], spans: Sequence[tuple[float, float]]) -> list[list[set[int]]]:
    """Per section, per stream, the fragments it needs; spans sharing a fragment share a section."""
    out: list[list[set[int]]] = []
    for s, e in sorted(spans):
        need = [set(st.index.covering(s - MARGIN_S, e + MARGIN_S)) for st in streams]
        if any(not n for n in need):
            raise download_error(f"short clip: the span {s:g}-{e:g} s runs past the source's end", True)
        if out and any(n & (prev | {max(prev) + 1}) for n, prev in zip(need, out[-1], strict=True)):
            for n, prev in zip(need, out[-1], strict=True):
                prev |= n
        else:
            out.append(need)
    return out


def _runs(indices: set[int]) -> list[tuple[int, int]]:
    """Runs of consecutive fragment indices, as (first, last)."""
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def fetch_by_index(
    ydl: Any, formats: list[dict[str, Any]], spans: Sequence[tuple[float, float]], folder: Path,
    stats: FetchStats, resolve: Callable[[], list[dict[str, Any]]],
) -> list[tuple[Path, float, float, float, bool]] | None:
    """:func:`fetch_indexed`, or None when a format has no usable index (``stats.reason`` says
    why). A format URL answered 403 mid-fetch (a signed URL that expired) is re-resolved once
    with ``resolve`` (the formats extracted anew)."""
    for again in (False, True):
        try:
            got = fetch_indexed(ydl, formats, spans, folder, stats)
            stats.method, stats.reason = "index", None
            return got
        except NoIndex as exc:
            stats.reason = str(exc)
            return None
        except DownloadError as exc:
            if again or "HTTP Error 403" not in exc.reason:
                raise
            stats.resolved_again += 1
            formats = resolve()
    return None


def fetch_indexed(
    ydl: Any, formats: Sequence[dict[str, Any]], spans: Sequence[tuple[float, float]], folder: Path,
    stats: FetchStats,
) -> list[tuple[Path, float, float, float, bool]]:
    """Fetch the fragments of ``spans`` of every format; (file, offset, start, end, has_audio) per
    section. Raises :class:`NoIndex` (fall back) or :class:`DownloadError`."""
    for fmt in formats:
        why = indexable(fmt)
        if why:
            raise NoIndex(why)
    streams = [_open(ydl, fmt, stats) for fmt in formats]
    out = []
    for k, need in enumerate(_sections(streams, spans)):
        parts: list[Path] = []
        for st, idx in zip(streams, need, strict=True):
            ext = "webm" if st.fmt.get("ext") == "webm" else "m4a" if st.is_audio else "mp4"
            part = folder / f"part{k}-{st.fmt.get('format_id')}.{ext}"
            with part.open("wb") as fh:
                fh.write(st.head)
                for a, b in _runs(idx):
                    first, last = st.index.fragments[a], st.index.fragments[b]
                    stop = last.offset + last.size - 1
                    if stop - first.offset >= MAX_RANGE_BYTES:
                        raise download_error("a span's fragments exceed the size cap", True)
                    body, _ = _get(ydl, st.fmt, first.offset, stop, stats)
                    fh.write(body)
            parts.append(part)
        # the picture's span: an audio format that starts a little later (as YouTube's may) leaves
        # the first samples of a clip at 0 silent, for the verify stage to judge, not a missing section
        main = next((i for i, st in enumerate(streams) if not st.is_audio), 0)
        start, end = streams[main].index.fragments[min(need[main])].start, streams[main].index.fragments[max(need[main])].end
        path = _merge(parts, folder / f"section{k}-{start:.3f}-{end:.3f}.mkv")
        offset, has_audio = _facts(path)
        out.append((path, offset, start, end, has_audio))
    return out


def _merge(parts: list[Path], dst: Path) -> Path:
    """The streams of ``parts`` in one Matroska file by stream copy, timestamps kept as served."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for p in parts:
        cmd += [*input_args(), "-i", str(p)]
    for i in range(len(parts)):
        cmd += ["-map", f"{i}:v?", "-map", f"{i}:a?"]  # a muxed format brings both
    tmp = dst.with_name(dst.name + ".tmp")
    cmd += ["-c", "copy", "-copyts", "-map_metadata", "-1", "-f", "matroska", str(tmp)]
    proc = run_tool(cmd)
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise download_error(f"ffmpeg could not merge the fetched fragments: {msg[-1] if msg else ''}", False)
    tmp.replace(dst)
    for p in parts:
        p.unlink(missing_ok=True)
    return dst


def _facts(path: Path) -> tuple[float, bool]:
    """(the section file's start time, whether it has audio)."""
    try:
        facts = probe(path, untrusted=True)
    except VerifyError as exc:
        raise download_error(f"fetched fragments are unreadable: {exc.reason}", False) from None
    streams = facts.get("streams") or []
    if not any(st.get("codec_type") == "video" for st in streams):
        raise download_error("fetched fragments hold no video stream", False)
    has_audio = any(st.get("codec_type") == "audio" for st in streams)
    return float(facts.get("format", {}).get("start_time") or 0.0), has_audio
