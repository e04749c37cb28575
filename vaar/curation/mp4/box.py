"""Bounded reading of ISO base media (MP4) boxes: find the ``moov`` box, walk its children.

An MP4 is a sequence of boxes (ISO/IEC 14496-12 §4.2): a 32-bit big-endian size that counts the
8-byte header, a four-character type, then the payload. Size 1 means a 64-bit size follows the
type; size 0 means "to the end of the file" and is only allowed for the last top-level box.

Everything here treats the file as untrusted and refuses rather than guesses — a refusal is
:class:`BoxError` — so that a caller can fall back to a real demuxer:

* a box must be at least its header and must end inside its parent (and inside the file);
* ``moov`` is read into memory only up to :data:`MOOV_CAP` bytes, and at most
  :data:`MAX_TOP_LEVEL` top-level boxes are looked at, so a file costs a bounded number of reads;
* nesting is bounded by construction: the reader enters only the boxes on the paths it needs
  (``moov``/``trak``/``mdia``/``minf``/``stbl``/``stsd``/sample entry, ``dinf``, ``edts``), at
  most seven deep, and steps over every other box without looking inside;
* the file must start with ``ftyp`` (what every MP4 writer puts first); a fragmented file
  (``moof`` at the top level) is refused, its samples are not described by ``moov``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

MOOV_CAP = 8 << 20
"""Largest ``moov`` read (8 MiB); a clip of minutes has a ``moov`` of tens of kilobytes."""
MAX_TOP_LEVEL = 256
"""Top-level boxes looked at before giving up (an MP4 from ffmpeg has four or five)."""


class BoxError(Exception):
    """The file is not an MP4 this reader is sure about; the caller should ask a real demuxer."""


@dataclass(frozen=True)
class Box:
    """One box of a buffer: its type and payload ``buf[start:end]`` (the header excluded)."""

    type: bytes
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def _header(head: bytes, limit: int, *, last: bool) -> tuple[bytes, int, int]:
    """(type, header length, total size) from the first 8 or 16 bytes of a box.

    ``limit`` is the room left in the parent; size 0 ("to the end") is allowed only when the box
    may be the ``last`` of the file, and is returned as ``limit``."""
    if len(head) < 8:
        raise BoxError("box header cut short")
    size, kind = struct.unpack(">I4s", head[:8])
    hlen = 8
    if size == 1:
        if len(head) < 16:
            raise BoxError("64-bit box header cut short")
        (size,) = struct.unpack(">Q", head[8:16])
        hlen = 16
    elif size == 0:
        if not last:
            raise BoxError(f"size-0 box {kind!r} inside a box")
        size = limit
    if size < hlen or size > limit:
        raise BoxError(f"box {kind!r} of size {size} does not fit its parent ({limit} bytes)")
    return kind, hlen, size


def children(buf: bytes, start: int, end: int) -> Iterator[Box]:
    """The boxes that fill ``buf[start:end]`` exactly (a size-0 box is refused inside a box)."""
    pos = start
    while pos < end:
        kind, hlen, size = _header(buf[pos : pos + 16], end - pos, last=False)
        yield Box(kind, pos + hlen, pos + size)
        pos += size


def child(buf: bytes, parent: Box, kind: bytes) -> Box:
    """The only child of type ``kind``; missing or repeated is a refusal."""
    found = [b for b in children(buf, parent.start, parent.end) if b.type == kind]
    if len(found) != 1:
        raise BoxError(f"{len(found)} {kind!r} boxes where one is expected")
    return found[0]


def optional_child(buf: bytes, parent: Box, kind: bytes) -> Box | None:
    """The child of type ``kind`` if there is one; repeated is a refusal."""
    found = [b for b in children(buf, parent.start, parent.end) if b.type == kind]
    if len(found) > 1:
        raise BoxError(f"{len(found)} {kind!r} boxes where at most one is expected")
    return found[0] if found else None


def read_moov(f: BinaryIO) -> tuple[bytes, int]:
    """(the payload of the one top-level ``moov``, the file size), walking the top level."""
    file_size = os.fstat(f.fileno()).st_size
    pos, moov, count = 0, None, 0
    while pos < file_size:
        count += 1
        if count > MAX_TOP_LEVEL:
            raise BoxError("too many top-level boxes")
        f.seek(pos)
        kind, hlen, size = _header(f.read(16), file_size - pos, last=True)
        if count == 1 and kind != b"ftyp":
            raise BoxError("not an MP4: the file does not start with an ftyp box")
        if kind in (b"moof", b"mfra"):
            raise BoxError("fragmented MP4")
        if kind == b"moov":
            if moov is not None:
                raise BoxError("two moov boxes")
            if size - hlen > MOOV_CAP:
                raise BoxError("moov box larger than the cap")
            f.seek(pos + hlen)
            moov = f.read(size - hlen)
            if len(moov) != size - hlen:
                raise BoxError("moov box cut short")
        pos += size
    if moov is None:
        raise BoxError("no moov box")
    return moov, file_size
