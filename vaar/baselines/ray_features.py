"""``vaar-bench features --backend ray``: the same feature cache, filled by Ray actors.

::

    driver: read split ─► cache hit? ── yes ─► counted as cached (no media read, nothing sent)
                               │ no
                               ▼ clip media (embedded bytes, or a path all nodes can read)
    actor k (one model pair each, on a GPU when the cluster has them) ─► (T, Da), (T, Dv)
                               ▼
    driver: FeatureCache.save (atomic), summary, features.json

Each actor loads the backbones once (:class:`~vaar.baselines.features.LazyBackbones`) and runs
:func:`~vaar.baselines.features.extract_clip`, the code the local path runs, so the arrays are
the same. The driver stays the only writer of the cache, so the cache folder need not be shared;
the dataset folder must be readable on every node when its media cells are paths rather than
embedded bytes (``vaar build`` embeds them). At most ``2 × actors`` clips are in flight. An actor
whose process dies is restarted and its clip retried (``max_restarts`` / ``max_task_retries``).
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import numpy as np

from vaar.baselines.backbones import DEFAULT_AUDIO, DEFAULT_VIDEO
from vaar.baselines.data import clip_refs, open_dataset
from vaar.baselines.features import (
    MODALITIES,
    ExtractionSummary,
    FeatureCache,
    LazyBackbones,
    Progress,
    SplitSummary,
    Timings,
    _row_sources,
    clip_bounds,
    extract_clip,
    layout_name,
)
from vaar.errors import ConfigError

Result = tuple["np.ndarray | None", "np.ndarray | None", Timings, "str | None"]


class FeatureWorker:
    """Body of one Ray actor: one audio and one video backbone, loaded on first use."""

    def __init__(self, audio: str, video: str, device: str, threads: int) -> None:
        import torch

        torch.set_flush_denormal(True)
        torch.set_num_threads(max(1, threads))
        self.loader = LazyBackbones(audio, video, device)

    def dim(self, modality: str) -> int:
        return self.loader.dim(modality)  # type: ignore[arg-type]

    def compute(
        self, video_src: bytes | str, audio_src: bytes | str | None, segments: int, audio: bool, video: bool
    ) -> Result:
        """Features of one clip for the modalities asked; an error is returned, not raised."""
        tm = Timings()
        try:
            bounds = clip_bounds(video_src, segments, None)
            a, v = extract_clip(video_src, audio_src, bounds, self.loader.audio() if audio else None,
                                self.loader.video() if video else None, tm)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a broken clip is recorded, not fatal
            return None, None, tm, f"{type(exc).__name__}: {exc}"[:200]
        return (a.numpy() if a is not None else None), (v.numpy() if v is not None else None), tm, None


def extract_dataset_ray(
    dataset_dir: str | Path,
    cache_dir: str | Path,
    *,
    segments: int = 32,
    audio_backbone: str = DEFAULT_AUDIO,
    video_backbone: str = DEFAULT_VIDEO,
    splits: list[str] | None = None,
    ray_address: str | None = None,
    actors: int | None = None,
    progress: Progress | None = None,
) -> ExtractionSummary:
    """:func:`~vaar.baselines.features.extract_dataset` on Ray actors; same cache, same summary.

    ``actors`` defaults to one per GPU of the cluster (each ``num_gpus=1``, device ``cuda``),
    or on a CPU-only cluster to one per CPU (each ``num_cpus=1``, one torch thread).
    """
    from vaar.curation.backends import import_ray, init_ray

    start = time.perf_counter()
    if segments < 1:
        raise ConfigError(f"--segments must be >= 1, got {segments}")
    root = Path(dataset_dir).resolve()
    dd = open_dataset(root)
    names = splits or list(dd)
    for s in names:
        if s not in dd:
            raise ConfigError(f"{root}: no split {s!r}; splits: {', '.join(dd)}")
    cache = FeatureCache(cache_dir)
    layout = layout_name(segments)
    keys = LazyBackbones(audio_backbone, video_backbone, "cpu")  # keys only: loads nothing
    ray = import_ray()
    owns = init_ray(ray_address)
    try:
        res = ray.cluster_resources()
        gpus = int(res.get("GPU", 0))
        n = actors or gpus or max(1, int(res.get("CPU", 1)))
        opts: dict[str, Any] = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
        cls = ray.remote(max_restarts=2, max_task_retries=2, **opts)(FeatureWorker)
        pool = [cls.remote(audio_backbone, video_backbone, "cuda" if gpus else "cpu", 1) for _ in range(n)]
        summaries, timings, dims = _run(dd, names, root, cache, keys, layout, segments, pool, progress)
        for m in MODALITIES:
            if m not in dims:  # nothing computed or cached: ask an actor (loads that backbone)
                dims[m] = int(ray.get(pool[0].dim.remote(m)))
    finally:
        if owns:
            ray.shutdown()
    entry: dict[str, Any] = {
        "audio_backbone": audio_backbone, "audio_key": keys.key("audio"), "audio_dim": dims["audio"],
        "video_backbone": video_backbone, "video_key": keys.key("video"), "video_dim": dims["video"],
        "layout": layout, "segments": segments, "dataset": str(root),
    }  # fmt: skip
    cache.record(entry)
    return ExtractionSummary(
        cache=str(cache.root), layout=layout, audio_backbone=audio_backbone, video_backbone=video_backbone,
        audio_dim=dims["audio"], video_dim=dims["video"], splits=summaries, timings=timings,
        seconds=time.perf_counter() - start,
    )  # fmt: skip


def _run(
    dd: Any, names: list[str], root: Path, cache: FeatureCache, keys: LazyBackbones, layout: str,
    segments: int, pool: list[Any], progress: Progress | None,
) -> tuple[dict[str, SplitSummary], Timings, dict[str, int]]:  # fmt: skip
    """Stream the clips the cache lacks through the actors, at most two per actor in flight."""
    summaries: dict[str, SplitSummary] = {s: SplitSummary() for s in names}
    timings = Timings()
    dims: dict[str, int] = {}
    total = sum(len(dd[s]) for s in names)
    done = 0
    busy: dict[Future[Any], tuple[str, str, str, int]] = {}  # → split, clip_id, key, actor
    load = [0] * len(pool)

    def settle(fut: Future[Any]) -> None:
        nonlocal done
        split, clip_id, key, k = busy.pop(fut)
        load[k] -= 1
        summary = summaries[split]
        try:
            a, v, tm, error = fut.result()
        except Exception as exc:  # the actor died past its restarts
            a, v, tm, error = None, None, Timings(), f"{type(exc).__name__}: {exc}"[:200]
        if error is not None:
            summary.failed.append((clip_id, error))
        else:
            for m, arr in zip(MODALITIES, (a, v), strict=True):
                if arr is not None:
                    cache.save(m, keys.key(m), layout, key, arr)
                    dims[m] = int(arr.shape[1])
            summary.computed += 1
        timings.add(tm)
        done += 1
        if progress is not None:
            progress(done, total, clip_id)

    for split in names:
        ds = dd[split]
        for i, ref in enumerate(clip_refs(ds)):
            summary = summaries[split]
            summary.clips += 1
            have = {m: cache.load(m, keys.key(m), layout, ref.key) for m in MODALITIES}
            if all(x is not None for x in have.values()):
                summary.cached += 1
                dims.update({m: int(x.shape[1]) for m, x in have.items() if x is not None})
                done += 1
                if progress is not None:
                    progress(done, total, ref.clip_id)
                continue
            while len(busy) >= 2 * len(pool):
                finished, _ = wait(list(busy), return_when=FIRST_COMPLETED)
                for fut in finished:
                    settle(fut)
            try:
                video_src, audio_src = _row_sources(ds, i, root)
            except Exception as exc:  # noqa: BLE001 - unreadable media cell: recorded
                summary.failed.append((ref.clip_id, f"{type(exc).__name__}: {exc}"[:200]))
                done += 1
                continue
            k = min(range(len(pool)), key=load.__getitem__)
            load[k] += 1
            ref_ = pool[k].compute.remote(video_src, audio_src, segments, have["audio"] is None,
                                          have["video"] is None)  # fmt: skip
            busy[ref_.future()] = (split, ref.clip_id, ref.key, k)
    while busy:
        finished, _ = wait(list(busy), return_when=FIRST_COMPLETED)
        for fut in finished:
            settle(fut)
    return summaries, timings, dims
