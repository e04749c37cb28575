"""The WebM index reader (vaar.curation.build.cues): a generated WebM, and hostile Cues refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.ytsite.media import make_youtube_source
from vaar.curation.build.cues import (
    CLUSTER,
    CUE_CLUSTER,
    CUE_POINT,
    CUE_POSITIONS,
    CUE_TIME,
    CUES,
    EBML,
    SEGMENT,
    locate_cues,
    parse_cues,
)
from vaar.curation.mp4.box import BoxError


def el(eid: int, payload: bytes, *, unknown: bool = False) -> bytes:
    ident = eid.to_bytes((eid.bit_length() + 7) // 8, "big")
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown else (0x10000000 | len(payload)).to_bytes(4, "big")
    return ident + size + payload


def cue(time: int, pos: int) -> bytes:
    return el(CUE_POINT, el(CUE_TIME, time.to_bytes(4, "big"))
              + el(CUE_POSITIONS, el(0xF7, b"\x01") + el(CUE_CLUSTER, pos.to_bytes(4, "big"))))


def webm(cues: list[tuple[int, int]], *, cluster_first: bool = False) -> bytes:
    body = el(CUES, b"".join(cue(t, p) for t, p in cues))
    cluster = el(CLUSTER, b"\0" * 16)
    seg = (cluster + body) if cluster_first else (body + cluster)
    return el(EBML, b"\x42\x82\x84webm") + el(SEGMENT, seg, unknown=True)


def read(data: bytes, file_size: int) -> list[tuple[int, int, float, float]]:
    init, at, size, seg, scale = locate_cues(data, file_size)
    return [(f.offset, f.size, f.start, f.end) for f in parse_cues(data[at : at + size], init, seg, scale,
                                                                    file_size).fragments]


def test_a_generated_webm_is_indexed_cluster_by_cluster(tmp_path: Path) -> None:
    video = make_youtube_source(tmp_path, 60.0, heights=(72,), webm=True)[0].path
    data = video.read_bytes()
    frags = read(data[: 64 << 10], len(data))
    assert all(data[off : off + 4] == CLUSTER.to_bytes(4, "big") for off, _, _, _ in frags)
    assert frags[-1][0] + frags[-1][1] == len(data) and frags[0][2] == 0.0
    assert all(a[0] + a[1] == b[0] and a[3] == b[2] for a, b in zip(frags, frags[1:], strict=False))


def test_cue_positions_are_relative_to_the_segment() -> None:
    rel = len(el(CUES, cue(0, 0) + cue(0, 0)))  # the cluster follows the Cues
    data = webm([(0, rel), (0, rel)])  # two tracks' cues of one cluster: one fragment
    seg_start = len(el(EBML, b"\x42\x82\x84webm")) + 12
    assert data[seg_start + rel : seg_start + rel + 4] == CLUSTER.to_bytes(4, "big")
    assert read(data, len(data) + 100) == [(seg_start + rel, len(data) + 100 - seg_start - rel, 0.0, float("inf"))]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x00" * 64, "EBML"),
        (el(EBML, b"") + el(0x4286, b"\0" * 16), "no Segment"),
        (webm([(0, 10)], cluster_first=True), "no Cues before"),
        (webm([(0, 5000), (2000, 100)]), "out of order"),
        (webm([(0, 10_000_000)]), "outside the file"),
        (webm([(2000, 200), (1000, 300)]), "out of order"),
        (el(EBML, b"") + el(SEGMENT, el(CUES, el(CUE_POINT, b"\xff"), unknown=True), unknown=True), "fit"),
        (el(EBML, b"") + el(SEGMENT, el(CUES, el(CUE_POINT, b"")) + el(CLUSTER, b"\0" * 16)), "without a time"),
    ],
)
def test_hostile_cues_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(BoxError, match=match):
        read(data, len(data) + 1000)
