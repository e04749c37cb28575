"""Modality corruptions (a missing or shifted modality) and heavy compression.

``audio_missing`` / ``video_missing`` silence the track or blank the picture (black frames: a dead
camera still delivers frames) over a contiguous span covering ``level`` of the clip, at a seeded
position; severity 5 removes the modality from the whole clip. ``av_shift`` delays the audio
against the video by 80-640 ms through the sync module's re-mux
(:func:`vaar.curation.build.quality.fix_offset`, the code that repairs measured offsets), and
``compression`` re-encodes the picture with libx264 at CRF 32-51; both change the encoded file, so
they run through ffmpeg (:mod:`.media`) and their outputs are cached.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from vaar.core.errors import MediaError, MissingDependencyError
from vaar.robustness.corruptions import Context, register_corruption

if TYPE_CHECKING:
    from torch import Tensor

SAMPLE_RATE = 16_000
SHARES = (0.2, 0.4, 0.6, 0.8, 1.0)


def missing_span(ctx: Context) -> tuple[float, float]:
    """(first, last) seconds from the clip's start that the modality is missing."""
    share = ctx.level
    first = 0.0 if share >= 1.0 else float(ctx.rng(20).uniform(0.0, 1.0 - share)) * ctx.duration
    return first, first + share * ctx.duration


@register_corruption("audio_missing", group="modality", stage="samples", touches=("audio",),
                     levels=SHARES, unit="share of the clip silent")  # fmt: skip
def audio_missing(wave: Tensor, ctx: Context) -> Tensor:
    """Silence (digital zeros) over ``level`` of the clip; the whole track at severity 5."""
    x = wave.clone()
    first, last = missing_span(ctx)
    lo, hi = int(first * SAMPLE_RATE), x.numel() if ctx.level >= 1.0 else math.ceil(last * SAMPLE_RATE)
    x[lo:hi] = 0
    return x


@register_corruption("video_missing", group="modality", stage="frames", touches=("video",),
                     levels=SHARES, unit="share of the clip black")  # fmt: skip
def video_missing(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Black frames over ``level`` of the clip; every frame at severity 5."""
    x = frames.clone()
    first, last = missing_span(ctx)
    rel = times.double() - ctx.start
    gone = (rel >= first) & (rel <= last) if ctx.level < 1.0 else rel == rel
    x[gone] = 0
    return x


def ffmpeg(args: list[str], stdin: bytes | None = None) -> None:
    """Run ffmpeg quietly; a failure is a MediaError with ffmpeg's last line."""
    cmd = ["ffmpeg", "-nostdin" if stdin is None else "-hide_banner", "-v", "error", "-y", *args]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise MissingDependencyError("ffmpeg not found: install ffmpeg (e.g. 'apt-get install ffmpeg') "
                                     "or run 'make install'") from None
    if proc.returncode != 0:
        last = (proc.stderr.decode(errors="replace").strip().splitlines() or ["ffmpeg failed"])[-1]
        raise MediaError(f"ffmpeg: {last[:200]}")


def audio_codec(suffix: str) -> list[str]:
    """Encoder arguments that keep an audio file's container: FLAC, WAV, else AAC."""
    return {".flac": ["-c:a", "flac"], ".wav": ["-c:a", "pcm_s16le"]}.get(suffix.lower(), ["-c:a", "aac", "-b:a", "128k"])


@register_corruption("compression", group="video", stage="media", touches=("video",),
                     levels=(32, 37, 42, 47, 51), unit="libx264 CRF")  # fmt: skip
def compression(src: Path, dst: Path, kind: str, ctx: Context) -> None:
    """Heavy H.264 compression of the picture (blocking, smearing); the audio stream is copied."""
    if kind != "video":
        raise ValueError("compression changes video files only")
    ffmpeg(["-i", str(src), "-map", "0:v:0", "-map", "0:a?", "-c:v", "libx264", "-preset", "veryfast",
            "-crf", f"{int(ctx.level)}", "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart",
            str(dst)])  # fmt: skip


@register_corruption("av_shift", group="modality", stage="media", touches=("audio",),
                     levels=(80, 160, 320, 480, 640), unit="audio delay (ms)")  # fmt: skip
def av_shift(src: Path, dst: Path, kind: str, ctx: Context) -> None:
    """The audio arrives ``level`` ms late: the sync module's re-mux for a clip (video copied), an
    ffmpeg delay and trim for a separate audio file (the first ``level`` ms are silent)."""
    if kind == "video":
        from vaar.curation.build.media import fix_offset

        fix_offset(src, dst, -float(ctx.level))  # positive offset = audio late; fix_offset moves by -offset
        return
    from torchcodec.decoders import AudioDecoder

    duration = float(AudioDecoder(str(src)).metadata.duration_seconds or 0.0)
    ffmpeg(["-i", str(src), "-af", f"adelay=delays={int(ctx.level)}:all=1,atrim=end={duration:.6f}",
            *audio_codec(dst.suffix), str(dst)])  # fmt: skip
