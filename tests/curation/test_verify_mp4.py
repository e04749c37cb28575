"""verify reads the MP4's facts from its moov box: the same facts ffprobe reports, on real files.

Every clip here is made by ffmpeg at test time (most by vaar's own ``trim_normalise``), and the
moov reader's facts are compared field by field with ``ffprobe -count_packets``'s.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.media import ffmpeg
from vaar.core.errors import MissingDependencyError, VerifyError
from vaar.curation.build.media import MediaConfig, trim_normalise
from vaar.curation.build.verify import streams_from_ffprobe, streams_from_moov, verify_clip
from vaar.curation.mp4 import read_mp4_facts

X264 = ["-c:v", "libx264", "-preset", "veryfast"]


@functools.cache
def _encoders() -> str:
    return subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True).stdout


def _need(encoder: str) -> None:
    if f" {encoder} " not in _encoders():
        pytest.skip(f"this ffmpeg has no {encoder} encoder")


def _video(rate: str, seconds: float = 5) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=s=96x64:r={rate}:d={seconds}"]


def _tone(seconds: float = 5, rate: int = 44100) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f=440:d={seconds}:sample_rate={rate}"]


SOURCES: dict[str, list[str]] = {
    # B-frames (composition offsets, an edit list that hides their delay), 25 fps
    "bframes_25": [*_video("25"), *_tone(), *X264, "-g", "48", "-c:a", "aac"],
    # NTSC rate, stereo 48 kHz
    "ntsc": [*_video("30000/1001"), *_tone(5, 48000), *X264, "-g", "30", "-c:a", "aac", "-ac", "2"],
    # audio starts 0.37 s after the picture (an empty edit; stream copy keeps it)
    "audio_late": [*_video("25"), "-itsoffset", "0.37", *_tone(4), *X264, "-c:a", "aac"],
    # no B-frames, 24 fps, 22.05 kHz
    "baseline": [*_video("24"), *_tone(5, 22050), "-c:v", "libx264", "-profile:v", "baseline", "-g", "24", "-c:a", "aac"],
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mp4src")
    out = {}
    for name, args in SOURCES.items():
        out[name] = root / f"{name}.mp4"
        ffmpeg(*args, str(out[name]))
    return out


def _same(video: Path) -> None:
    moov = streams_from_moov(video)
    assert moov is not None, "the moov reader gave up on a file ffmpeg wrote"
    assert moov == streams_from_ffprobe(video)


@pytest.mark.parametrize(("precision", "analyse"), [("accurate", True), ("accurate", False), ("copy", False)])
@pytest.mark.parametrize("name", list(SOURCES))
@pytest.mark.parametrize(("start", "seconds"), [(0.5, 2.0), (1.3, 2.37)])
def test_trimmed_clip_facts_equal_ffprobe(
    sources: dict[str, Path],
    tmp_path: Path,
    name: str,
    precision: str,
    analyse: bool,
    start: float,
    seconds: float,
) -> None:
    """``analyse``: the trim also decodes for the sync checks, as ``vaar build`` runs it."""
    cfg = MediaConfig(precision=precision)  # type: ignore[arg-type]
    video, audio = tmp_path / "c.mp4", tmp_path / "c.flac"
    trim_normalise(sources[name], start, seconds, video, audio, cfg, True, analyse=analyse)
    _same(video)
    facts = verify_clip(video, audio, seconds, cfg)
    if precision == "accurate":
        assert facts.num_frames == round(seconds * cfg.fps) and facts.video_start_time == 0.0


def test_late_audio_keeps_its_start_under_stream_copy(sources: dict[str, Path], tmp_path: Path) -> None:
    video, audio = tmp_path / "c.mp4", tmp_path / "c.flac"
    trim_normalise(sources["audio_late"], 0.0, 2.0, video, audio, MediaConfig(precision="copy"), True)
    moov = streams_from_moov(video)
    assert moov is not None and moov.audio_start_time > moov.video_start_time + 0.3
    assert moov == streams_from_ffprobe(video)


def test_sources_as_ffmpeg_wrote_them(sources: dict[str, Path]) -> None:
    for path in sources.values():  # neither faststart nor trimmed: moov after mdat
        _same(path)


@pytest.mark.parametrize(
    "codec",
    [["-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1"],
     ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]],
    ids=["hevc", "vp9"],
)  # fmt: skip
def test_other_video_codecs(tmp_path: Path, codec: list[str]) -> None:
    _need(codec[1])
    path = tmp_path / "c.mp4"
    ffmpeg(*_video("25", 1), *_tone(1), *codec, "-c:a", "aac", "-movflags", "+faststart", str(path))
    _same(path)


def test_clip_without_audio_is_still_rejected(tmp_path: Path) -> None:
    src, video, audio = tmp_path / "s.mp4", tmp_path / "c.mp4", tmp_path / "c.flac"
    ffmpeg(*_video("25", 3), *X264, str(src))
    trim_normalise(src, 0.5, 2.0, video, audio, MediaConfig(), False)
    moov = streams_from_moov(video)
    assert moov is not None and moov.audio_codec is None
    assert moov == streams_from_ffprobe(video)
    with pytest.raises(VerifyError, match="no audio track") as err:
        verify_clip(video, audio, 2.0, MediaConfig())
    assert err.value.status == "rejected"


def test_matroska_named_mp4_goes_to_ffprobe(tmp_path: Path) -> None:
    video, audio = tmp_path / "c.mp4", tmp_path / "c.flac"
    ffmpeg(*_video("25", 2), *_tone(2), *X264, "-c:a", "aac", "-f", "matroska", str(video))
    ffmpeg(*_tone(2), "-ac", "1", "-ar", "16000", "-c:a", "flac", str(audio))
    assert read_mp4_facts(video) is None
    facts = verify_clip(video, audio, 2.0, MediaConfig(precision="copy"))
    assert facts.num_frames == streams_from_ffprobe(video).num_frames == 50


@pytest.mark.parametrize(
    "args",
    [["-c:a", "libopus", "-f", "mp4"],  # an audio codec the reader does not vouch for
     ["-c:a", "aac", "-movflags", "frag_keyframe+empty_moov"]],  # fragmented: samples in moof
    ids=["opus", "fragmented"],
)  # fmt: skip
def test_files_the_reader_leaves_to_ffprobe(tmp_path: Path, args: list[str]) -> None:
    _need(args[1])
    path = tmp_path / "c.mp4"
    ffmpeg(*_video("25", 1), *_tone(1), *X264, *args, str(path))
    assert read_mp4_facts(path) is None
    assert streams_from_ffprobe(path).num_frames == 25


def test_verify_starts_no_process_for_a_clip_vaar_wrote(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, audio = tmp_path / "c.mp4", tmp_path / "c.flac"
    trim_normalise(sources["bframes_25"], 0.5, 2.0, video, audio, MediaConfig(), True)
    want = verify_clip(video, audio, 2.0, MediaConfig())
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no ffprobe to start
    assert verify_clip(video, audio, 2.0, MediaConfig()) == want
    video.write_bytes(video.read_bytes()[:-1])  # a cut file: the reader declines, ffprobe is asked
    with pytest.raises(MissingDependencyError):
        verify_clip(video, audio, 2.0, MediaConfig())


def test_clip_without_video_still_fails(tmp_path: Path) -> None:
    video, audio = tmp_path / "c.mp4", tmp_path / "c.flac"
    ffmpeg(*_tone(2), "-c:a", "aac", "-movflags", "+faststart", str(video))
    ffmpeg(*_tone(2), "-ac", "1", "-ar", "16000", "-c:a", "flac", str(audio))
    facts = read_mp4_facts(video)
    assert facts is not None and facts.first("video") is None and facts.first("audio") is not None
    with pytest.raises(VerifyError, match="no video stream") as err:
        verify_clip(video, audio, 2.0, MediaConfig())
    assert err.value.status == "failed"


def test_the_download_check_reads_an_mp4_source_without_ffprobe(
    sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The downloaded source's check (streams present, audio or not, duration) uses the reader
    too; what it is unsure of — a cut file, another container — still goes to ffprobe."""
    from vaar.curation.build.download import _check_file
    from vaar.curation.build.media import probe

    src = sources["bframes_25"]
    want = probe(src)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(src.read_bytes()[:-4096])
    mkv = tmp_path / "s.mkv"
    ffmpeg("-i", str(src), "-c", "copy", str(mkv))
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no ffprobe to start
    facts = _check_file(src)
    assert facts["has_audio"] is True
    assert abs(float(facts["duration"]) - float(want["format"]["duration"])) < 1e-6
    for path in (cut, mkv):
        with pytest.raises(MissingDependencyError):
            _check_file(path)
