"""The segment index of a fragmented MP4 (``sidx``, ISO/IEC 14496-12 §8.16.3), read from the head
of a file a DASH player fetches first: ``ftyp`` + ``moov`` (the init segment), then ``sidx``.

The index lists every fragment (``moof`` + ``mdat``) with its byte size and duration, so the
fragments covering a time span are found without reading the file. Untrusted input: every size
is checked against the file size, the counts are capped, and anything unusual (a hierarchical
index, a fragment before the index, a box past the bytes given) is a refusal (:class:`BoxError`)
so the caller falls back to a demuxer that reads the whole stream.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vaar.curation.mp4.box import MAX_TOP_LEVEL, BoxError, _header

MAX_SIDX_BYTES = 1 << 20
"""Largest index read: its reference count is 16-bit, so a real one is at most 786 KB."""
HEAD_BYTES = 64 << 10
"""Bytes fetched first: init segment and index of a YouTube format fit (a 60 min index is ~22 KB)."""


@dataclass(frozen=True)
class Fragment:
    """Bytes ``[offset, offset + size)`` of the file hold presentation time ``[start, end)`` s."""

    offset: int
    size: int
    start: float
    end: float


@dataclass(frozen=True)
class SegmentIndex:
    init_size: int  # bytes [0, init_size): ftyp + moov
    index_end: int  # bytes [init_size, index_end): the sidx (and anything before the first fragment)
    fragments: tuple[Fragment, ...]

    def covering(self, start: float, end: float) -> list[int]:
        """Indices of the fragments that overlap ``[start, end]``."""
        return [i for i, f in enumerate(self.fragments) if f.start < end and f.end > start]


def locate_index(head: bytes, file_size: int) -> tuple[int, int, int]:
    """(init size, sidx offset, sidx size) from the first bytes of a file; refuses anything else.

    The sidx may end past ``head`` (the caller fetches the rest); it must come before any fragment.
    """
    pos, count, init_size = 0, 0, 0
    while pos + 8 <= len(head):
        count += 1
        if count > MAX_TOP_LEVEL:
            raise BoxError("too many top-level boxes before the index")
        kind, _, size = _header(head[pos : pos + 16], file_size - pos, last=False)
        if count == 1 and kind != b"ftyp":
            raise BoxError("not an MP4: no ftyp box first")
        if kind == b"moov":
            init_size = pos + size
        elif kind == b"sidx":
            if not init_size:
                raise BoxError("sidx before moov")
            if size > MAX_SIDX_BYTES:
                raise BoxError(f"sidx of {size} bytes is larger than the cap")
            return init_size, pos, size
        elif kind in (b"moof", b"mdat", b"mfra"):
            raise BoxError("no sidx before the first fragment")
        pos += size
    raise BoxError("no sidx in the first bytes of the file")


def parse_sidx(box: bytes, sidx_offset: int, file_size: int, init_size: int) -> SegmentIndex:
    """The fragments a whole ``sidx`` box (header included) at ``sidx_offset`` describes."""
    version = box[8] if len(box) > 8 else 0
    if len(box) < (32 if version == 0 else 40):  # the fixed part; 64-bit times in version 1
        raise BoxError("sidx cut short")
    pos = 12 + 4  # header, version + flags, reference_ID
    (timescale,) = struct.unpack(">I", box[pos : pos + 4])
    pos += 4
    if timescale == 0:
        raise BoxError("sidx timescale 0")
    if version == 0:
        earliest, first = struct.unpack(">II", box[pos : pos + 8])
        pos += 8
    else:
        earliest, first = struct.unpack(">QQ", box[pos : pos + 16])
        pos += 16
    (count,) = struct.unpack(">H", box[pos + 2 : pos + 4])
    pos += 4
    if pos + 12 * count > len(box):
        raise BoxError(f"sidx lists {count} references that do not fit the box")
    offset = sidx_offset + len(box) + first
    t = earliest
    frags: list[Fragment] = []
    for i in range(count):
        word, duration, _sap = struct.unpack(">III", box[pos + 12 * i : pos + 12 * i + 12])
        if word >> 31:
            raise BoxError("hierarchical sidx (a reference to another index)")
        size = word & 0x7FFFFFFF
        if size == 0 or offset + size > file_size:
            raise BoxError(f"sidx reference {i} runs past the end of the file")
        frags.append(Fragment(offset, size, t / timescale, (t + duration) / timescale))
        offset += size
        t += duration
    if not frags:
        raise BoxError("empty sidx")
    return SegmentIndex(init_size, sidx_offset + len(box) + first, tuple(frags))
