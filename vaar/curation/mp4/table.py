"""The sample table of an MP4 track (``stbl``): how many samples, their timing, where they lie.

ISO/IEC 14496-12 §8.6–8.7: ``stts`` runs of (count, duration) give decode times, ``ctts`` runs
of (count, offset) the composition offsets (presentation = decode + offset), ``stsz`` the sample
sizes, ``stsc`` runs of (first chunk, samples per chunk) and ``stco``/``co64`` the chunk offsets.

Untrusted input, bounded work: every table's entry count is checked against its box size before
anything is read, a track has at most :data:`MAX_SAMPLES` samples, the tables must agree on the
sample count, and every sample must lie inside the file (a cut file would make a demuxer read
fewer packets than the table promises). A refusal is :class:`~vaar.curation.mp4.box.BoxError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from vaar.curation.mp4.box import Box, BoxError, child, optional_child

MAX_SAMPLES = 1 << 21
"""Samples a track may have (over 9 hours of 60 fps video); more is refused."""


def _table(buf: bytes, box: Box, head: int, entry: int) -> tuple[int, int]:
    """(entry count, offset of the first entry) of a full box whose ``head`` bytes after the
    version and flags end with a 32-bit entry count, entries of ``entry`` bytes each."""
    if box.size < 4 + head:
        raise BoxError(f"{box.type!r} box too small")
    p = box.start + 4 + head
    (n,) = struct.unpack_from(">I", buf, p - 4)
    if n * entry > box.end - p:
        raise BoxError(f"{box.type!r} promises {n} entries in {box.size} bytes")
    return n, p


def _runs(buf: bytes, p: int, n: int, fmt: str) -> Iterator[tuple[int, int]]:
    for i in range(n):
        yield struct.unpack_from(fmt, buf, p + 8 * i)


def _each(runs: Iterator[tuple[int, int]]) -> Iterator[int]:
    for count, value in runs:
        for _ in range(count):
            yield value


@dataclass(frozen=True)
class SampleTable:
    """A track's samples: their count and timing (the tables are read where they lie in the
    ``moov`` buffer, run by run, never expanded into per-sample lists)."""

    buf: bytes = field(repr=False)
    count: int  # samples
    duration: int  # sum of the stts durations (timescale units)
    first_delta: int  # the first sample's duration
    stts: tuple[int, int]  # (runs, offset of the first)
    ctts: tuple[int, int] | None
    first_is_sync: bool  # the first sample is a sync sample (a keyframe)

    @classmethod
    def read(cls, buf: bytes, stbl: Box, file_size: int, max_samples: int = MAX_SAMPLES) -> SampleTable:
        n, p = _table(buf, child(buf, stbl, b"stts"), 4, 8)
        count = duration = 0
        first_delta = None
        for c, delta in _runs(buf, p, n, ">II"):
            count, duration = count + c, duration + c * delta
            if first_delta is None and c:
                first_delta = delta
            if count > min(max_samples, MAX_SAMPLES):  # before the per-sample walks below
                raise BoxError("too many samples")
        if not count or not duration or not first_delta:
            raise BoxError("a track without samples or without a duration")
        ctts = _ctts(buf, stbl, count)
        sizes = _Sizes.read(buf, child(buf, stbl, b"stsz"), count)
        _check_chunks(buf, stbl, sizes, file_size)
        return cls(buf, count, duration, first_delta, (n, p), ctts, _first_is_sync(buf, stbl))

    def presentation_bounds(self) -> tuple[int, int, int]:
        """(first sample's, earliest, latest) presentation time, in timescale units."""
        if self.ctts is None:
            return 0, 0, self.duration - self._last_delta()
        dts, first, lo, hi = 0, None, 0, 0
        deltas = _each(_runs(self.buf, self.stts[1], self.stts[0], ">II"))
        offsets = _each(_runs(self.buf, self.ctts[1], self.ctts[0], ">Ii"))
        for delta, offset in zip(deltas, offsets, strict=True):
            pts = dts + offset
            if first is None:
                first = lo = hi = pts
            lo, hi = min(lo, pts), max(hi, pts)
            dts += delta
        if first is None:
            raise BoxError("no samples")
        return first, lo, hi

    def _last_delta(self) -> int:
        last = 0
        for count, delta in _runs(self.buf, self.stts[1], self.stts[0], ">II"):
            last = delta if count else last
        return last


def _first_is_sync(buf: bytes, stbl: Box) -> bool:
    stss = optional_child(buf, stbl, b"stss")  # none: every sample is a sync sample
    if stss is None:
        return True
    n, p = _table(buf, stss, 4, 4)
    return n > 0 and struct.unpack_from(">I", buf, p)[0] == 1


def _ctts(buf: bytes, stbl: Box, count: int) -> tuple[int, int] | None:
    box = optional_child(buf, stbl, b"ctts")
    if box is None:
        return None
    n, p = _table(buf, box, 4, 8)
    total = 0
    for c, offset in _runs(buf, p, n, ">Ii"):
        if offset < 0:
            raise BoxError("negative composition offset")
        total += c
    if total != count:
        raise BoxError("ctts and stts disagree on the sample count")
    return n, p


@dataclass(frozen=True)
class _Sizes:
    buf: bytes
    count: int
    constant: int  # 0: one size a sample, from the table at ``p``
    p: int

    @classmethod
    def read(cls, buf: bytes, box: Box, count: int) -> _Sizes:
        if box.size < 12:
            raise BoxError("stsz box too small")
        constant, n = struct.unpack_from(">II", buf, box.start + 4)
        if n != count:
            raise BoxError("stsz and stts disagree on the sample count")
        if not constant and 4 * n > box.end - (box.start + 12):
            raise BoxError(f"stsz promises {n} sizes in {box.size} bytes")
        return cls(buf, n, constant, box.start + 12)

    def total(self, first: int, n: int) -> int:
        """Bytes of samples ``first .. first + n - 1``; a zero-size sample is refused."""
        if self.constant:
            return self.constant * n
        total = 0
        for at in range(first, first + n, 1024):  # a block at a time: memory stays small
            sizes = struct.unpack_from(f">{min(1024, first + n - at)}I", self.buf, self.p + 4 * at)
            if 0 in sizes:
                raise BoxError("a sample of size 0")
            total += sum(sizes)
        return total


def _chunk_offsets(buf: bytes, stbl: Box) -> tuple[int, int, str]:
    """(chunk count, offset of the first entry, struct format of an entry)."""
    stco, co64 = optional_child(buf, stbl, b"stco"), optional_child(buf, stbl, b"co64")
    if (stco is None) == (co64 is None):
        raise BoxError("a track needs exactly one of stco and co64")
    if stco is not None:
        return (*_table(buf, stco, 4, 4), ">I")
    assert co64 is not None
    return (*_table(buf, co64, 4, 8), ">Q")


def _check_chunks(buf: bytes, stbl: Box, sizes: _Sizes, file_size: int) -> None:
    """Every sample belongs to exactly one chunk and every chunk lies inside the file."""
    chunks, cp, fmt = _chunk_offsets(buf, stbl)
    step = struct.calcsize(fmt)
    n, p = _table(buf, child(buf, stbl, b"stsc"), 4, 12)
    sample = 0
    for i in range(n):
        first, per_chunk, desc = struct.unpack_from(">III", buf, p + 12 * i)
        end = struct.unpack_from(">I", buf, p + 12 * (i + 1))[0] if i + 1 < n else chunks + 1
        if (i == 0 and first != 1) or not first < end <= chunks + 1 or per_chunk == 0 or desc != 1:
            raise BoxError("stsc does not describe the chunks")
        for chunk in range(first - 1, end - 1):
            if sample + per_chunk > sizes.count:
                raise BoxError("stsc describes more samples than stsz")
            (offset,) = struct.unpack_from(fmt, buf, cp + step * chunk)
            if offset + sizes.total(sample, per_chunk) > file_size:
                raise BoxError("a sample lies past the end of the file")
            sample += per_chunk
    if sample != sizes.count or n == 0:
        raise BoxError("stsc describes fewer samples than stsz")
