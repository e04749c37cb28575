"""The index of a WebM file (Matroska ``Cues``), read from the head of the file as a DASH player
does: EBML header, then the ``Segment`` with ``Info``, ``Tracks`` and ``Cues`` before the first
``Cluster`` (YouTube's WebM formats, and ffmpeg's with ``-cues_to_front``).

Each cue point names a time and the position of the cluster that starts there, so the bytes of
a span are the clusters from the cue at or before its start to the cue after its end. Untrusted
input: element sizes are checked against their parent and the file, the walk is bounded, and
anything unusual (cues after the clusters, unknown-size elements other than the segment,
positions out of order or outside the file) is a refusal (:class:`BoxError`) so the caller falls
back to a demuxer that reads the whole stream.
"""

from __future__ import annotations

from vaar.curation.mp4.box import BoxError
from vaar.curation.mp4.sidx import Fragment, SegmentIndex

EBML, SEGMENT, INFO, TIMESCALE, CUES, CLUSTER = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x2AD7B1, 0x1C53BB6B, 0x1F43B675
CUE_POINT, CUE_TIME, CUE_POSITIONS, CUE_CLUSTER = 0xBB, 0xB3, 0xB7, 0xF1
MAX_ELEMENTS = 256
"""Top-level children of the segment looked at before the first cluster."""
MAX_CUES_BYTES = 4 << 20
"""Largest ``Cues`` read (an hour at one cue a second is about 40 KB)."""


def _vint(buf: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int, bool]:
    """(value, length, all ones) of the EBML variable-length integer at ``pos``."""
    if pos >= len(buf):
        raise BoxError("EBML element cut short")
    first = buf[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > len(buf):
        raise BoxError("bad EBML variable-length integer")
    value = first if keep_marker else first & (0xFF >> length)
    for b in buf[pos + 1 : pos + length]:
        value = (value << 8) | b
    ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, ones


def _element(buf: bytes, pos: int) -> tuple[int, int, int | None]:
    """(id, header length, payload size or None for "unknown") of the element at ``pos``."""
    eid, n1, _ = _vint(buf, pos, keep_marker=True)
    size, n2, unknown = _vint(buf, pos + n1, keep_marker=False)
    return eid, n1 + n2, None if unknown else size


def _uint(payload: bytes) -> int:
    if len(payload) > 8:
        raise BoxError("EBML integer longer than 8 bytes")
    return int.from_bytes(payload, "big")


def _children(buf: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(id, payload start, payload end) of the elements that fill ``buf[start:end]``."""
    out, pos = [], start
    while pos < end:
        eid, hlen, size = _element(buf, pos)
        if size is None or pos + hlen + size > end:
            raise BoxError("EBML element does not fit its parent")
        out.append((eid, pos + hlen, pos + hlen + size))
        pos += hlen + size
    return out


def _timescale(head: bytes, start: int, end: int) -> int:
    """Nanoseconds per timestamp unit, from ``Info`` (default 1 ms)."""
    for cid, a, b in _children(head, start, end):
        if cid == TIMESCALE:
            return _uint(head[a:b]) or 1_000_000
    return 1_000_000


def locate_cues(head: bytes, file_size: int) -> tuple[int, int, int, int, int]:
    """(init size, cues offset, cues size, segment data start, timestamp scale in ns)."""
    eid, hlen, size = _element(head, 0)
    if eid != EBML or size is None:
        raise BoxError("not a WebM file: no EBML header")
    pos = hlen + size
    eid, hlen, seg_size = _element(head, pos)
    if eid != SEGMENT:
        raise BoxError("no Segment after the EBML header")
    seg_start = pos + hlen
    seg_end = file_size if seg_size is None else min(file_size, seg_start + seg_size)
    pos, scale, cues = seg_start, 1_000_000, None
    for _ in range(MAX_ELEMENTS):
        if pos + 12 > len(head):
            break
        eid, hlen, size = _element(head, pos)
        if size is None or pos + hlen + size > seg_end:
            raise BoxError("a segment child does not fit the segment")
        if eid == CLUSTER:
            if cues is None:
                raise BoxError("no Cues before the first Cluster")
            return pos, cues[0], cues[1], seg_start, scale
        if eid == INFO and pos + hlen + size <= len(head):
            scale = _timescale(head, pos + hlen, pos + hlen + size)
        elif eid == CUES:
            if size > MAX_CUES_BYTES:
                raise BoxError("Cues larger than the cap")
            cues = (pos, hlen + size)
        pos += hlen + size
    raise BoxError("no Cluster in the first bytes of the file")


def _cue_point(element: bytes, a: int, b: int, seg_start: int, scale: int) -> tuple[float, int]:
    """(time in seconds, absolute cluster position) of one ``CuePoint``."""
    time, where = None, None
    for cid, ca, cb in _children(element, a, b):
        if cid == CUE_TIME:
            time = _uint(element[ca:cb]) * scale / 1e9
        elif cid == CUE_POSITIONS and where is None:
            for pid, pa, pb in _children(element, ca, cb):
                if pid == CUE_CLUSTER:
                    where = seg_start + _uint(element[pa:pb])
    if time is None or where is None:
        raise BoxError("a cue point without a time or a cluster position")
    return time, where


def parse_cues(element: bytes, init_size: int, seg_start: int, scale: int, file_size: int) -> SegmentIndex:
    """The clusters a whole ``Cues`` element (header included) points at, as fragments."""
    _, hlen, size = _element(element, 0)
    if size is None or hlen + size != len(element):
        raise BoxError("Cues cut short")
    points: list[tuple[float, int]] = []
    for eid, a, b in _children(element, hlen, len(element)):
        if eid != CUE_POINT:
            continue
        time, where = _cue_point(element, a, b, seg_start, scale)
        if points and where == points[-1][1]:
            continue  # one cluster, several cue points (one per track)
        if not init_size <= where < file_size or (points and (where < points[-1][1] or time < points[-1][0])):
            raise BoxError("cue positions out of order or outside the file")
        points.append((time, where))
    if not points:
        raise BoxError("empty Cues")
    ends = [p[1] for p in points[1:]] + [file_size]
    times = [p[0] for p in points[1:]] + [float("inf")]
    frags = tuple(Fragment(w, e - w, t, nt) for (t, w), e, nt in zip(points, ends, times, strict=True))
    return SegmentIndex(init_size, init_size, frags)
