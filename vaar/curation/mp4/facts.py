"""The stream facts ffprobe reports for an MP4, read from its ``moov`` box without a process.

:mod:`vaar.curation.build.verify` needs, for the MP4 that vaar's own ffmpeg just wrote, what
``ffprobe -count_packets`` would say: per track the codec, frame count and average frame rate,
picture size, audio rate and channels, the start time; and the container's duration. Starting
ffprobe costs about 70 ms of CPU, a seventh of a clip's budget; reading the ``moov`` box
(ISO/IEC 14496-12: ``mvhd``, ``trak``/``mdia``/``mdhd``/``hdlr``/``stbl``, ``edts``/``elst``)
costs a millisecond.

The facts are derived as ffmpeg's MP4 demuxer derives them, for the shapes ffmpeg writes (the
tests compare them with ffprobe's on ffmpeg's own output, stream-copied and re-encoded):

* frame count = the samples of the track (all of them inside the file: a cut file is refused);
* average frame rate = timescale × samples / total sample duration (``stts``), reduced;
* start time = the first sample's presentation time after the edit list: an optional empty
  edit (the track starts late by its length), then one edit at rate 1 whose media time is the
  video's first presentation time (the B-frame delay) or lies within the first audio frame
  (the AAC encoder's priming samples, which a decoder skips);
* container duration = ``mvhd`` duration, in microseconds as ffprobe prints it.

Anything else — another edit-list shape, a sample before the edit or after its end, several
tracks of a kind, an unknown codec, HE-AAC, a fragmented or cut file, a box that does not fit
its parent — is not guessed at: :func:`read_mp4_facts` returns ``None`` and the caller asks
ffprobe. The reader never raises on a bad file and reads a bounded amount of it
(:mod:`vaar.curation.mp4.box`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

from vaar.curation.mp4.box import Box, BoxError, child, children, optional_child, read_moov
from vaar.curation.mp4.sample_entry import aac_entry, sample_entry, video_entry
from vaar.curation.mp4.table import SampleTable

INT_MAX = (1 << 31) - 1
MAX_TRACKS = 2
"""Tracks a file may have (one video, one audio: what vaar publishes); counted before any is read,
so a ``moov`` of thousands of tracks costs one pass over its box headers, not one table walk each."""
MAX_FILE_SAMPLES = 1 << 18
"""Samples all tracks of a file may have together (over an hour of 60 fps video with 48 kHz audio;
a published clip is at most two minutes): the Python table walk stays under a second of CPU."""


@dataclass(frozen=True)
class TrackFacts:
    """One track as ffprobe reports it (``start_time`` in seconds, as ffprobe prints it)."""

    kind: Literal["video", "audio"]
    codec: str
    timescale: int
    num_samples: int
    sample_duration: int  # sum of the stts deltas, in timescale units
    start_time: float
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0

    @property
    def frame_rate(self) -> tuple[int, int]:
        """ffprobe's ``avg_frame_rate`` as (num, den)."""
        r = Fraction(self.timescale * self.num_samples, self.sample_duration)
        return r.numerator, r.denominator


@dataclass(frozen=True)
class Mp4Facts:
    duration: float  # the container's, as ffprobe prints it
    tracks: tuple[TrackFacts, ...]

    def first(self, kind: Literal["video", "audio"]) -> TrackFacts | None:
        return next((t for t in self.tracks if t.kind == kind), None)


def read_mp4_facts(path: Path) -> Mp4Facts | None:
    """The facts of the MP4 at ``path``, or ``None`` where this reader is not sure of them."""
    try:
        with open(path, "rb") as f:
            moov, file_size = read_moov(f)
        return _facts(moov, file_size)
    except (BoxError, OSError, struct.error, ValueError, IndexError, ZeroDivisionError, OverflowError):
        return None


# ---------------------------------------------------------------------------------------------
# boxes → facts


def _full(buf: bytes, box: Box, need: int) -> tuple[int, int]:
    """(version, payload start after the version and flags) of a full box of ``need`` bytes."""
    if box.size < 4 + need:
        raise BoxError(f"{box.type!r} box too small")
    return buf[box.start], box.start + 4


def _facts(moov: bytes, file_size: int) -> Mp4Facts:
    top = Box(b"moov", 0, len(moov))
    if optional_child(moov, top, b"mvex") is not None:
        raise BoxError("fragmented MP4 (mvex)")
    movie_ts, movie_dur = _mvhd(moov, child(moov, top, b"mvhd"))
    traks: list[Box] = []
    for b in children(moov, 0, len(moov)):
        if b.type == b"trak":
            traks.append(b)
            if len(traks) > MAX_TRACKS:  # before any track's tables are read
                raise BoxError(f"more than {MAX_TRACKS} tracks")
    budget = MAX_FILE_SAMPLES
    tracks_: list[TrackFacts] = []
    for t in traks:
        tracks_.append(_track(moov, t, movie_ts, file_size, budget))
        budget -= tracks_[-1].num_samples
    tracks = tuple(tracks_)
    for kind in ("video", "audio"):
        if sum(t.kind == kind for t in tracks) > 1:
            raise BoxError(f"more than one {kind} track")
    duration = _seconds(_rescale(movie_dur, 1_000_000, movie_ts), 1_000_000)  # microseconds
    return Mp4Facts(duration, tracks)


def _mvhd(buf: bytes, box: Box) -> tuple[int, int]:
    """(movie timescale, movie duration)."""
    version = buf[box.start] if box.size else -1
    if version not in (0, 1):
        raise BoxError("mvhd version")
    fmt = ">QQIQ" if version == 1 else ">IIII"  # creation, modification, timescale, duration
    _, p = _full(buf, box, struct.calcsize(fmt))
    _, _, ts, dur = struct.unpack_from(fmt, buf, p)
    if ts <= 0 or dur <= 0:
        raise BoxError("mvhd without a timescale or a duration")
    return ts, dur


def _mdhd_timescale(buf: bytes, box: Box) -> int:
    version, p = _full(buf, box, 20)
    if version not in (0, 1) or (version == 1 and box.size < 36):
        raise BoxError("mdhd version")
    (ts,) = struct.unpack_from(">I", buf, p + (16 if version == 1 else 8))
    if ts <= 0:
        raise BoxError("mdhd without a timescale")
    return int(ts)


def _track(buf: bytes, trak: Box, movie_ts: int, file_size: int, max_samples: int) -> TrackFacts:
    mdia = child(buf, trak, b"mdia")
    _, p = _full(buf, child(buf, mdia, b"hdlr"), 8)
    handler = buf[p + 4 : p + 8]
    if handler not in (b"vide", b"soun"):
        raise BoxError(f"a track of handler {handler!r}")
    ts = _mdhd_timescale(buf, child(buf, mdia, b"mdhd"))
    minf = child(buf, mdia, b"minf")
    _self_contained(buf, child(buf, minf, b"dinf"))
    stbl = child(buf, minf, b"stbl")
    table = SampleTable.read(buf, stbl, file_size, max_samples)
    edits = _edits(buf, trak)
    entry = sample_entry(buf, child(buf, stbl, b"stsd"))
    if handler == b"vide":
        codec, width, height = video_entry(buf, entry)
        start = _seconds(_video_start(table, edits, ts, movie_ts), ts)
        video = TrackFacts("video", codec, ts, table.count, table.duration, start, width, height)
        if max(video.frame_rate) > INT_MAX:  # ffmpeg would approximate the rate
            raise BoxError("a frame rate beyond 32 bits")
        return video
    rate, channels = aac_entry(buf, entry)
    if rate != ts:
        raise BoxError("audio timescale is not its sample rate")
    start = _seconds(_audio_start(table, edits, ts, movie_ts), ts)
    return TrackFacts("audio", "aac", ts, table.count, table.duration, start, 0, 0, rate, channels)


def _self_contained(buf: bytes, dinf: Box) -> None:
    """The samples are in this file: one data reference, a ``url `` entry flagged 1."""
    dref = child(buf, dinf, b"dref")
    _, p = _full(buf, dref, 4)
    entries = list(children(buf, p + 4, dref.end))
    (n,) = struct.unpack_from(">I", buf, p)
    if n != 1 or len(entries) != 1 or entries[0].type != b"url " or entries[0].size != 4:
        raise BoxError("samples in another file")
    if buf[entries[0].start : entries[0].start + 4] != b"\0\0\0\1":
        raise BoxError("samples in another file")


@dataclass(frozen=True)
class _Edit:
    """The edit lists this reader follows: an optional empty edit, then one at rate 1."""

    empty: int  # movie timescale units before the track starts
    media_time: int  # media timescale units: where in the track presentation starts
    duration: int  # movie timescale units of the edit


def _edits(buf: bytes, trak: Box) -> _Edit | None:
    edts = optional_child(buf, trak, b"edts")
    if edts is None:
        return None
    elst = child(buf, edts, b"elst")
    version, p = _full(buf, elst, 4)
    (n,) = struct.unpack_from(">I", buf, p)
    fmt = {0: ">IiHH", 1: ">QqHH"}.get(version)
    if fmt is None or n not in (1, 2) or p + 4 + n * struct.calcsize(fmt) > elst.end:
        raise BoxError("an edit list this reader does not follow")
    entries = [struct.unpack_from(fmt, buf, p + 4 + i * struct.calcsize(fmt)) for i in range(n)]
    empty = entries[0][0] if n == 2 and entries[0][1] == -1 else 0
    duration, media_time, rate, fraction = entries[-1]
    if (n == 2 and not empty) or media_time < 0 or (rate, fraction) != (1, 0):
        raise BoxError("an edit list this reader does not follow")
    return _Edit(empty, media_time, duration)


def _rescale(value: int, to: int, frm: int) -> int:
    """``value × to / frm`` rounded to the nearest, halves away from zero (values ≥ 0)."""
    return (value * to + frm // 2) // frm


def _seconds(value: int, timescale: int) -> float:
    """``value`` timescale units in seconds, as ffprobe prints them (``%f`` of a double)."""
    return float(f"{value * (1.0 / timescale):f}")


def _video_start(table: SampleTable, edit: _Edit | None, ts: int, movie_ts: int) -> int:
    """The first frame's presentation time: the edit list removes the B-frame delay."""
    first, lo, hi = table.presentation_bounds()
    if first != lo or not table.first_is_sync:
        raise BoxError("the first frame is not a keyframe shown first")
    if edit is None:
        return first
    if edit.media_time != lo or hi >= lo + _rescale(edit.duration, ts, movie_ts):
        raise BoxError("frames outside the edit")
    return _rescale(edit.empty, ts, movie_ts)


def _audio_start(table: SampleTable, edit: _Edit | None, ts: int, movie_ts: int) -> int:
    """The audio's start: an edit into (or to the end of) the first frame only skips the
    encoder's priming samples."""
    if table.ctts is not None:
        raise BoxError("audio with composition offsets")
    if edit is None:
        return 0
    if not 0 <= edit.media_time <= table.first_delta:
        raise BoxError("an audio edit past the first frame")
    return _rescale(edit.empty, ts, movie_ts)
