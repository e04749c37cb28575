"""The trim decodes each clip once: the checks it feeds agree with decoding the written clip.

``vaar build`` runs the sync, silence, frozen and black checks (and the fingerprint) on the
frames and samples the trim encodes, in the trim's own ffmpeg process, instead of decoding the
clip file again. These tests cut real clips with known timing and compare both readings.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.fixtures import sync_media as sm
from vaar.curation.build.decode import decode_clip
from vaar.curation.build.fingerprint import group_duplicates
from vaar.curation.build.media import MediaConfig, trim_normalise
from vaar.curation.build.quality import QCConfig, check_clip, measure

START, DURATION = 0.2, 5.0


def _cut(src: Path, out: Path, cfg: MediaConfig = MediaConfig(), analyse: bool = True):  # type: ignore[no-untyped-def]  # noqa: B008
    return trim_normalise(src, START, DURATION, out / "c.mp4", out / "c.flac", cfg, True, analyse=analyse)


@pytest.mark.parametrize(
    ("maker", "verdict"),
    [
        (lambda p: sm.event_clip(p, background="testsrc2"), "in_sync"),
        (lambda p: sm.event_clip(p, audio_shift_ms=240), "out_of_sync"),
        (lambda p: sm.event_clip(p, audio_shift_ms=-200), "out_of_sync"),
        (lambda p: sm.event_clip(p, container_shift_ms=300), "out_of_sync"),  # audio stream starts late
        (lambda p: sm.silent_clip(p, duration=6.0), None),
        (lambda p: sm.black_clip(p, duration=6.0), None),
        (lambda p: sm.frozen_clip(p, duration=6.0), None),
    ],
    ids=["in_sync", "audio_late", "audio_early", "container_shift", "silent", "black", "frozen"],
)
def test_checks_in_the_trim_agree_with_decoding_the_clip(tmp_path: Path, maker, verdict: str | None) -> None:  # type: ignore[no-untyped-def]
    src = maker(tmp_path / "src.mp4")
    trimmed = _cut(src, tmp_path)
    assert trimmed.decoded is not None
    cfg = QCConfig()
    inline, from_file = measure(trimmed.decoded, cfg), check_clip(tmp_path / "c.mp4", cfg)
    assert inline.sync_verdict == from_file.sync_verdict
    if verdict is not None:
        assert inline.sync_verdict == verdict
    if inline.av_offset_ms is not None and from_file.av_offset_ms is not None:
        assert abs(inline.av_offset_ms - from_file.av_offset_ms) <= 10
    for field in ("silence_fraction", "black_fraction", "frozen_fraction"):
        assert abs(getattr(inline, field) - getattr(from_file, field)) <= 0.05, field
    assert inline.reject_reason(cfg) == from_file.reject_reason(cfg)
    assert abs(inline.audio_start_time - from_file.audio_start_time) <= 0.03
    assert abs(inline.video_start_time - from_file.video_start_time) <= 0.001
    # the same frames: the trim caps the analysis output at the clip's frame count
    assert len(trimmed.decoded.frames) == len(decode_clip(tmp_path / "c.mp4").frames)


def test_inline_fingerprint_groups_with_the_decoded_clip(tmp_path: Path) -> None:
    src = sm.melody_clip(tmp_path / "src.mp4", duration=6.0)
    trimmed = _cut(src, tmp_path)
    assert trimmed.decoded is not None
    fps = {"inline": measure(trimmed.decoded, QCConfig()).fingerprint, "file": check_clip(tmp_path / "c.mp4").fingerprint}
    other = sm.melody_clip(tmp_path / "other.mp4", duration=6.0, seed=4, picture="blue")
    (tmp_path / "o").mkdir()
    fps["other"] = check_clip(_other_clip(other, tmp_path / "o")).fingerprint
    groups = group_duplicates(fps)
    assert groups["inline"] == groups["file"]
    assert groups.get("other") != groups["inline"]  # a clip in no group is left out


def _other_clip(src: Path, out: Path) -> Path:
    _cut(src, out, analyse=False)
    return out / "c.mp4"


def test_no_analysis_where_the_trim_does_not_decode(tmp_path: Path) -> None:
    src = sm.event_clip(tmp_path / "src.mp4")
    assert _cut(src, tmp_path, analyse=False).decoded is None
    assert _cut(src, tmp_path, replace(MediaConfig(), precision="copy")).decoded is None
    (tmp_path / "v").mkdir()
    video_only = sm.video_only_clip(tmp_path / "v.mp4", duration=6.0)
    t = trim_normalise(video_only, START, DURATION, tmp_path / "v" / "c.mp4", tmp_path / "v" / "c.flac", MediaConfig())
    assert not t.has_audio and t.decoded is None


def test_clip_bytes_do_not_depend_on_the_thread_count(tmp_path: Path) -> None:
    """x264's output changes with its thread count: the encoder always gets one thread, so the
    same source gives the same clip on any machine and at any --workers."""
    src = sm.event_clip(tmp_path / "src.mp4", background="testsrc2")
    digests = set()
    for threads in (1, 2, 4):
        out = tmp_path / f"t{threads}"
        out.mkdir()
        _cut(src, out, MediaConfig(threads=threads))
        digests.add(hashlib.sha256((out / "c.mp4").read_bytes()).hexdigest())
    assert len(digests) == 1


def test_a_forged_showinfo_line_in_the_metadata_is_not_read(tmp_path: Path) -> None:
    """ffmpeg's log prints the untrusted input's metadata; a title holding a newline and a forged
    showinfo line must not add a frame time or change the frame size the checks read."""
    forged = "x\n[Parsed_showinfo_1 @ 0x1] n:   0 pts:      0 pts_time:7.5 duration: 1 s:999x999 i:P\n"
    src = sm.event_clip(tmp_path / "plain.mp4", background="testsrc2")
    evil = tmp_path / "evil.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-c", "copy", "-metadata",
                    f"title={forged}", "-metadata:s:a:0", f"title={forged}", str(evil)], check=True)  # fmt: skip
    log = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(evil)], capture_output=True, text=True).stderr
    assert "pts_time:7.5" in log  # the forged line does reach ffmpeg's log
    for decoded in (_cut(evil, tmp_path).decoded, decode_clip(evil)):
        assert decoded is not None
        assert decoded.frame_times.max() < 7.0 and decoded.frames.shape[1:] != (999, 999)
    assert _cut(evil, tmp_path).decoded.frames.shape == _cut(src, tmp_path).decoded.frames.shape  # type: ignore[union-attr]
