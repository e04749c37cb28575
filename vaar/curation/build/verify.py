"""Verify stage: is the clip what was asked for?

Container-level checks (no decode, and usually no process):

* both streams present — no video: ``failed``; no audio: ``rejected`` (this is an audio-visual
  dataset, a silent-by-construction clip is unfit, not broken);
* duration within one frame of the requested span — a shorter clip usually means the span runs
  past the source's end or the download was cut, and is ``failed``;
* with ``accurate`` precision, the number of video frames equals ``round(duration × fps)`` (±1),
  which is what frame-accurate trimming promises;
* the 16 kHz FLAC exists and lasts as long as the clip (read from its STREAMINFO header: one
  ffprobe process less per clip).

The MP4's facts (:class:`ClipStreams`) are read from its ``moov`` box
(:func:`vaar.curation.mp4.facts.read_mp4_facts`: frame count from the sample table, start times
from the edit list) — the same facts ``ffprobe -count_packets`` reports for the files vaar's
ffmpeg writes, without its ~70 ms process start. Where that reader is not sure (another
container, an unusual edit list, an unknown codec, a damaged file) verify asks ffprobe, counting
packets, as before.

This is the ``verify`` stage of :data:`vaar.curation.build.pipeline.CLIP_STAGES`; the content-level
checks (sync, silence, frozen or black picture) are its ``sync`` and ``quality`` stages
(:mod:`vaar.curation.build.quality`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaar.core.errors import VerifyError
from vaar.curation.build.media import MediaConfig, probe
from vaar.curation.mp4 import read_mp4_facts


@dataclass(frozen=True)
class StreamFacts:
    duration: float
    fps: float
    width: int
    height: int
    num_frames: int
    video_codec: str
    audio_codec: str
    sample_rate: int
    channels: int
    video_start_time: float
    audio_start_time: float

    def as_row(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _rate(text: str | None) -> float:
    if not text or text in ("0/0", "0"):
        return 0.0
    num, _, den = text.partition("/")
    return float(num) / float(den or 1)


def _float(x: Any, default: float = 0.0) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def flac_duration(path: Path) -> float | None:
    """Duration of a FLAC from its STREAMINFO block (total samples / sample rate), without
    starting ffprobe; ``None`` when the file is not a FLAC or does not state its sample count."""
    try:
        with open(path, "rb") as f:
            head = f.read(42)  # "fLaC", a 4-byte block header, the 34-byte STREAMINFO
    except OSError:
        return None
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    info = int.from_bytes(head[18:26], "big")  # rate (20 bits), channels (3), bits (5), samples (36)
    rate, samples = info >> 44, info & ((1 << 36) - 1)
    return samples / rate if rate and samples else None


@dataclass(frozen=True)
class ClipStreams:
    """What verify reads from the clip's container (``audio_codec`` ``None``: no audio track)."""

    duration: float  # the container's
    fps: float
    num_frames: int
    width: int
    height: int
    video_codec: str
    video_start_time: float
    audio_codec: str | None
    sample_rate: int
    channels: int
    audio_start_time: float


def streams_from_moov(video: Path) -> ClipStreams | None:
    """The clip's facts from its ``moov`` box; ``None`` (ask ffprobe) where the reader is not
    sure of them or there is no video track."""
    facts = read_mp4_facts(video)
    v = facts.first("video") if facts else None
    if facts is None or v is None:
        return None
    num, den = v.frame_rate
    a = facts.first("audio")
    return ClipStreams(
        duration=facts.duration,
        fps=float(num) / float(den),
        num_frames=v.num_samples,
        width=v.width,
        height=v.height,
        video_codec=v.codec,
        video_start_time=v.start_time,
        audio_codec=a.codec if a else None,
        sample_rate=a.sample_rate if a else 0,
        channels=a.channels if a else 0,
        audio_start_time=a.start_time if a else 0.0,
    )


def streams_from_ffprobe(video: Path) -> ClipStreams:
    """The clip's facts from ``ffprobe -count_packets`` (one process, reads every packet)."""
    data = probe(video, count_packets=True)
    streams = data.get("streams", [])
    v = next((s for s in streams if s.get("codec_type") == "video"), None)
    a = next((s for s in streams if s.get("codec_type") == "audio"), None) or {}
    if v is None:
        raise VerifyError("no video stream in the clip")
    return ClipStreams(
        duration=_float(data.get("format", {}).get("duration")),
        fps=_rate(v.get("avg_frame_rate")) or _rate(v.get("r_frame_rate")),
        num_frames=int(_float(v.get("nb_read_packets"), 0)),
        width=int(v.get("width") or 0),
        height=int(v.get("height") or 0),
        video_codec=str(v.get("codec_name")),
        video_start_time=_float(v.get("start_time")),
        audio_codec=str(a.get("codec_name")) if a else None,
        sample_rate=int(_float(a.get("sample_rate"))),
        channels=int(a.get("channels") or 0),
        audio_start_time=_float(a.get("start_time")),
    )


def verify_clip(video: Path, audio: Path, requested: float, cfg: MediaConfig) -> StreamFacts:
    """Check the normalised clip against the request; raise :class:`VerifyError` if it is wrong."""
    if not video.exists() or video.stat().st_size == 0:
        raise VerifyError("clip file is missing or empty")
    st = streams_from_moov(video) or streams_from_ffprobe(video)
    if st.audio_codec is None:
        raise VerifyError("no audio track (an audio-visual dataset needs sound)", status="rejected")
    fps, frames, duration = st.fps, st.num_frames, st.duration
    vdur = frames / fps if fps else duration
    one_frame = 1.0 / fps if fps else 0.04
    if frames == 0:
        raise VerifyError("clip has no video frames")
    if cfg.precision == "accurate":
        if vdur < requested - one_frame - 1e-6:
            raise VerifyError(
                f"short clip: {vdur:.3f} s of {requested:.3f} s requested "
                "(the span runs past the source's end, or the download was cut)"
            )
        if vdur > requested + one_frame + 1e-6:
            raise VerifyError(f"long clip: {vdur:.3f} s for {requested:.3f} s requested")
    elif duration < requested - 1.0:
        raise VerifyError(f"short clip: {duration:.3f} s of {requested:.3f} s requested")
    if not audio.exists() or audio.stat().st_size == 0:
        raise VerifyError("16 kHz audio file is missing or empty")
    adur = flac_duration(audio)
    if adur is None:  # not a FLAC with a sample count: ask ffprobe
        adur = _float(probe(audio).get("format", {}).get("duration"))
    if adur < min(vdur, requested) - 0.1:
        raise VerifyError(f"audio track is short: {adur:.3f} s for a {vdur:.3f} s clip")
    return StreamFacts(
        duration=round(vdur, 6),
        fps=fps,
        width=st.width,
        height=st.height,
        num_frames=frames,
        video_codec=st.video_codec,
        audio_codec=st.audio_codec,
        sample_rate=st.sample_rate,
        channels=st.channels,
        video_start_time=st.video_start_time,
        audio_start_time=st.audio_start_time,
    )
