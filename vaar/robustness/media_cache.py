"""Corrupted copies of a clip's media files, cached by corruption, severity, seed and clip.

Cache layout (writes are atomic: a temporary file in the folder, then ``os.replace``)::

    CACHE/<corruption>/v<VERSION>-s<severity>-seed<seed>/<sha[:2]>/<sha256 of the source>.<video|audio><suffix>

``media`` corruptions (compression, av_shift) are ffmpeg operations on the encoded file. For a
``--model`` submission, which receives encoded media only, frame and sample corruptions are written
into the files too: the video is decoded once (torchcodec), every frame is corrupted at its own
presentation time, and it is encoded once (libx264, CRF 18, the audio stream copied); a sample
corruption decodes the audio at 16 kHz mono, corrupts it and re-encodes the track (AAC in the MP4,
the audio file's own container otherwise) with the picture copied.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from vaar.core.errors import MediaError, MissingDependencyError
from vaar.robustness.corruptions import VERSION, Context, Corruption, clip_seed
from vaar.robustness.modality import audio_codec, ffmpeg

Kind = Literal["video", "audio"]
SAMPLE_RATE = 16_000
CHUNK_FRAMES = 64  # frames decoded, corrupted and piped to the encoder at a time


def clip_context(corruption: Corruption, severity: int, seed: int, key: str, video: Path | bytes) -> Context:
    """The context of one clip: its seed and its video stream's time span (metadata only)."""
    from torchcodec.decoders import VideoDecoder

    meta = VideoDecoder(str(video) if isinstance(video, Path) else video, seek_mode="approximate").metadata
    begin = float(meta.begin_stream_seconds or 0.0)
    end = float(meta.end_stream_seconds or meta.duration_seconds or 0.0)
    return Context(corruption.name, severity, clip_seed(seed, key), max(end - begin, 1e-3), begin)


#: overrides where :func:`default_media_cache` keeps corrupted media
CACHE_ENV = "VAAR_ROBUSTNESS_CACHE"


def default_media_cache() -> Path:
    """The persistent corrupted-media cache: ``$VAAR_ROBUSTNESS_CACHE``, else
    ``$XDG_CACHE_HOME/vaar/robustness-media`` (``~/.cache/...``). Entries are keyed by the source
    file's sha256, corruption, severity, seed and :data:`.registry.VERSION`, so a stale entry is
    never read; delete the folder to reclaim the space."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(base) / "vaar" / "robustness-media"


class MediaCache:
    """Corrupted media files on disk (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.made = 0  # files written by this object (the rest came from the cache)

    def path(self, name: str, severity: int, seed: int, key: str, kind: Kind, suffix: str) -> Path:
        return self.root / name / f"v{VERSION}-s{severity}-seed{seed}" / key[:2] / f"{key}.{kind}{suffix}"

    def get(self, c: Corruption, severity: int, seed: int, data: bytes, kind: Kind, suffix: str,
            make: Callable[[Path, Path], None]) -> bytes:  # fmt: skip
        """The corrupted bytes of ``data``; ``make(src, dst)`` writes them on a cache miss."""
        key = hashlib.sha256(data).hexdigest()
        target = self.path(c.name, severity, seed, key, kind, suffix)
        if target.is_file():
            return target.read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
            src, dst = Path(tmp) / f"src{suffix}", Path(tmp) / f"dst{suffix}"
            src.write_bytes(data)
            make(src, dst)
            os.replace(dst, target)
        self.made += 1
        return target.read_bytes()


def corrupt_file(c: Corruption, src: Path, dst: Path, kind: Kind, ctx: Context) -> None:
    """Write ``dst``: ``src`` (a clip's video or audio file) with corruption ``c`` applied."""
    if c.stage == "media":
        c.fn(src, dst, kind, ctx)
    elif c.stage == "frames" and kind == "video":
        _frames(c, src, dst, ctx)
    elif c.stage == "samples":
        _samples(c, src, dst, kind, ctx)
    else:  # a frame corruption leaves an audio file alone
        dst.write_bytes(src.read_bytes())


def _frames(c: Corruption, src: Path, dst: Path, ctx: Context) -> None:
    from torchcodec.decoders import VideoDecoder

    dec = VideoDecoder(str(src))
    meta = dec.metadata
    n = int(meta.num_frames or len(dec))
    fps = float(meta.average_fps or 25.0)
    first = dec.get_frames_in_range(0, min(n, 1)).data
    _, h, w = first.shape[1:]
    cmd = ["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", f"{fps:.6f}", "-i", "pipe:0", "-i", str(src), "-map", "0:v:0", "-map", "1:a?",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "copy",
           "-movflags", "+faststart", str(dst)]  # fmt: skip
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise MissingDependencyError("ffmpeg not found: install ffmpeg or run 'make install'") from None
    assert proc.stdin is not None
    try:
        for lo in range(0, n, CHUNK_FRAMES):
            batch = dec.get_frames_in_range(lo, min(n, lo + CHUNK_FRAMES))
            out = c.fn(batch.data, batch.pts_seconds.double(), ctx)  # (k, 3, H, W) uint8
            proc.stdin.write(out.permute(0, 2, 3, 1).contiguous().numpy().tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["ffmpeg failed"])[-1]
        raise MediaError(f"ffmpeg: {last[:200]}")


def _samples(c: Corruption, src: Path, dst: Path, kind: Kind, ctx: Context) -> None:
    from torchcodec.decoders import AudioDecoder

    try:
        wave = AudioDecoder(str(src), sample_rate=SAMPLE_RATE, num_channels=1).get_all_samples().data[0]
    except (RuntimeError, ValueError):  # no audio stream: nothing to corrupt
        dst.write_bytes(src.read_bytes())
        return
    raw = c.fn(wave, ctx).numpy().astype("<f4").tobytes()
    pcm = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
    if kind == "video":
        ffmpeg(["-i", str(src), *pcm, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac",
                "-b:a", "128k", "-movflags", "+faststart", str(dst)], stdin=raw)  # fmt: skip
    else:
        ffmpeg([*pcm, *audio_codec(dst.suffix), str(dst)], stdin=raw)


def corrupt_clip_media(
    c: Corruption, severity: int, seed: int, cache: MediaCache,
    video: bytes, audio: bytes | None, video_name: str | None, audio_name: str | None,
) -> tuple[bytes, bytes | None]:  # fmt: skip
    """A clip's (video, audio) files with ``c`` at ``severity`` applied; cached."""
    key = hashlib.sha256(video).hexdigest()
    vsuffix = Path(video_name or "clip.mp4").suffix or ".mp4"
    ctx_holder: list[Context] = []

    def context(src: Path) -> Context:
        if not ctx_holder:
            ctx_holder.append(clip_context(c, severity, seed, key, src))
        return ctx_holder[0]

    def make_video(src: Path, dst: Path) -> None:
        corrupt_file(c, src, dst, "video", context(src))

    new_video = cache.get(c, severity, seed, video, "video", vsuffix, make_video)
    if audio is None or "audio" not in c.touches:
        return new_video, audio
    if audio == video:
        return new_video, new_video
    asuffix = Path(audio_name or "clip.flac").suffix or ".flac"

    def make_audio(src: Path, dst: Path) -> None:
        with tempfile.NamedTemporaryFile(suffix=vsuffix) as fh:  # the clip's timing comes from its video
            fh.write(video)
            fh.flush()
            ctx = context(Path(fh.name))
        corrupt_file(c, src, dst, "audio", ctx)

    return new_video, cache.get(c, severity, seed, audio, "audio", asuffix, make_audio)
