"""Corrupted copies of a clip's media files, cached by corruption, severity, seed and clip.

Cache layout (writes are atomic: a temporary file in the folder, then ``os.replace``)::

    CACHE/<corruption>/v<VERSION>.<ENCODING>-s<severity>-seed<seed>/<sha[:2]>/<sha256 of the source>.<video|audio><suffix>

``media`` corruptions (compression, av_shift) are ffmpeg operations on the encoded file. For a
``--model`` submission, which receives encoded media only, frame and sample corruptions are written
into the files too: the video is decoded once (torchcodec), every frame is corrupted at its own
presentation time, and it is encoded once (libx264, CRF 18, one encoder thread, the audio stream
copied); a sample corruption decodes the audio at 16 kHz mono, corrupts it and re-encodes the track
(AAC in the MP4, the audio file's own container otherwise) with the picture copied.

Several severities of one corruption are made together (``together``): one decode of the clip and
one ffmpeg process writes all of them (the severities' frames stacked one above the other in one
raw picture and cropped apart again, their samples as the channels of one raw track and picked
apart again) — a process start costs more than encoding a short clip. A file is the same bytes
whether it was made alone or with others (``tests/bench/test_robustness_cache.py``), and the
same on any machine (one encoder thread: libx264's output depends on its thread count).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vaar.core.errors import MediaError, MissingDependencyError
from vaar.robustness.corruptions import VERSION, Context, Corruption, clip_seed, get_corruption
from vaar.robustness.modality import audio_codec, ffmpeg

Kind = Literal["video", "audio"]
SAMPLE_RATE = 16_000
CHUNK_FRAMES = 64  # frames decoded, corrupted and piped to the encoder at a time (fewer when large)
CHUNK_BYTES = 64 << 20  # the raw picture piped at a time, every severity together
#: how the files are encoded (a second part of the key beside the corruptions' VERSION)
ENCODING = 3
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-threads", "1", "-pix_fmt", "yuv420p"]


def clip_span(video: Path | bytes) -> tuple[float, float]:
    """(media time of the first frame, duration) of a clip's video stream (metadata only)."""
    from torchcodec.decoders import VideoDecoder

    meta = VideoDecoder(str(video) if isinstance(video, Path) else video, seek_mode="approximate").metadata
    begin = float(meta.begin_stream_seconds or 0.0)
    end = float(meta.end_stream_seconds or meta.duration_seconds or 0.0)
    return begin, max(end - begin, 1e-3)


def clip_context(corruption: Corruption, severity: int, seed: int, key: str, video: Path | bytes) -> Context:
    """The context of one clip: its seed and its video stream's time span (metadata only)."""
    begin, duration = clip_span(video)
    return Context(corruption.name, severity, clip_seed(seed, key), duration, begin)


#: overrides where :func:`default_media_cache` keeps corrupted media
CACHE_ENV = "VAAR_ROBUSTNESS_CACHE"


def default_media_cache() -> Path:
    """The persistent corrupted-media cache: ``$VAAR_ROBUSTNESS_CACHE``, else
    ``$XDG_CACHE_HOME/vaar/robustness-media`` (``~/.cache/...``). Entries are keyed by the source
    file's sha256, corruption, severity, seed, :data:`.corruptions.VERSION` and :data:`ENCODING`,
    so a stale entry is never read; delete the folder to reclaim the space."""
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
        self._sealed = False

    def _seal(self) -> None:
        """The cache's root is its owner's alone (0700): a sandboxed model runs as another user, and
        a cache it could read maps each corrupted file it is given (by its bytes) to the clean
        clip's sha256 (the file's name), undoing the opaque ids of the robustness protocol."""
        if not self._sealed:
            self.root.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(PermissionError):  # a folder someone else owns: theirs to protect
                os.chmod(self.root, 0o700)
            self._sealed = True

    def path(self, name: str, severity: int, seed: int, key: str, kind: Kind, suffix: str) -> Path:
        return self.root / name / f"v{VERSION}.{ENCODING}-s{severity}-seed{seed}" / key[:2] / f"{key}.{kind}{suffix}"

    def get(self, c: Corruption, severities: Iterable[int], seed: int, data: bytes, kind: Kind, suffix: str,
            make: Callable[[Path, dict[int, Path]], None], want: int, video_key: str | None = None) -> bytes:  # fmt: skip
        """The corrupted bytes of ``data`` at severity ``want``; on a miss, ``make(src, {severity:
        dst})`` writes every missing one of ``severities`` (``want`` included) at once."""
        key = hashlib.sha256(data).hexdigest() if kind == "audio" or video_key is None else video_key
        target = self.path(c.name, want, seed, key, kind, suffix)
        if target.is_file():
            return target.read_bytes()
        self.fill(c, severities, seed, data, kind, suffix, make, key=key)
        return target.read_bytes()

    def fill(self, c: Corruption, severities: Iterable[int], seed: int, data: bytes, kind: Kind, suffix: str,
             make: Callable[[Path, dict[int, Path]], None], *, key: str | None = None) -> int:  # fmt: skip
        """Make the missing files of ``severities``; returns how many were made."""
        key = key or hashlib.sha256(data).hexdigest()
        targets = {s: self.path(c.name, s, seed, key, kind, suffix) for s in sorted(set(severities))}
        missing = {s: t for s, t in targets.items() if not t.is_file()}
        if not missing:
            return 0
        self._seal()
        folder = next(iter(missing.values())).parent
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder, prefix=".tmp-") as tmp:
            src = Path(tmp) / f"src{suffix}"
            src.write_bytes(data)
            dsts = {s: Path(tmp) / f"s{s}{suffix}" for s in missing}
            make(src, dsts)
            for s, t in missing.items():
                t.parent.mkdir(parents=True, exist_ok=True)
                os.replace(dsts[s], t)
        self.made += len(missing)
        return len(missing)


def corrupt_file(c: Corruption, src: Path, dst: Path, kind: Kind, ctx: Context) -> None:
    """Write ``dst``: ``src`` (a clip's video or audio file) with corruption ``c`` applied."""
    corrupt_files(c, src, {ctx.severity: dst}, kind, {ctx.severity: ctx})


def corrupt_files(c: Corruption, src: Path, dsts: dict[int, Path], kind: Kind, ctxs: dict[int, Context]) -> None:
    """Write ``dsts[severity]`` for each severity: ``src`` with ``c`` applied at that severity."""
    if c.stage == "media":
        for s, dst in dsts.items():
            c.fn(src, dst, kind, ctxs[s])
    elif c.stage == "frames" and kind == "video":
        _frames(c, src, dsts, ctxs)
    elif c.stage == "samples":
        _samples(c, src, dsts, kind, ctxs)
    else:  # a frame corruption leaves an audio file alone
        for dst in dsts.values():
            dst.write_bytes(src.read_bytes())


def _frames(c: Corruption, src: Path, dsts: dict[int, Path], ctxs: dict[int, Context]) -> None:
    """Every severity's frames stacked vertically in one raw picture; each output crops its own."""
    import torch
    from torchcodec.decoders import VideoDecoder

    dec = VideoDecoder(str(src))
    meta = dec.metadata
    n = int(meta.num_frames or len(dec))
    fps = float(meta.average_fps or 25.0)
    _, h, w = dec.get_frames_in_range(0, min(n, 1)).data.shape[1:]
    sevs = sorted(dsts)
    chunk = max(1, min(CHUNK_FRAMES, CHUNK_BYTES // (len(sevs) * h * w * 3)))
    cmd = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h * len(sevs)}", "-r", f"{fps:.6f}", "-i", "pipe:0",
           "-i", str(src)]  # fmt: skip
    for i, s in enumerate(sevs):
        cmd += ["-map", "0:v:0", "-map", "1:a?", "-filter:v", f"crop={w}:{h}:0:{i * h}", *X264, "-c:a", "copy",
                "-movflags", "+faststart", str(dsts[s])]  # fmt: skip

    def chunks() -> Iterable[bytes]:
        for lo in range(0, n, chunk):
            batch = dec.get_frames_in_range(lo, min(n, lo + chunk))
            pts = batch.pts_seconds.double()
            outs = [c.fn(batch.data, pts, ctxs[s]) for s in sevs]  # each (k, 3, H, W) uint8
            yield torch.cat(outs, dim=2).permute(0, 2, 3, 1).contiguous().numpy().tobytes()

    _pipe_ffmpeg(cmd, chunks())


def _pipe_ffmpeg(args: list[str], chunks: Iterable[bytes]) -> None:
    """ffmpeg reading ``chunks`` on its standard input (its messages to a file, not a pipe that could fill)."""
    with tempfile.TemporaryFile() as err:
        try:
            proc = subprocess.Popen(["ffmpeg", "-hide_banner", "-v", "error", "-y", *args], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        except FileNotFoundError:
            raise MissingDependencyError("ffmpeg not found: install ffmpeg or run 'make install'") from None
        assert proc.stdin is not None
        try:
            for data in chunks:
                proc.stdin.write(data)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.wait() != 0:
            err.seek(0)
            last = (err.read().decode(errors="replace").strip().splitlines() or ["ffmpeg failed"])[-1]
            raise MediaError(f"ffmpeg: {last[:200]}")


def _samples(c: Corruption, src: Path, dsts: dict[int, Path], kind: Kind, ctxs: dict[int, Context]) -> None:
    """Every severity's samples as one channel of a raw track; each output picks its channel."""
    import numpy as np
    from torchcodec.decoders import AudioDecoder

    try:
        wave = AudioDecoder(str(src), sample_rate=SAMPLE_RATE, num_channels=1).get_all_samples().data[0]
    except (RuntimeError, ValueError):  # no audio stream: nothing to corrupt
        for dst in dsts.values():
            dst.write_bytes(src.read_bytes())
        return
    sevs = sorted(dsts)
    outs = [c.fn(wave, ctxs[s]).numpy().astype("<f4") for s in sevs]
    track = np.zeros((max(len(o) for o in outs), len(sevs)), dtype="<f4")  # (S, K), interleaved
    for i, o in enumerate(outs):
        track[: len(o), i] = o
    raw = next(iter(dsts.values())).parent / ".samples.f32"
    raw.write_bytes(track.tobytes())
    pcm = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", str(len(sevs)), "-i", str(raw)]
    args = ["-nostdin", "-i", str(src), *pcm] if kind == "video" else ["-nostdin", *pcm]
    for i, s in enumerate(sevs):
        pick = ["-filter:a", f"pan=mono|c0=c{i},atrim=end_sample={len(outs[i])}"]
        if kind == "video":
            args += ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *pick, "-c:a", "aac", "-b:a", "128k",
                     "-movflags", "+faststart", str(dsts[s])]  # fmt: skip
        else:
            args += ["-map", "0:a:0", *pick, *audio_codec(dsts[s].suffix), str(dsts[s])]
    try:
        ffmpeg(args)
    finally:
        raw.unlink(missing_ok=True)


def corrupt_clip_media(
    c: Corruption, severity: int, seed: int, cache: MediaCache,
    video: bytes, audio: bytes | None, video_name: str | None, audio_name: str | None,
    together: Iterable[int] = (), *, key: str | None = None,
) -> tuple[bytes, bytes | None]:  # fmt: skip
    """A clip's (video, audio) files with ``c`` at ``severity`` applied; cached. On a miss, the
    severities in ``together`` are made too, in the same pass (a run asks for them next).
    ``key``: the sha256 of ``video`` when the caller knows it."""
    key = key or hashlib.sha256(video).hexdigest()
    sevs = sorted({severity, *together})
    vsuffix = Path(video_name or "clip.mp4").suffix or ".mp4"
    span: list[tuple[float, float]] = []

    def contexts() -> dict[int, Context]:  # the clip's timing comes from its video, read once
        if not span:
            span.append(clip_span(video))
        begin, duration = span[0]
        return {s: Context(c.name, s, clip_seed(seed, key), duration, begin) for s in sevs}

    def make(kind: Kind) -> Callable[[Path, dict[int, Path]], None]:
        return lambda src, dsts: corrupt_files(c, src, dsts, kind, contexts())

    new_video = cache.get(c, sevs, seed, video, "video", vsuffix, make("video"), severity, key)
    if audio is None or "audio" not in c.touches:
        return new_video, audio
    if audio == video:
        return new_video, new_video
    asuffix = Path(audio_name or "clip.flac").suffix or ".flac"
    return new_video, cache.get(c, sevs, seed, audio, "audio", asuffix, make("audio"), severity)


# ------------------------------------------------------------------------- filling ahead, in parallel


@dataclass
class Filled:
    """What :func:`fill_clips` did: the (clip id, corruption, severity) conditions it made, and
    the clips it could not corrupt (retried, and recorded as failures, when they are scored)."""

    made: set[tuple[str, str, int]] = field(default_factory=set)
    failed: list[tuple[str, str]] = field(default_factory=list)


def missing_conditions(cache: MediaCache, conditions: Iterable[tuple[str, int]], seed: int, video: bytes,
                       video_name: str | None, key: str | None = None) -> list[tuple[str, int]]:  # fmt: skip
    """The (corruption, severity) pairs of ``conditions`` whose corrupted video of this clip the cache lacks."""
    key = key or hashlib.sha256(video).hexdigest()
    suffix = Path(video_name or "c.mp4").suffix or ".mp4"
    return [(n, s) for n, s in conditions if not cache.path(n, s, seed, key, "video", suffix).is_file()]


def grid(names: Iterable[str], severities: Iterable[int]) -> list[tuple[str, int]]:
    """Every (corruption, severity) pair, corruption-major."""
    sevs = list(severities)
    return [(n, s) for n in names for s in sevs]


def _fill_clip(root: str, conditions: Sequence[tuple[str, int]], seed: int, clip_id: str, video: bytes,
               audio: bytes | None, video_name: str | None,
               audio_name: str | None) -> tuple[str, list[tuple[str, int]], list[str]]:  # fmt: skip
    """Make every missing corrupted file of one clip (a worker's task); never raises."""
    cache = MediaCache(root)
    made: list[tuple[str, int]] = []
    errors: list[str] = []
    todo = missing_conditions(cache, conditions, seed, video, video_name)
    for name in dict.fromkeys(n for n, _ in todo):
        sevs = [s for n, s in todo if n == name]
        try:
            corrupt_clip_media(get_corruption(name), sevs[0], seed, cache, video, audio, video_name, audio_name, sevs)
            made += [(name, s) for s in sevs]
        except Exception as exc:  # noqa: BLE001 - recorded when the clip is scored
            errors.append(f"{name}: {type(exc).__name__}: {exc}"[:200])
    return clip_id, made, errors


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # the pool has one process per core


def fill_clips(clips: Iterable[Any], root: Path, conditions: Sequence[tuple[str, int]], seed: int,
               workers: int, progress: Callable[[int, str], None] | None = None) -> Filled:  # fmt: skip
    """Make the missing corrupted files of ``conditions`` ((corruption, severity) pairs; the
    severities of a corruption in one pass) of ``clips`` (:class:`vaar.bench.sandbox.Clip`s) before a
    run scores them, ``workers`` processes at once (one clip a task, at most two tasks a worker
    in flight, so the split is never all in memory); ``progress(clips done, clip id)``."""
    import concurrent.futures as cf
    import multiprocessing

    out = Filled()
    done = 0

    def record(result: tuple[str, list[tuple[str, int]], list[str]]) -> None:
        nonlocal done
        clip_id, made, errors = result
        out.made.update((clip_id, n, s) for n, s in made)
        out.failed += [(clip_id, e) for e in errors]
        done += 1
        if progress is not None:
            progress(done, clip_id)

    def args(clip: Any) -> tuple[Any, ...]:
        return (str(root), list(conditions), seed, clip.clip_id, clip.video, clip.audio, clip.video_path,
                clip.audio_path)  # fmt: skip

    if workers <= 1:
        for clip in clips:
            record(_fill_clip(*args(clip)))
        return out
    # spawn: the scorer's process runs threads (the sandbox's pipes), which a fork could catch holding a lock
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)
    try:
        pending: set[cf.Future[Any]] = set()
        for clip in clips:
            if len(pending) >= 2 * workers:
                finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for f in finished:
                    record(f.result())
            pending.add(pool.submit(_fill_clip, *args(clip)))
        for f in cf.as_completed(pending):
            record(f.result())
    except cf.process.BrokenProcessPool:
        pass  # a worker died (killed, out of memory): what it did not make is made when it is scored
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an interrupt does not wait for the queued clips
    return out
