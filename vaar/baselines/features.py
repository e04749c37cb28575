"""Per-segment audio and video features of every clip, cached on disk.

AVAR-Net (2025) splits a clip into T temporal segments (default 32): the audio feature of a
segment is the Wav2Vec2 hidden states mean-pooled over the segment, the video feature is MobileViT
on the one frame at the segment's centre. Only those T frames are decoded (torchcodec seeks to
them); the audio track is decoded once, resampled to 16 kHz mono.

Cache layout (one ``.npy`` per clip, modality, backbone and segmenting; writes are atomic: a
temporary file in the same folder, then ``os.replace``)::

    CACHE/features.json                        extractions done into this cache (backbones, dims)
    CACHE/<audio|video>/<backbone key>/<layout>/<sha[:2]>/<sha256>.npy    float32 (T, D)

``layout`` is ``T32`` (32 equal segments) or ``snip16`` (16-frame snippets, XD-Violence). A clip
whose bytes change gets a new sha256 and is recomputed; a second run computes nothing (and does
not even load the backbones). Memory is bounded by one clip at a time.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from vaar.baselines.backbones import (
    DEFAULT_AUDIO,
    DEFAULT_VIDEO,
    SAMPLE_RATE,
    AudioBackbone,
    Backbone,
    Modality,
    VideoBackbone,
    create_backbone,
)
from vaar.baselines.data import clip_refs, media_source, open_dataset
from vaar.core._util.atomic import atomic_path, atomic_write_text
from vaar.core.errors import ConfigError

if TYPE_CHECKING:
    from torch import Tensor

MODALITIES: tuple[Modality, Modality] = ("audio", "video")
Progress = Callable[[int, int, str], None]  # (done, total, clip_id)


class MediaTransform(Protocol):
    """Alters decoded media inside :func:`extract_clip` (see vaar.robustness)."""

    def frames(self, frames: Tensor, bounds: Tensor) -> Tensor: ...  # (T, 3, H, W) uint8 -> same

    def samples(self, wave: Tensor, bounds: Tensor) -> Tensor: ...  # (S,) 16 kHz -> (S,)


def segment_bounds(start: float, duration: float, segments: int) -> Tensor:
    """T equal segments of ``[start, start + duration)``: (T, 2) seconds."""
    import torch

    edges = start + torch.linspace(0.0, max(duration, 1e-3), segments + 1, dtype=torch.float64)
    return torch.stack([edges[:-1], edges[1:]], dim=1)  # (T, 2)


def snippet_bounds(start: float, num_frames: int, fps: float, length: int = 16) -> Tensor:
    """Consecutive whole ``length``-frame snippets: (N, 2) seconds, N = (num_frames - 1) // length.

    The count of the official XD-Violence features, which the scorer requires
    (:func:`vaar.bench.truth.xd_snippet_count`): no partial last snippet.
    """
    import torch

    n = max(0, (int(num_frames) - 1) // length)
    first = torch.arange(n, dtype=torch.float64) * length  # (N,)
    return torch.stack([start + first / fps, start + (first + length) / fps], dim=1)  # (N, 2)


def layout_name(segments: int | None, snippet: int | None = None, frame_policy: str = "centre") -> str:
    base = f"snip{snippet}" if snippet else f"T{segments}"
    return base if frame_policy == "centre" else f"{base}-key"


# ------------------------------------------------------------------------------------ decoding


@dataclass
class Timings:
    decode_video: float = 0.0
    decode_audio: float = 0.0
    audio_forward: float = 0.0
    video_forward: float = 0.0

    def add(self, other: Timings) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)


def clip_bounds(video_src: bytes | str, segments: int | None, snippet: int | None) -> Tensor:
    """Segment bounds of a clip from its video stream's metadata (no frame is decoded)."""
    from torchcodec.decoders import VideoDecoder

    meta = VideoDecoder(video_src, seek_mode="approximate").metadata
    begin = float(meta.begin_stream_seconds or 0.0)
    end = float(meta.end_stream_seconds or meta.duration_seconds or 0.0)
    if snippet:
        fps = float(meta.average_fps or 25.0)
        return snippet_bounds(begin, int(meta.num_frames or round((end - begin) * fps)), fps, snippet)
    return segment_bounds(begin, end - begin, int(segments or 32))


def decode_centre_frames(video_src: bytes | str, bounds: Tensor) -> Tensor:
    """The frame played at each segment's centre, decoding only those: (T, 3, H, W) uint8."""
    from torchcodec.decoders import VideoDecoder

    dec = VideoDecoder(video_src, seek_mode="approximate")
    meta = dec.metadata
    lo = float(meta.begin_stream_seconds or 0.0)
    hi = float(meta.end_stream_seconds or meta.duration_seconds or 0.0)
    centres = bounds.mean(dim=1).clamp(min=lo, max=max(lo, hi - 1e-3))  # (T,)
    return dec.get_frames_played_at(seconds=centres.tolist()).data  # (T, 3, H, W)


FramePolicy = Literal["centre", "keyframe"]
FRAME_POLICIES: tuple[FramePolicy, ...] = ("centre", "keyframe")


def decode_frames(video_src: bytes | str, bounds: Tensor, policy: FramePolicy = "centre") -> Tensor:
    """One frame per segment: (T, 3, H, W) uint8. The policy is a speed/fidelity trade-off:

    * ``centre`` (default; the published baselines): the frame played at each segment's exact
      centre. Reaching it decodes from the keyframe before it up to the centre, so the cost
      grows with the keyframe interval.
    * ``keyframe``: the keyframe nearest each centre, decoded alone (no frames after it): about
      one frame's decode per distinct keyframe. The frame can be up to half a keyframe interval
      away from the centre (1 s at ``vaar build``'s 2 s interval), and when the interval is
      longer than a segment, neighbouring segments share a frame -- features that differ from
      the ``centre`` ones, so caches keep them apart (layout suffix ``-key``).
    """
    if policy == "centre":
        return decode_centre_frames(video_src, bounds)
    if policy == "keyframe":
        return decode_nearest_keyframes(video_src, bounds)
    raise ConfigError(f"unknown frame policy {policy!r}; valid: {', '.join(FRAME_POLICIES)}")


def decode_nearest_keyframes(video_src: bytes | str, bounds: Tensor) -> Tensor:
    """The keyframe nearest each segment's centre, each decoded once: (T, 3, H, W) uint8.

    torchcodec 0.17 lists keyframes only after the ``exact`` mode's scan of the stream (which
    reads packet headers and decodes nothing; ``approximate`` mode refuses the call), so this
    opens the decoder in ``exact`` mode; only the chosen keyframes are decoded.
    """
    import torch
    from torchcodec.decoders import VideoDecoder

    dec = VideoDecoder(video_src, seek_mode="exact")
    meta = dec.metadata
    keys = torch.as_tensor(dec._get_key_frame_indices(), dtype=torch.float64)  # (K,) frame indices
    fps = float(meta.average_fps or 25.0)
    last = max(0, int(meta.num_frames or 1) - 1)
    begin = float(meta.begin_stream_seconds or 0.0)
    centre = ((bounds.mean(dim=1) - begin) * fps).round().clamp(0, last)  # (T,) frame index at each centre
    if keys.numel() == 0:
        keys = torch.zeros(1, dtype=torch.float64)
    nearest = keys[(centre[:, None] - keys[None, :]).abs().argmin(dim=1)].long()  # (T,)
    unique, inverse = torch.unique(nearest, return_inverse=True)
    frames = dec.get_frames_at(unique.tolist()).data  # (U, 3, H, W)
    return frames[inverse]  # (T, 3, H, W)


def decode_audio(audio_src: bytes | str) -> Tensor:
    """The whole track, resampled to 16 kHz mono: (S,) float32."""
    return decode_audio_timed(audio_src)[0]


def decode_audio_timed(audio_src: bytes | str) -> tuple[Tensor, float]:
    """The whole track at 16 kHz mono (S,) and the presentation time of its first sample
    (the audio stream's own ``pts_seconds``, which may differ from the video's start)."""
    from torchcodec.decoders import AudioDecoder

    dec = AudioDecoder(audio_src, sample_rate=SAMPLE_RATE, num_channels=1)
    samples = dec.get_all_samples()
    return samples.data[0], float(samples.pts_seconds)  # (S,), seconds


def extract_clip(
    video_src: bytes | str,
    audio_src: bytes | str | None,
    bounds: Tensor,
    audio_bb: AudioBackbone | None,
    video_bb: VideoBackbone | None,
    timings: Timings | None = None,
    frame_policy: FramePolicy = "centre",
    transform: MediaTransform | None = None,
) -> tuple[Tensor | None, Tensor | None]:
    """Features of one clip for the backbones given (None skips a modality): (T, Da), (T, Dv).

    ``frame_policy`` picks the frame of each segment (:func:`decode_frames`); ``transform`` (the
    robustness track's hook) alters the decoded frames and samples before the backbones see them.
    """
    import torch

    tm = timings if timings is not None else Timings()
    a = v = None
    if video_bb is not None:
        t0 = time.perf_counter()
        frames = decode_frames(video_src, bounds, frame_policy)  # (T, 3, H, W)
        if transform is not None:
            frames = transform.frames(frames, bounds)
        t1 = time.perf_counter()
        v = video_bb.embed(frames)  # (T, Dv)
        tm.decode_video += t1 - t0
        tm.video_forward += time.perf_counter() - t1
    if audio_bb is not None:
        t0 = time.perf_counter()
        try:
            wave, audio_start = decode_audio_timed(audio_src if audio_src is not None else video_src)  # (S,)
        except (RuntimeError, ValueError):  # no audio stream: silence, so the clip still counts
            wave, audio_start = torch.zeros(int(float(bounds[-1, 1]) * SAMPLE_RATE) + 1), 0.0
        if transform is not None:
            wave = transform.samples(wave, bounds - audio_start)
        t1 = time.perf_counter()
        # bounds are on the presentation timeline; sample 0 of ``wave`` plays at ``audio_start``
        a = audio_bb.embed(wave, (bounds - audio_start).float())  # (T, Da)
        tm.decode_audio += t1 - t0
        tm.audio_forward += time.perf_counter() - t1
    return a, v


# --------------------------------------------------------------------------------------- cache


class FeatureCache:
    """Feature arrays on disk, keyed by modality, backbone key, layout and clip sha256."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, modality: Modality, backbone_key: str, layout: str, key: str) -> Path:
        return self.root / modality / backbone_key / layout / key[:2] / f"{key}.npy"

    def load(self, modality: Modality, backbone_key: str, layout: str, key: str) -> np.ndarray | None:
        p = self.path(modality, backbone_key, layout, key)
        return np.load(p) if p.is_file() else None

    def save(self, modality: Modality, backbone_key: str, layout: str, key: str, arr: np.ndarray) -> None:
        p = self.path(modality, backbone_key, layout, key)
        with atomic_path(p) as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr, dtype=np.float32))

    # -- extractions record -------------------------------------------------------------------

    def extractions(self) -> list[dict[str, Any]]:
        p = self.root / "features.json"
        return json.loads(p.read_text(encoding="utf-8"))["extractions"] if p.is_file() else []

    def record(self, entry: dict[str, Any]) -> None:
        """Add or move ``entry`` to the end (the latest) of ``features.json``, atomically."""
        from filelock import FileLock

        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".features.json.lock")):
            same = ("audio_backbone", "video_backbone", "layout")
            rest = [e for e in self.extractions() if any(e.get(k) != entry.get(k) for k in same)]
            text = json.dumps({"extractions": [*rest, entry]}, indent=2)
            atomic_write_text(self.root / "features.json", text + "\n")

    def find(self, audio: str | None = None, video: str | None = None, layout: str | None = None) -> dict[str, Any]:
        """The latest extraction matching the given backbones / layout (None: any)."""
        for e in reversed(self.extractions()):
            if all(
                want is None or e.get(k) == want
                for k, want in (("audio_backbone", audio), ("video_backbone", video), ("layout", layout))
            ):
                return e
        have = "; ".join(
            f"{e['audio_backbone']} + {e['video_backbone']} ({e['layout']})" for e in self.extractions()
        ) or "none"
        raise ConfigError(
            f"{self.root}: no features for audio={audio or 'any'}, video={video or 'any'}, "
            f"layout={layout or 'any'} (cached: {have}); run `vaar-bench features` first"
        )


# -------------------------------------------------------------------------------- whole dataset


@dataclass
class SplitSummary:
    clips: int = 0
    computed: int = 0
    cached: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (clip_id, error)


@dataclass
class ExtractionSummary:
    cache: str
    layout: str
    audio_backbone: str
    video_backbone: str
    audio_dim: int
    video_dim: int
    splits: dict[str, SplitSummary]
    timings: Timings
    seconds: float


def open_splits(root: Path, splits: list[str] | None, segments: int) -> tuple[Any, list[str]]:
    """The dataset folder and the names of the splits to extract (all by default), checked."""
    if segments < 1:
        raise ConfigError(f"--segments must be >= 1, got {segments}")
    dd = open_dataset(root)
    names = splits or list(dd)
    for s in names:
        if s not in dd:
            raise ConfigError(f"{root}: no split {s!r}; splits: {', '.join(dd)}")
    return dd, names


def extract_dataset(
    dataset_dir: str | Path,
    cache_dir: str | Path,
    *,
    segments: int = 32,
    audio_backbone: str = DEFAULT_AUDIO,
    video_backbone: str = DEFAULT_VIDEO,
    splits: list[str] | None = None,
    device: str = "cpu",
    progress: Progress | None = None,
    frame_policy: FramePolicy = "centre",
) -> ExtractionSummary:
    """Fill the cache for every clip of the dataset folder; returns counts and timings.

    ``frame_policy`` (:func:`decode_frames`): ``centre`` (default) or the faster ``keyframe``."""
    start = time.perf_counter()
    root = Path(dataset_dir)
    dd, names = open_splits(root, splits, segments)
    if frame_policy not in FRAME_POLICIES:
        raise ConfigError(f"unknown frame policy {frame_policy!r}; valid: {', '.join(FRAME_POLICIES)}")
    cache = FeatureCache(cache_dir)
    layout = layout_name(segments, None, frame_policy)
    loader = LazyBackbones(audio_backbone, video_backbone, device)
    timings = Timings()
    summaries: dict[str, SplitSummary] = {}
    total = sum(len(dd[s]) for s in names)
    done = 0
    dims: dict[str, int] = {}
    for split in names:
        ds = dd[split]
        summary = summaries.setdefault(split, SplitSummary())
        refs = clip_refs(ds)
        for i, ref in enumerate(refs):
            sources = functools.partial(row_sources, ds, i, root)
            cache_clip(cache, loader, layout, ref.clip_id, ref.key, sources, summary, timings,
                       dims, segments=segments, frame_policy=frame_policy)  # fmt: skip
            done += 1
            if progress is not None:
                progress(done, total, ref.clip_id)
    entry: dict[str, Any] = {
        "audio_backbone": audio_backbone,
        "audio_key": loader.key("audio"),
        "audio_dim": dims["audio"] if "audio" in dims else loader.dim("audio"),
        "video_backbone": video_backbone,
        "video_key": loader.key("video"),
        "video_dim": dims["video"] if "video" in dims else loader.dim("video"),
        "layout": layout,
        "segments": segments,
        "frame_policy": frame_policy,
        "dataset": str(root.resolve()),
    }
    cache.record(entry)
    return ExtractionSummary(
        cache=str(cache.root),
        layout=layout,
        audio_backbone=audio_backbone,
        video_backbone=video_backbone,
        audio_dim=int(entry["audio_dim"]),
        video_dim=int(entry["video_dim"]),
        splits=summaries,
        timings=timings,
        seconds=time.perf_counter() - start,
    )


def row_sources(ds: Any, i: int, root: Path) -> tuple[bytes | str, bytes | str | None]:
    row = ds[i]
    video_src = media_source(row["video"], root)
    audio_src = media_source(row["audio"], root) if row.get("audio") else None
    return video_src, audio_src


def cache_clip(
    cache: FeatureCache,
    loader: LazyBackbones,
    layout: str,
    clip_id: str,
    key: str,
    sources: Callable[[], tuple[bytes | str, bytes | str | None]],
    summary: SplitSummary,
    timings: Timings,
    dims: dict[str, int],
    *,
    segments: int | None = None,
    snippet: int | None = None,
    frame_policy: FramePolicy = "centre",
) -> None:
    """Compute and store whatever modality of one clip the cache lacks; record the outcome.

    ``sources`` is called only when something must be computed (reading media is lazy).
    """
    summary.clips += 1
    have = {m: cache.load(m, loader.key(m), layout, key) for m in MODALITIES}
    if all(a is not None for a in have.values()):
        summary.cached += 1
        dims.update({m: int(a.shape[1]) for m, a in have.items() if a is not None})
        return
    try:
        video_src, audio_src = sources()
        bounds = clip_bounds(video_src, segments, snippet)
        a, v = extract_clip(
            video_src,
            audio_src,
            bounds,
            loader.audio() if have["audio"] is None else None,
            loader.video() if have["video"] is None else None,
            timings,
            frame_policy,
        )
    except Exception as exc:  # noqa: BLE001 - a broken clip is recorded, not fatal
        summary.failed.append((clip_id, f"{type(exc).__name__}: {exc}"[:200]))
        return
    for m, arr in zip(MODALITIES, (a, v), strict=True):
        if arr is not None:
            cache.save(m, loader.key(m), layout, key, arr.numpy())
            dims[m] = int(arr.shape[1])
    summary.computed += 1


class LazyBackbones:
    """Loads a backbone the first time a clip needs it: a fully cached run loads none.

    The cache key of a backbone is known without loading it, except for a local folder whose
    weights are hashed once here.
    """

    def __init__(self, audio: str, video: str, device: str) -> None:
        from vaar.baselines.backbones import _resolve

        self.specs: dict[Modality, str] = {"audio": audio, "video": video}
        self.device = device
        self._keys: dict[Modality, str] = {}
        self._models: dict[Modality, Backbone] = {}
        for m, spec in self.specs.items():
            self._keys[m] = _resolve(spec)[2]

    def key(self, m: Modality) -> str:
        return self._keys[m]

    def dim(self, m: Modality) -> int:
        return self._get(m).dim

    def _get(self, m: Modality) -> Backbone:
        if m not in self._models:
            self._models[m] = create_backbone(self.specs[m], m, device=self.device)
        return self._models[m]

    def audio(self) -> AudioBackbone:
        bb = self._get("audio")
        assert isinstance(bb, AudioBackbone)
        return bb

    def video(self) -> VideoBackbone:
        bb = self._get("video")
        assert isinstance(bb, VideoBackbone)
        return bb
