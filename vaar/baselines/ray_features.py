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
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from pathlib import Path
from typing import Any

import numpy as np

from vaar.baselines.backbones import DEFAULT_AUDIO, DEFAULT_VIDEO
from vaar.baselines.data import clip_refs
from vaar.baselines.features import (
    MODALITIES,
    ExtractionSummary,
    FeatureCache,
    LazyBackbones,
    Progress,
    SplitSummary,
    Timings,
    clip_bounds,
    extract_clip,
    layout_name,
    open_splits,
    row_sources,
)

Result = tuple["np.ndarray | None", "np.ndarray | None", Timings, "str | None"]

_LOADER: LazyBackbones | None = None  # this actor's backbones (set by init_feature_worker)


def init_feature_worker(audio: str, video: str, device: str, threads: int) -> None:
    """Actor initializer: one audio and one video backbone, loaded on first use."""
    import torch

    global _LOADER
    torch.set_flush_denormal(True)
    torch.set_num_threads(max(1, threads))
    _LOADER = LazyBackbones(audio, video, device)


def _loader() -> LazyBackbones:
    if _LOADER is None:
        raise RuntimeError("init_feature_worker did not run in this worker")
    return _LOADER


def backbone_dim(modality: str) -> int:
    return _loader().dim(modality)  # type: ignore[arg-type]


def compute_features(
    video_src: bytes | str, audio_src: bytes | str | None, segments: int, audio: bool, video: bool
) -> Result:
    """Features of one clip for the modalities asked; an error is returned, not raised."""
    tm = Timings()
    loader = _loader()
    try:
        bounds = clip_bounds(video_src, segments, None)
        a, v = extract_clip(video_src, audio_src, bounds, loader.audio() if audio else None,
                            loader.video() if video else None, tm)  # fmt: skip
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
    from vaar.curation.build.backends import RayActorExecutor, import_ray, init_ray

    start = time.perf_counter()
    root = Path(dataset_dir).resolve()
    dd, names = open_splits(root, splits, segments)
    cache = FeatureCache(cache_dir)
    layout = layout_name(segments)
    keys = LazyBackbones(audio_backbone, video_backbone, "cpu")  # keys only: loads nothing
    owns = init_ray(ray_address)
    try:
        res = import_ray().cluster_resources()
        gpus = int(res.get("GPU", 0))
        n = actors or gpus or max(1, int(res.get("CPU", 1)))
        pool = RayActorExecutor(n, init_feature_worker,
                                (audio_backbone, video_backbone, "cuda" if gpus else "cpu", 1),
                                num_gpus=1 if gpus else 0)  # fmt: skip
        with pool:
            run = _Run(dd, root, cache, keys, layout, segments, pool, 2 * n, progress)
            run.all(names)
            for m in MODALITIES:
                if m not in run.dims:  # nothing computed or cached: ask an actor (loads that backbone)
                    run.dims[m] = int(pool.submit(backbone_dim, m).result())
    finally:
        if owns:
            import_ray().shutdown()
    dims = run.dims
    entry: dict[str, Any] = {
        "audio_backbone": audio_backbone, "audio_key": keys.key("audio"), "audio_dim": dims["audio"],
        "video_backbone": video_backbone, "video_key": keys.key("video"), "video_dim": dims["video"],
        "layout": layout, "segments": segments, "frame_policy": "centre", "dataset": str(Path(root).resolve()),
    }  # fmt: skip  (the same record as the local path: Ray extracts with the centre policy only)
    cache.record(entry)
    return ExtractionSummary(
        cache=str(cache.root), layout=layout, audio_backbone=audio_backbone, video_backbone=video_backbone,
        audio_dim=dims["audio"], video_dim=dims["video"], splits=run.summaries, timings=run.timings,
        seconds=time.perf_counter() - start,
    )  # fmt: skip


class _Run:
    """Stream the clips the cache lacks through an executor, at most ``max_in_flight`` at once;
    the driver alone writes the cache."""

    def __init__(self, dd: Any, root: Path, cache: FeatureCache, keys: LazyBackbones, layout: str,
                 segments: int, pool: Executor, max_in_flight: int, progress: Progress | None) -> None:
        self.dd, self.root, self.cache, self.keys, self.layout = dd, root, cache, keys, layout
        self.segments, self.pool, self.max_in_flight, self.progress = segments, pool, max_in_flight, progress
        self.summaries: dict[str, SplitSummary] = {}
        self.timings = Timings()
        self.dims: dict[str, int] = {}
        self.total = 0
        self.done = 0
        self.busy: dict[Future[Any], tuple[str, str, str]] = {}  # → split, clip_id, key

    def all(self, names: list[str]) -> None:
        self.summaries = {s: SplitSummary() for s in names}
        self.total = sum(len(self.dd[s]) for s in names)
        for split in names:
            ds = self.dd[split]
            for i, ref in enumerate(clip_refs(ds)):
                self.clip(split, ds, i, ref)
        self.drain(0)

    def tick(self, clip_id: str) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total, clip_id)

    def clip(self, split: str, ds: Any, i: int, ref: Any) -> None:
        summary = self.summaries[split]
        summary.clips += 1
        have = {m: self.cache.load(m, self.keys.key(m), self.layout, ref.key) for m in MODALITIES}
        if all(x is not None for x in have.values()):
            summary.cached += 1
            self.dims.update({m: int(x.shape[1]) for m, x in have.items() if x is not None})
            self.tick(ref.clip_id)
            return
        self.drain(self.max_in_flight - 1)
        try:
            video_src, audio_src = row_sources(ds, i, self.root)
        except Exception as exc:  # noqa: BLE001 - unreadable media cell: recorded
            summary.failed.append((ref.clip_id, f"{type(exc).__name__}: {exc}"[:200]))
            self.done += 1
            return
        fut = self.pool.submit(compute_features, video_src, audio_src, self.segments,
                               have["audio"] is None, have["video"] is None)  # fmt: skip
        self.busy[fut] = (split, ref.clip_id, ref.key)

    def drain(self, limit: int) -> None:
        """Settle finished clips until at most ``limit`` are in flight."""
        while len(self.busy) > limit:
            finished, _ = wait(list(self.busy), return_when=FIRST_COMPLETED)
            for fut in finished:
                self.settle(fut)

    def settle(self, fut: Future[Any]) -> None:
        split, clip_id, key = self.busy.pop(fut)
        summary = self.summaries[split]
        try:
            a, v, tm, error = fut.result()
        except Exception as exc:  # the actor died past its restarts
            a, v, tm, error = None, None, Timings(), f"{type(exc).__name__}: {exc}"[:200]
        if error is not None:
            summary.failed.append((clip_id, error))
        else:
            for m, arr in zip(MODALITIES, (a, v), strict=True):
                if arr is not None:
                    self.cache.save(m, self.keys.key(m), self.layout, key, arr)
                    self.dims[m] = int(arr.shape[1])
            summary.computed += 1
        self.timings.add(tm)
        self.tick(clip_id)
