"""The segment index reader (vaar.curation.mp4.sidx): a real fragmented MP4, and hostile indexes
that must be refused (BoxError, so the build falls back) rather than followed."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.fixtures.ytsite.media import make_youtube_source
from vaar.curation.mp4.box import BoxError
from vaar.curation.mp4.sidx import locate_index, parse_sidx


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def sidx(refs: list[tuple[int, int]], *, first: int = 0, timescale: int = 1000, version: int = 0,
         count: int | None = None, hierarchical: bool = False) -> bytes:
    head = bytes([version, 0, 0, 0]) + struct.pack(">II", 1, timescale)
    head += struct.pack(">II", 0, first) if version == 0 else struct.pack(">QQ", 0, first)
    head += struct.pack(">HH", 0, len(refs) if count is None else count)
    body = b"".join(struct.pack(">III", (1 << 31 if hierarchical else 0) | size, dur, 0x90000000)
                    for size, dur in refs)
    return box(b"sidx", head + body)


INIT = box(b"ftyp", b"isom\0\0\2\0") + box(b"moov", b"\0" * 40)


def test_a_generated_fragmented_mp4_is_indexed_fragment_by_fragment(tmp_path: Path) -> None:
    video = make_youtube_source(tmp_path, 60.0, heights=(72,))[0].path
    data = video.read_bytes()
    init, at, size = locate_index(data[: 64 << 10], len(data))
    index = parse_sidx(data[at : at + size], at, len(data), init)
    assert index.fragments[0].offset == at + size and data[index.fragments[0].offset + 4 :][:4] == b"moof"
    end = index.fragments[-1].offset + index.fragments[-1].size
    assert data[end + 4 : end + 8] == b"mfra"  # only the random-access box follows the last fragment
    assert abs(index.fragments[-1].end - 60.0) < 0.1 and all(f.end - f.start <= 2.01 for f in index.fragments)
    for a, b in zip(index.fragments, index.fragments[1:], strict=False):
        assert a.offset + a.size == b.offset and a.end == b.start
    assert index.covering(30.5, 31.0) == [15]


def test_sidx_values_are_placed_in_the_file() -> None:
    data = INIT + sidx([(100, 2000), (50, 1000)], first=8, version=1)
    init, at, size = locate_index(data, len(data) + 158)
    index = parse_sidx(data[at : at + size], at, len(data) + 158, init)
    assert init == len(INIT) and index.fragments[0].offset == len(data) + 8
    assert [(f.start, f.end) for f in index.fragments] == [(0.0, 2.0), (2.0, 3.0)]


@pytest.mark.parametrize(
    ("data", "file_size", "match"),
    [
        (box(b"moov", b"") + sidx([(10, 1)]), 10_000, "ftyp"),
        (box(b"ftyp", b"isom") + sidx([(10, 1)]), 10_000, "before moov"),
        (INIT + box(b"moof", b"\0" * 8) + sidx([(10, 1)]), 10_000, "before the first fragment"),
        (INIT + box(b"free", b"\0" * 8), 10_000, "no sidx"),
        (INIT + sidx([(5000, 1), (5000, 1)]), 10_000, "past the end"),
        (INIT + sidx([(10, 1)], hierarchical=True), 10_000, "hierarchical"),
        (INIT + sidx([(10, 1)], count=65535), 10_000, "do not fit"),
        (INIT + struct.pack(">I4s", 2 << 20, b"sidx"), 10 << 20, "larger than the cap"),
        (INIT + sidx([(10, 1)], count=3), 10_000, "do not fit"),  # claims more references than it holds
        (INIT + sidx([(10, 1)], timescale=0), 10_000, "timescale"),
        (INIT + sidx([(0, 1)]), 10_000, "past the end"),
        (INIT + struct.pack(">I4s", 0xFFFFFFF0, b"sidx"), 10_000, "does not fit"),
        (INIT + sidx([], count=0), 10_000, "empty"),
        (INIT + struct.pack(">I4sB3x", 36, b"sidx", 1) + b"\0" * 24, 10_000, "cut short"),  # v1 needs 40 bytes
    ],
)
def test_hostile_indexes_are_refused(data: bytes, file_size: int, match: str) -> None:
    with pytest.raises(BoxError, match=match):
        init, at, size = locate_index(data, file_size)
        parse_sidx(data[at : at + size], at, file_size, init)
