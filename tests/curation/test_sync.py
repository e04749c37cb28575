"""Offset estimation against clips with flash + click events at known times (ffmpeg-made)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures import sync_media as sm
from vaar.core.errors import VerifyError
from vaar.curation.build.decode import decode_clip
from vaar.curation.build.sync import align_onsets, estimate_offset

OFFSETS = (0, 40, -40, 200, -200, 480, -480)
FRAME_MS = 1000.0 / sm.FPS


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sync_media")


def expected_verdict(truth_ms: float, tolerance_ms: float = 80.0) -> str:
    return "in_sync" if abs(truth_ms) <= tolerance_ms else "out_of_sync"


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("how", ["samples", "container"])
def test_offset_within_one_frame(media: Path, how: str, offset: int) -> None:
    path = media / f"{how}_{offset}.mp4"
    if how == "samples":
        sm.event_clip(path, audio_shift_ms=offset, background="testsrc2", duration=5.0)
    else:
        sm.event_clip(path, container_shift_ms=offset, background="testsrc2", duration=5.0)
    est = estimate_offset(decode_clip(path))
    assert est.offset_ms is not None, est
    assert abs(est.offset_ms - offset) <= FRAME_MS, est
    assert est.verdict == expected_verdict(offset)
    assert est.confidence >= 0.5


def test_container_start_time_is_honoured(media: Path) -> None:
    """Same samples, audio stream starting 200 ms later in the container: audio is late."""
    path = sm.event_clip(media / "late_stream.mp4", container_shift_ms=200, duration=4.0)
    clip = decode_clip(path)
    # the AAC encoder's priming is taken off the stream start, hence not exactly 0.2
    assert 0.15 <= clip.audio_start_time - clip.video_start_time <= 0.21
    est = estimate_offset(clip)
    assert est.offset_ms is not None and abs(est.offset_ms - 200) <= FRAME_MS


def test_video_stream_starting_late(media: Path) -> None:
    path = sm.event_clip(media / "late_video.mp4", container_shift_ms=-200, duration=4.0)
    est = estimate_offset(decode_clip(path))
    assert est.offset_ms is not None and abs(est.offset_ms + 200) <= FRAME_MS


def test_tolerance_decides_the_verdict(media: Path) -> None:
    path = sm.event_clip(media / "tol_200.mp4", audio_shift_ms=200, duration=4.0)
    clip = decode_clip(path)
    assert estimate_offset(clip, tolerance_ms=80).verdict == "out_of_sync"
    assert estimate_offset(clip, tolerance_ms=250).verdict == "in_sync"


@pytest.mark.parametrize("picture", ["gray", "testsrc2"])
def test_no_events_is_unverifiable(media: Path, picture: str) -> None:
    path = sm.no_event_clip(media / f"noev_{picture}.mp4", picture=picture, duration=5.0)
    est = estimate_offset(decode_clip(path))
    assert est.verdict == "unverifiable"
    assert est.offset_ms is None
    assert est.confidence < 0.4


def test_silence_is_unverifiable(media: Path) -> None:
    est = estimate_offset(decode_clip(sm.silent_clip(media / "silent.mp4")))
    assert (est.verdict, est.offset_ms) == ("unverifiable", None)


def test_periodic_events_are_ambiguous(media: Path) -> None:
    """Events every 400 ms align at lags 0 and ±400 ms equally well: no made-up offset."""
    events = tuple(round(0.8 + 0.4 * i, 2) for i in range(11))
    path = sm.event_clip(media / "periodic.mp4", events=events, audio_shift_ms=200, duration=6.0)
    est = estimate_offset(decode_clip(path))
    assert est.verdict == "unverifiable"


def test_align_onsets_confidence_meaning() -> None:
    one = align_onsets(
        np.array([2.1]), np.array([1.0]), np.array([2.0]), np.array([1.0]),
        tolerance_ms=80, max_lag_ms=1000, min_confidence=0.4,
    )  # fmt: skip
    assert one.offset_ms == pytest.approx(100.0, abs=1.0)
    assert one.confidence == pytest.approx(0.5, abs=0.01)  # one clean event
    none = align_onsets(
        np.zeros(0), np.zeros(0), np.array([2.0]), np.array([1.0]),
        tolerance_ms=80, max_lag_ms=1000, min_confidence=0.4,
    )  # fmt: skip
    assert (none.verdict, none.offset_ms, none.confidence) == ("unverifiable", None, 0.0)
    # two candidate alignments of equal strength: uniqueness 0
    two = align_onsets(
        np.array([2.0, 5.3]), np.array([1.0, 1.0]), np.array([2.0, 5.0]), np.array([1.0, 1.0]),
        tolerance_ms=80, max_lag_ms=1000, min_confidence=0.4,
    )  # fmt: skip
    assert two.verdict == "unverifiable" and two.confidence < 0.1


def test_decode_errors(media: Path, tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match="not found"):
        decode_clip(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(VerifyError) as exc:
        decode_clip(junk)
    assert exc.value.status == "failed"
    with pytest.raises(VerifyError, match="no audio") as exc:
        decode_clip(sm.video_only_clip(media / "vonly.mp4"))
    assert exc.value.status == "rejected"
    with pytest.raises(VerifyError, match="no video") as exc:
        decode_clip(sm.audio_only_clip(media / "aonly.mp4"))
    assert exc.value.status == "failed"


def _cli(argv: list[str]) -> int:
    from vaar._cli import make_main

    return make_main("vaar", "test", {"verify-sync": "vaar.curation.cmd_verify_sync"})(argv)


def test_cli_json_lines_and_errors(
    media: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = sm.event_clip(media / "cli_200.mp4", audio_shift_ms=200, duration=4.0)
    noev = sm.no_event_clip(media / "cli_noev.mp4", duration=3.0)
    vonly = sm.video_only_clip(media / "cli_vonly.mp4")
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    paths = [str(good), str(tmp_path / "missing.mp4"), str(junk), str(vonly), str(noev)]
    rc = _cli(["verify-sync", "--json", *paths])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 1 and "Traceback" not in out + err
    assert [r["path"] for r in rows] == paths
    assert rows[0]["verdict"] == "out_of_sync" and abs(rows[0]["offset_ms"] - 200) <= FRAME_MS
    assert set(rows[0]) == {"path", "offset_ms", "confidence", "verdict"}
    assert all("error" in r for r in rows[1:4])
    assert "no audio" in rows[3]["error"]
    assert rows[4] == {
        "path": str(noev),
        "offset_ms": None,
        "confidence": 0.0,
        "verdict": "unverifiable",
    }
    # a wider tolerance turns the same clip in_sync; all good files: exit 0
    assert _cli(["verify-sync", "--json", "--tolerance-ms", "250", str(good)]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "in_sync"


def test_cli_table(media: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = sm.event_clip(media / "cli_table.mp4", duration=4.0)
    rc = _cli(["verify-sync", str(good), str(tmp_path / "missing.mp4")])
    out = capsys.readouterr().out
    assert rc == 1
    assert "in_sync" in out and "file not found" in out and "1 in_sync, 1 error" in out


def test_cli_registered() -> None:
    from vaar.cli import COMMANDS

    assert COMMANDS["verify-sync"] == "vaar.curation.cmd_verify_sync"
