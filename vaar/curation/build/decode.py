"""The decoder the checks read: one ffmpeg process, 64-px grey frames and 16 kHz mono samples.

Decoded on the presentation timeline: ffmpeg shifts every stream of a file by the same amount (the
file's start time), and ``showinfo`` / ``ashowinfo`` log the timestamp of every video frame and of
the first audio sample, so a stream that starts later in the container is placed later. The trim
(:mod:`vaar.curation.build.media`) runs the same chains on the frames it has just encoded, so a
clip is decoded once for sync (:mod:`vaar.curation.build.sync`), quality and fingerprints;
:func:`decode_clip` decodes a finished file (``vaar verify-sync``).
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from vaar.core.errors import MissingDependencyError, VerifyError

AUDIO_RATE = 16_000  # Hz, audio decoded for the checks
VIDEO_WIDTH = 64  # px, video decoded for the checks

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DecodedClip:
    """A clip decoded for the checks, on the presentation timeline (seconds, file start = 0)."""

    frames: npt.NDArray[np.uint8]  # (T, H, W) grey
    frame_times: npt.NDArray[np.float64]  # (T,) presentation time of each frame
    audio: FloatArray  # (N,) mono, AUDIO_RATE
    audio_start: float  # presentation time of audio[0]
    file_start: float  # container start time (added back for the manifest's start times)

    @property
    def video_start_time(self) -> float:
        return self.file_start + float(self.frame_times[0])

    @property
    def audio_start_time(self) -> float:
        return self.file_start + self.audio_start


# Anchored at the start of a line: ffmpeg's log also prints the input's metadata (an untrusted
# file's title can hold a newline and a forged "[Parsed_showinfo_0 @ …] n: 0 … pts_time:…"); a
# metadata line is indented, a filter's line starts with its own "[Parsed_…]".
_SHOWINFO = re.compile(rb"^\[Parsed_(a?)showinfo_\d+ @ 0x[0-9a-f]+\] n:\s*\d+ pts:\s*-?\d+ pts_time:(\S+)", re.M)
_SIZE = re.compile(rb"^\[Parsed_showinfo_\d+ @ 0x[0-9a-f]+\] n:\s*0 [^\n]*? s:(\d+)x(\d+)", re.M)
_START = re.compile(rb"^  Duration: [^,\n]*, start: (-?[\d.]+)", re.M)


def _classify_failure(path: Path, log: bytes) -> VerifyError:
    text = log.decode(errors="replace")
    if "0:a:0" in text and "matches no streams" in text:
        return VerifyError("no audio stream", status="rejected")
    if "0:v:0" in text and "matches no streams" in text:
        return VerifyError("no video stream")
    if "No such file" in text:
        return VerifyError(f"file not found: {path}")
    if "Invalid data found" in text or "could not find codec" in text.lower():
        return VerifyError("not a media file ffmpeg can read")
    last = [ln for ln in text.strip().splitlines() if ln.strip()][-1:] or ["ffmpeg failed"]
    return VerifyError(f"undecodable: {last[0][:200]}")


# the chains that turn a decoded stream into what the checks read: 64-px grey frames and 16 kHz
# mono float samples, each preceded by (a)showinfo so every frame's presentation time is logged
VIDEO_CHAIN = f"extractplanes=y,scale={VIDEO_WIDTH}:-2:flags=area,showinfo"
AUDIO_CHAIN = f"ashowinfo,aresample={AUDIO_RATE}:async=1,aformat=sample_fmts=flt:channel_layouts=mono"


@dataclass(frozen=True)
class DecoderRun:
    """What one ffmpeg process wrote: raw grey frames (stdout), f32 audio (an extra pipe), its log."""

    returncode: int
    video: bytes
    audio: bytes
    log: bytes


def run_decoder(command: Callable[[str], list[str]]) -> DecoderRun:
    """Run the ffmpeg command ``command(audio_url)``: it writes the frames to ``pipe:1`` and the
    samples to ``audio_url`` (a pipe of its own); the three streams are read concurrently."""
    r_fd, w_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            command(f"pipe:{w_fd}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(w_fd,)
        )
    except FileNotFoundError:
        os.close(r_fd)
        os.close(w_fd)
        raise MissingDependencyError(
            "ffmpeg not found: install it (e.g. 'apt-get install ffmpeg') or run 'make install'"
        ) from None
    os.close(w_fd)
    chunks: dict[str, bytes] = {}
    assert proc.stderr is not None and proc.stdout is not None
    with os.fdopen(r_fd, "rb") as audio_pipe, proc.stdout, proc.stderr:

        def _drain(name: str, f: IO[bytes]) -> None:
            chunks[name] = f.read()

        readers = [threading.Thread(target=_drain, args=a, daemon=True)
                   for a in (("audio", audio_pipe), ("log", proc.stderr))]  # fmt: skip
        for t in readers:
            t.start()
        video = proc.stdout.read()
        proc.wait()
        for t in readers:
            t.join()
    return DecoderRun(proc.returncode, video, chunks.get("audio", b""), chunks.get("log", b""))


def parse_decoded(run: DecoderRun, file_start: float | None = None) -> DecodedClip:
    """The :class:`DecodedClip` of a successful :func:`run_decoder` whose outputs went through
    :data:`VIDEO_CHAIN` and :data:`AUDIO_CHAIN`. ``file_start``: the container start time, read
    from the log's ``Duration: …, start: …`` line when ``None``."""
    vtimes: list[float] = []
    atimes: list[float] = []
    for m in _SHOWINFO.finditer(run.log):
        (atimes if m.group(1) else vtimes).append(float(m.group(2)))
    size = _SIZE.search(run.log)
    if file_start is None:
        start = _START.search(run.log)
        file_start = float(start.group(1)) if start else 0.0
    if not vtimes or size is None:
        raise VerifyError("undecodable: no video frames")
    w, h = int(size.group(1)), int(size.group(2))
    n = min(len(vtimes), len(run.video) // (w * h))
    if n == 0:
        raise VerifyError("undecodable: no video frames")
    frames = np.frombuffer(run.video, np.uint8, count=n * w * h).reshape(n, h, w)
    audio = np.frombuffer(run.audio, np.float32)
    if audio.size == 0 or not atimes:
        raise VerifyError("undecodable: no audio samples")
    return DecodedClip(
        frames=frames,
        frame_times=np.asarray(vtimes[:n], np.float64),
        audio=audio,
        audio_start=atimes[0],
        file_start=file_start,
    )


def decode_clip(path: Path, *, threads: int = 1) -> DecodedClip:
    """Decode the first video and audio stream of ``path`` for the checks (one ffmpeg process).

    Raises :class:`VerifyError` for a missing or unreadable file (``failed``), no video stream
    (``failed``) or no audio stream (``rejected``).
    """
    path = Path(path)
    if not path.is_file():
        raise VerifyError(f"file not found: {path}")

    def command(audio_url: str) -> list[str]:
        return [
            "ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
            "-filter_threads", "1", "-threads", str(threads),
            # the checks look at 64-px grey frames: deblocking and bit-exactness are not needed
            "-skip_loop_filter", "all", "-flags2", "+fast", "-i", str(path),
            "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", VIDEO_CHAIN,
            "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
            "-map", "0:a:0", "-vn", "-sn", "-dn", "-af", AUDIO_CHAIN, "-f", "f32le", audio_url,
        ]  # fmt: skip

    run = run_decoder(command)
    if run.returncode != 0:
        raise _classify_failure(path, run.log)
    return parse_decoded(run)
