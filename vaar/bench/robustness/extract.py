"""Corrupted features for a trained run's backbones, cached beside its clean ones.

Frame and sample corruptions run inside :func:`vaar.baselines.features.extract_clip` through its
``transform`` hook: the frames and samples are corrupted after decoding, before the backbone, so
nothing is re-encoded. ``media`` corruptions first make a corrupted copy of the clip's files
(:mod:`.media`, cached), then extract from it.

Features are stored in the run's feature cache (the folder of ``vaar-bench features``) under the
layout ``<clean layout>~<corruption>-s<severity>-seed<seed>``, per modality and backbone key; a
modality the corruption does not touch reuses the clean features (bit-identical by construction,
and tested). A second model on the same backbones therefore computes no features at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vaar.bench.robustness.media import MediaCache, corrupt_clip_media
from vaar.bench.robustness.registry import Context, Corruption, clip_seed

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
    return clean_layout if c is None else f"{clean_layout}~{c.name}-s{severity}-seed{seed}"


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


def clip_features(
    cache: FeatureCache, loader: LazyBackbones, clean_layout: str, segments: int, ref: ClipRef,
    sources: Sources, c: Corruption | None, severity: int, seed: int, media: MediaCache, stats: ExtractStats,
) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
    """(T, Da), (T, Dv) features of one clip under ``c`` (None: clean); None if the clip failed."""
    from vaar.baselines.features import clip_bounds, extract_clip

    touched = ("audio", "video") if c is None else c.touches
    layouts = {m: layout_for(clean_layout, c if m in touched else None, severity, seed) for m in ("audio", "video")}
    have = {m: cache.load(m, loader.key(m), layouts[m], ref.key) for m in ("audio", "video")}  # type: ignore[arg-type]
    if all(a is not None for a in have.values()):
        stats.cached += 1
        return have["audio"], have["video"]  # type: ignore[return-value]
    try:
        video_src, audio_src, vname, aname = sources()
        bounds = clip_bounds(video_src, segments, None)
        transform = None
        if c is not None and c.stage == "media":
            v_bytes, a_bytes = corrupt_clip_media(c, severity, seed, media, _as_bytes(video_src) or b"",
                                                  _as_bytes(audio_src), vname, aname)  # fmt: skip
            video_src, audio_src = v_bytes, a_bytes
        elif c is not None:
            transform = CorruptionTransform(c, severity, seed, ref.key)
        a, v = extract_clip(video_src, audio_src, bounds,
                            loader.audio() if have["audio"] is None else None,
                            loader.video() if have["video"] is None else None, transform=transform)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a broken clip is recorded, not fatal
        stats.failed.append((ref.clip_id, f"{type(exc).__name__}: {exc}"[:200]))
        return None
    for m, arr in (("audio", a), ("video", v)):
        if arr is not None:
            have[m] = arr.numpy()
            cache.save(m, loader.key(m), layouts[m], ref.key, have[m])  # type: ignore[arg-type]
    stats.computed += 1
    return have["audio"], have["video"]  # type: ignore[return-value]


def split_sources(ds: Any, i: int, root: Path) -> Sources:
    """The lazy media of row ``i``: (video, audio, video file name, audio file name)."""
    from vaar.baselines.data import media_source

    def get() -> tuple[bytes | str, bytes | str | None, str | None, str | None]:
        row = ds[i]
        video = media_source(row["video"], root)
        audio = media_source(row["audio"], root) if row.get("audio") else None
        return video, audio, row["video"].get("path"), (row["audio"] or {}).get("path")

    return get
