"""The verify stage on real ffmpeg output."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vaar.core.errors import VerifyError
from vaar.curation.build.media import MediaConfig, probe, trim_normalise
from vaar.curation.build.verify import flac_duration, verify_clip


def _source(path: Path, seconds: float) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=96x64:r=25:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=f=440:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-shortest", str(path)], check=True)  # fmt: skip
    return path


def _flac(path: Path, seconds: float) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
                    "-ac", "1", "-ar", "16000", "-c:a", "flac", str(path)], check=True)  # fmt: skip
    return path


@pytest.mark.parametrize("seconds", [0.5, 2.0, 3.37])
def test_flac_duration_matches_ffprobe(tmp_path: Path, seconds: float) -> None:
    f = _flac(tmp_path / "a.flac", seconds)
    want = float(probe(f)["format"]["duration"])
    got = flac_duration(f)
    assert got is not None and abs(got - want) < 1e-3


def test_flac_duration_declines_what_is_not_flac(tmp_path: Path) -> None:
    (tmp_path / "x.flac").write_bytes(b"RIFF" + bytes(60))
    assert flac_duration(tmp_path / "x.flac") is None
    assert flac_duration(tmp_path / "missing.flac") is None


def test_verify_rejects_a_short_flac_and_one_that_is_not_flac(tmp_path: Path) -> None:
    cfg = MediaConfig()
    src = _source(tmp_path / "src.mp4", 3.0)
    video, audio = tmp_path / "c.mp4", tmp_path / "c.flac"
    trim_normalise(src, 0.5, 2.0, video, audio, cfg, True)
    assert verify_clip(video, audio, 2.0, cfg).duration == pytest.approx(2.0, abs=0.04)
    _flac(audio, 1.0)  # the FLAC no longer covers the clip
    with pytest.raises(VerifyError, match="audio track is short"):
        verify_clip(video, audio, 2.0, cfg)
    audio.write_bytes(b"not audio at all" * 8)  # falls back to ffprobe: no readable duration
    with pytest.raises(VerifyError):
        verify_clip(video, audio, 2.0, cfg)
