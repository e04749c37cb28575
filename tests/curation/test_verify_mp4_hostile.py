"""The moov reader plays safe: damaged or hostile files give ``None`` (ask ffprobe), never an
exception, a hang or a large allocation. Each starts from a real MP4 that ffmpeg wrote."""

from __future__ import annotations

import random
import struct
import tracemalloc
from pathlib import Path

import pytest

from tests.fixtures.media import ffmpeg
from vaar.curation.build.verify import streams_from_ffprobe, streams_from_moov
from vaar.curation.mp4 import box as mp4box
from vaar.curation.mp4.facts import Mp4Facts, read_mp4_facts

CLIP = ["-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=2", "-f", "lavfi", "-i", "sine=d=2",
        "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac"]  # fmt: skip


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """``faststart`` (ftyp moov free mdat) and ``moov_last`` (ftyp free mdat moov)."""
    root = tmp_path_factory.mktemp("hostile")
    ffmpeg(*CLIP, "-movflags", "+faststart", str(root / "fast.mp4"))
    ffmpeg(*CLIP, str(root / "last.mp4"))
    out = {"faststart": (root / "fast.mp4").read_bytes(), "moov_last": (root / "last.mp4").read_bytes()}
    assert read_mp4_facts(root / "fast.mp4") is not None and read_mp4_facts(root / "last.mp4") is not None
    return out


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


FTYP = _box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")


def _read(tmp_path: Path, data: bytes) -> Mp4Facts | None:
    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        facts = read_mp4_facts(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (4 << 20), f"the reader allocated {peak} bytes"
    return facts


def _size_at(data: bytes, kind: bytes, size: int, nth: int = 0) -> bytes:
    """``data`` with the 32-bit size of the ``nth`` box of ``kind`` set to ``size``."""
    at = -1
    for _ in range(nth + 1):
        at = data.index(kind, at + 1)
    return data[: at - 4] + struct.pack(">I", size) + data[at:]


@pytest.mark.parametrize("name", ["faststart", "moov_last"])
def test_truncated_files(clips: dict[str, bytes], tmp_path: Path, name: str) -> None:
    data = clips[name]
    moov = data.index(b"moov")
    for cut in (0, 7, 12, 30, moov + 4, moov + 200, len(data) // 2, len(data) - 1):
        assert _read(tmp_path, data[:cut]) is None, cut


def test_random_bytes(tmp_path: Path) -> None:
    rng = random.Random(14)
    for n in (1, 9, 100, 5000):
        assert _read(tmp_path, rng.randbytes(n)) is None
        assert _read(tmp_path, FTYP + rng.randbytes(n)) is None


def test_box_sizes_that_do_not_fit(clips: dict[str, bytes], tmp_path: Path) -> None:
    data = clips["faststart"]
    assert _read(tmp_path, _size_at(data, b"moov", 0xFFFFFFF0)) is None  # past the end of the file
    assert _read(tmp_path, _size_at(data, b"trak", 0xFFFFF000)) is None  # past the end of moov
    assert _read(tmp_path, _size_at(data, b"stts", 3)) is None  # smaller than its own header
    assert _read(tmp_path, _size_at(data, b"mvhd", 0)) is None  # size 0 inside a box
    assert _read(tmp_path, _size_at(data, b"mdhd", 1)) is None  # 64-bit size inside a box
    assert _read(tmp_path, FTYP + struct.pack(">I4sQ", 1, b"moov", 1 << 62)) is None  # 64-bit, past EOF
    assert _read(tmp_path, FTYP + struct.pack(">I4sQ", 1, b"moov", 12)) is None  # 64-bit, < header


def test_entry_counts_larger_than_their_box(clips: dict[str, bytes], tmp_path: Path) -> None:
    data = clips["faststart"]
    for kind in (b"stts", b"stsz", b"stsc", b"stco", b"ctts", b"stsd", b"elst"):
        at = data.index(kind) + 8  # after the type, the version and the flags
        # stsz: the count follows the constant size
        at += 4 if kind == b"stsz" else 0
        hostile = data[:at] + struct.pack(">I", 0xFFFFFFFF) + data[at + 4 :]
        assert _read(tmp_path, hostile) is None, kind


def test_deeply_nested_and_many_boxes(tmp_path: Path) -> None:
    nested = b""
    for _ in range(50_000):
        nested = _box(b"trak", nested)
    assert _read(tmp_path, FTYP + _box(b"moov", nested)) is None
    assert _read(tmp_path, FTYP + _box(b"free") * 10_000) is None


def test_moov_larger_than_the_cap(clips: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mp4box, "MOOV_CAP", 256)
    assert _read(tmp_path, clips["faststart"]) is None


def test_size_zero_and_64_bit_boxes_are_read(clips: dict[str, bytes], tmp_path: Path) -> None:
    """Legal forms: the last top-level box sized 0 ("to the end"), a 64-bit mdat header."""
    data = clips["faststart"]  # mdat is the last box
    path = tmp_path / "x.mp4"
    path.write_bytes(_size_at(data, b"mdat", 0))
    assert streams_from_moov(path) is not None and streams_from_moov(path) == streams_from_ffprobe(path)
    data = clips["moov_last"]  # ftyp, free (8 bytes), mdat: one 16-byte 64-bit mdat header instead
    at = data.index(b"free") - 4
    assert data[at + 12 : at + 16] == b"mdat"
    (mdat_size,) = struct.unpack_from(">I", data, at + 8)
    header = struct.pack(">I4sQ", 1, b"mdat", mdat_size + 8)
    path.write_bytes(data[:at] + header + data[at + 16 :])
    assert streams_from_moov(path) is not None and streams_from_moov(path) == streams_from_ffprobe(path)


def test_mutated_moov_never_raises(clips: dict[str, bytes], tmp_path: Path) -> None:
    data = clips["faststart"]
    start = data.index(b"moov") - 4
    end = start + struct.unpack_from(">I", data, start)[0]
    rng = random.Random(2026)
    results = set()
    for _ in range(300):
        hostile = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            hostile[rng.randrange(start, end)] = rng.randrange(256)
        results.add(_read(tmp_path, bytes(hostile)) is None)
    assert results == {True, False}  # some mutations hit fields the facts do not use


def _stbl(avcc: bytes, count: int, *, sample_size: int, per_chunk: int, offset: int) -> bytes:
    """A sample table of ``count`` samples: one stts run, one ctts run, one chunk."""
    full = b"\0\0\0\0"
    avc1 = bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HH", 96, 64) + bytes(50) + avcc
    return _box(b"stbl", b"".join([
        _box(b"stsd", full + struct.pack(">I", 1) + _box(b"avc1", avc1)),
        _box(b"stts", full + struct.pack(">III", 1, count, 512)),
        _box(b"ctts", full + struct.pack(">III", 1, count, 0)),
        _box(b"stsz", full + struct.pack(">II", sample_size, count) + (b"" if sample_size else bytes(4 * count))),
        _box(b"stsc", full + struct.pack(">IIII", 1, 1, per_chunk, 1)),
        _box(b"stco", full + struct.pack(">II", 1, offset)),
    ]))  # fmt: skip


def _movie(stbl: bytes) -> bytes:
    full = b"\0\0\0\0"
    mdia = b"".join([
        _box(b"mdhd", full + struct.pack(">IIII", 0, 0, 12800, 0) + bytes(4)),
        _box(b"hdlr", full + bytes(4) + b"vide" + bytes(12)),
        _box(b"minf", _box(b"dinf", _box(b"dref", full + struct.pack(">I", 1) + _box(b"url ", b"\0\0\0\1"))) + stbl),
    ])  # fmt: skip
    mvhd = _box(b"mvhd", full + struct.pack(">IIII", 0, 0, 1000, 1000) + bytes(80))
    return FTYP + _box(b"moov", mvhd + _box(b"trak", _box(b"mdia", mdia)))


def test_a_hand_made_table_is_read_and_its_lies_are_refused(clips: dict[str, bytes], tmp_path: Path) -> None:
    """A minimal moov written by hand (the avcC taken from a real 96x64 clip): read when it is
    consistent, refused when it promises more samples than the file holds (a million one-byte
    samples in a 1 kB file) or samples of no size."""
    at = clips["faststart"].index(b"avcC") - 4
    avcc = clips["faststart"][at : at + struct.unpack_from(">I", clips["faststart"], at)[0]]
    n = len(_movie(_stbl(avcc, 25, sample_size=10, per_chunk=25, offset=0)))
    head = _movie(_stbl(avcc, 25, sample_size=10, per_chunk=25, offset=n))  # samples after moov
    facts = _read(tmp_path, head + bytes(250))
    assert facts is not None and facts.tracks[0].num_samples == 25
    assert facts.tracks[0].frame_rate == (25, 1) and facts.tracks[0].codec == "h264"
    assert _read(tmp_path, head + bytes(249)) is None  # the last sample is cut
    huge = _movie(_stbl(avcc, 1_000_000, sample_size=1, per_chunk=1_000_000, offset=n))
    assert _read(tmp_path, huge + bytes(1000)) is None
    zeros = _movie(_stbl(avcc, 100_000, sample_size=0, per_chunk=100_000, offset=0))  # sizes all 0
    assert _read(tmp_path, zeros + bytes(1000)) is None


def test_a_mutated_moov_the_reader_accepts_has_ffprobes_facts(clips: dict[str, bytes], tmp_path: Path) -> None:
    """Changed counts, durations, offsets or bytes the facts do not use: what the reader still
    accepts, it must describe as ffprobe does."""
    data = clips["faststart"]
    start = data.index(b"moov") - 4
    end = start + struct.unpack_from(">I", data, start)[0]
    rng = random.Random(141)
    path, compared = tmp_path / "x.mp4", 0
    while compared < 25:
        hostile = bytearray(data)
        at = rng.randrange(start, end - 4)
        if rng.random() < 0.5:
            hostile[at] = rng.randrange(256)
        else:  # a 32-bit field nudged: a count, a duration, an offset, a size
            value = int.from_bytes(hostile[at : at + 4], "big") + rng.choice([-1, 1, 2, 512, -1024])
            hostile[at : at + 4] = (value % (1 << 32)).to_bytes(4, "big")
        path.write_bytes(bytes(hostile))
        moov = streams_from_moov(path)
        if moov is None:
            continue
        compared += 1
        assert moov == streams_from_ffprobe(path), f"byte {at - start} of moov"
