"""Corrupted features for a trained run's backbones, cached beside its clean ones.

Every corruption first makes a corrupted copy of the clip's files (:mod:`.media`, one decode, the
corruption at each frame's presentation time, one encode; cached and shared with ``--model``),
then extracts from it exactly as from the clean files. So a trained run (``--run``) and a
submitted model (``--model``, ``submit --robustness``) see bit-identical corrupted inputs.
(:class:`CorruptionTransform`, ``extract_clip``'s ``transform`` hook, applies a frame or sample
corruption to decoded arrays without the encode; it is kept for experiments, not used by the
scorer.)

Features are stored in the run's feature cache (the folder of ``vaar-bench features``) under the
layout ``<clean layout>~<corruption>-v<VERSION>-s<severity>-seed<seed>``, per modality and backbone key; a
modality the corruption does not touch reuses the clean features (bit-identical by construction,
and tested). A second model on the same backbones therefore computes no features at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaar.robustness.corruptions import VERSION, Context, Corruption, clip_seed
from vaar.robustness.media_cache import MediaCache, corrupt_clip_media

if TYPE_CHECKING:
    from torch import Tensor

    from vaar.baselines.data import ClipRef
    from vaar.baselines.features import FeatureCache, LazyBackbones


class CorruptionTransform:
    """The ``extract_clip`` hook of one corruption, severity and clip (frames or samples stage)."""

    def __init__(self, c: Corruption, severity: int, seed: int, key: str) -> None:
        self.c, self.severity, self.seed = c, severity, clip_seed(seed, key)

    def context(self, bounds: Tensor) -> Context:
        start, end = float(bounds[0, 0]), float(bounds[-1, 1])
        return Context(self.c.name, self.severity, self.seed, max(end - start, 1e-3), start)

    def frames(self, frames: Tensor, bounds: Tensor) -> Tensor:
        if self.c.stage != "frames":
            return frames
        return self.c.fn(frames, bounds.double().mean(dim=1), self.context(bounds))  # type: ignore[no-any-return]

    def samples(self, wave: Tensor, bounds: Tensor) -> Tensor:
        if self.c.stage != "samples":
            return wave
        return self.c.fn(wave, self.context(bounds))  # type: ignore[no-any-return]


def layout_for(clean_layout: str, c: Corruption | None, severity: int, seed: int) -> str:
    return clean_layout if c is None else f"{clean_layout}~{c.name}-v{VERSION}-s{severity}-seed{seed}"


Sources = Callable[[], tuple[bytes | str, bytes | str | None, str | None, str | None]]


@dataclass
class ExtractStats:
    computed: int = 0  # clips whose corrupted features were computed here
    cached: int = 0  # clips whose features all came from the cache
    failed: list[tuple[str, str]] = field(default_factory=list)


def _as_bytes(src: bytes | str | None) -> bytes | None:
    if src is None or isinstance(src, bytes):
        return src
    return Path(src).read_bytes()


Condition = tuple[Corruption | None, int]  # (corruption or None for clean, severity)


def _layouts(clean_layout: str, c: Corruption | None, severity: int, seed: int) -> dict[str, str]:
    touched = ("audio", "video") if c is None else c.touches
    return {m: layout_for(clean_layout, c if m in touched else None, severity, seed) for m in ("audio", "video")}


def load_features(cache: FeatureCache, loader: LazyBackbones, clean_layout: str, ref: ClipRef,
                  c: Corruption | None, severity: int, seed: int) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(T, Da), (T, Dv) cached features of one clip under ``c`` (None: clean), or None."""
    lay = _layouts(clean_layout, c, severity, seed)
    a = cache.load("audio", loader.key("audio"), lay["audio"], ref.key)
    v = cache.load("video", loader.key("video"), lay["video"], ref.key)
    return None if a is None or v is None else (a, v)


class _Decoded:
    """One clip's sources, decoded at most once: centre frames and the audio track (lazily)."""

    def __init__(self, sources: Sources, segments: int) -> None:
        from vaar.baselines.features import clip_bounds

        self.video_src, self.audio_src, self.vname, self.aname = sources()
        self.bounds = clip_bounds(self.video_src, segments, None)  # (T, 2)
        self._frames: Tensor | None = None
        self._wave: Tensor | None = None

    def frames(self) -> Tensor:
        from vaar.baselines.features import decode_centre_frames

        if self._frames is None:
            self._frames = decode_centre_frames(self.video_src, self.bounds)  # (T, 3, H, W)
        return self._frames

    def wave(self) -> Tensor:
        if self._wave is None:
            self._wave = _decode_wave(self.audio_src if self.audio_src is not None else self.video_src, self.bounds)
        return self._wave


def _compute(clip: _Decoded, loader: LazyBackbones, c: Corruption | None, sev: int, seed: int, key: str,
             miss: list[str], media: MediaCache, together: list[int] | None = None) -> dict[str, Tensor | None]:  # fmt: skip
    """Features of the modalities ``miss`` of one clip under one condition.

    A corrupted condition extracts from the corrupted copy of the clip's files (:mod:`.media`,
    cached): the very bytes a ``--model`` submission is given, so ``--run`` and ``--model`` score
    the same corrupted inputs (one path; tested bit for bit)."""
    from vaar.baselines.features import extract_clip

    if c is not None:
        v_bytes, a_bytes = corrupt_clip_media(c, sev, seed, media, _as_bytes(clip.video_src) or b"",
                                              _as_bytes(clip.audio_src), clip.vname, clip.aname, together or ())  # fmt: skip
        a, v = extract_clip(v_bytes, a_bytes, clip.bounds, loader.audio() if "audio" in miss else None,
                            loader.video() if "video" in miss else None)  # fmt: skip
        return {"audio": a, "video": v}
    out: dict[str, Tensor | None] = {}
    b = clip.bounds
    if "video" in miss:
        out["video"] = loader.video().embed(clip.frames())  # (T, Dv)
    if "audio" in miss:
        out["audio"] = loader.audio().embed(clip.wave(), b.float())  # (T, Da)
    return out


def missing_features(cache: FeatureCache, loader: LazyBackbones, clean_layout: str, ref: ClipRef,
                     conditions: list[Condition], seed: int) -> list[tuple[Corruption | None, int, dict[str, str], list[str]]]:  # fmt: skip
    """The conditions whose features of one clip the cache lacks: (corruption, severity, layouts, modalities)."""
    todo: list[tuple[Corruption | None, int, dict[str, str], list[str]]] = []
    for c, sev in conditions:
        lay = _layouts(clean_layout, c, sev, seed)
        touched = ("audio", "video") if c is None else c.touches
        miss: list[str] = [m for m in touched if not cache.path(m, loader.key(m), lay[m], ref.key).is_file()]  # type: ignore[arg-type]
        if miss:
            todo.append((c, sev, lay, miss))
    return todo


def media_clips(refs: Sequence[ClipRef], sources: Sequence[Sources]) -> Iterator[Any]:
    """The clips' media as :func:`.media_cache.fill_clips` takes them (read one at a time)."""
    from types import SimpleNamespace

    for ref, get in zip(refs, sources, strict=True):
        video, audio, vname, aname = get()
        yield SimpleNamespace(clip_id=ref.clip_id, video=_as_bytes(video) or b"", audio=_as_bytes(audio),
                              video_path=vname, audio_path=aname)  # fmt: skip


def fill_clip(
    cache: FeatureCache, loader: LazyBackbones, clean_layout: str, segments: int, ref: ClipRef,
    sources: Sources, conditions: list[Condition], seed: int, media: MediaCache, stats: ExtractStats,
) -> None:  # fmt: skip
    """Compute whatever features of one clip the cache lacks, for every condition at once.

    The clean condition decodes the clip once (its T centre frames and its audio track); each
    corruption extracts from its corrupted copy of the files (:func:`_compute`).
    """
    todo = missing_features(cache, loader, clean_layout, ref, conditions, seed)
    if not todo:
        stats.cached += 1
        return
    try:
        clip = _Decoded(sources, segments)
    except Exception as exc:  # noqa: BLE001 - a broken clip is recorded, not fatal
        stats.failed.append((ref.clip_id, f"{type(exc).__name__}: {exc}"[:200]))
        return
    together: dict[str, list[int]] = {}  # the severities of a corruption, made in one pass
    for c, sev, _, _ in todo:
        if c is not None:
            together.setdefault(c.name, []).append(sev)
    for c, sev, lay, miss in todo:
        try:
            sevs = together.get(c.name) if c is not None else None
            for m, arr in _compute(clip, loader, c, sev, seed, ref.key, miss, media, sevs).items():
                if arr is not None:
                    cache.save(m, loader.key(m), lay[m], ref.key, arr.numpy())  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - one failed condition is recorded (and scored wrong)
            what = "clean" if c is None else f"{c.name} s{sev}"
            stats.failed.append((ref.clip_id, f"{what}: {type(exc).__name__}: {exc}"[:200]))
    stats.computed += 1


def _decode_wave(src: bytes | str, bounds: Tensor) -> Tensor:
    """As ``extract_clip`` decodes audio: 16 kHz mono, silence when the clip has no audio stream."""
    import torch

    from vaar.baselines.backbones import SAMPLE_RATE
    from vaar.baselines.features import decode_audio

    try:
        return decode_audio(src)  # (S,)
    except (RuntimeError, ValueError):
        return torch.zeros(int(float(bounds[-1, 1]) * SAMPLE_RATE) + 1)


def split_sources(ds: Any, i: int, root: Path) -> Sources:
    """The lazy media of row ``i``: (video, audio, video file name, audio file name)."""
    from vaar.baselines.data import media_source

    def get() -> tuple[bytes | str, bytes | str | None, str | None, str | None]:
        row = ds[i]
        video = media_source(row["video"], root)
        audio = media_source(row["audio"], root) if row.get("audio") else None
        return video, audio, row["video"].get("path"), (row["audio"] or {}).get("path")

    return get
