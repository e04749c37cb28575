"""Score a model, not only a file: the protocol ``vaar-bench submit --model pkg.mod:factory``.

The protocol::

    def factory() -> Model: ...              # no arguments; load weights inside

    class Model:
        def predict(self, batch: list[Clip]) -> scores:   # (len(batch), 10) array-like
            ...
        batch_size: int = 8                  # optional: clips per predict() call
        def parameters(self): ...            # optional: an int, or an iterable of tensors
                                             # (a torch.nn.Module's own .parameters() works)

``Clip`` (below) holds one clip of the published dataset as stored in its Parquet shards: the
encoded video (MP4 with its audio track) and audio bytes, undecoded, so a model decodes them with
whatever it was trained with (torchcodec, PyAV, ffmpeg). ``scores`` has one row per clip, in batch
order, and one column per class in taxonomy order (:func:`vaar.taxonomy.default_taxonomy`
``.slugs``, the dataset's ``ClassLabel`` order): probabilities or logits, higher meaning more
likely. The predicted label is the row's arg-max. A torch tensor is accepted (it is detached and
moved to the CPU).

vaar-bench measures, rather than asks for, the cost: the parameter count (``parameters()``, or
the torch modules among the model's attributes) and the CPU latency per clip (the median
wall-clock time of ``predict([clip])`` over the first ``latency_clips`` clips, after one warm-up
call). GPUs are hidden (``CUDA_VISIBLE_DEVICES=""``) before the model's module is imported, so
the whole run is on the CPU. torch is imported here only if the model itself imported it.
"""

from __future__ import annotations

import csv
import importlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vaar.bench.entry import Cost
from vaar.bench.truth import LabelSet, split_shards
from vaar.errors import ConfigError, ManifestError
from vaar.taxonomy import default_taxonomy

DEFAULT_BATCH_SIZE = 8
DEFAULT_LATENCY_CLIPS = 16


@dataclass(frozen=True)
class Clip:
    """One clip handed to ``Model.predict``."""

    clip_id: str
    video: bytes  # encoded video file (MP4: H.264 video + AAC audio), as published
    audio: bytes | None  # encoded audio file as published (e.g. 16 kHz WAV/FLAC), None if absent
    video_path: str | None  # the file name stored beside the bytes in the dataset
    audio_path: str | None


class Model(Protocol):
    def predict(self, batch: Sequence[Clip]) -> Any: ...


def load_factory(spec: str) -> Callable[[], Any]:
    """Resolve ``package.module:factory``."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"--model {spec!r}: expected package.module:factory")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # latency is measured on the CPU
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"--model {spec!r}: cannot import {module_name} ({exc})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"--model {spec!r}: {module_name} has no callable {attr}")
    return factory  # type: ignore[no-any-return]


def count_parameters(model: Any) -> int | None:
    """``model.parameters()`` (an int or tensors), else the torch modules among its attributes."""
    fn = getattr(model, "parameters", None)
    if callable(fn):
        value = fn()
        if isinstance(value, (int, np.integer)):
            return int(value)
        seen: set[int] = set()
        total = 0
        for p in value:
            if id(p) not in seen:
                seen.add(id(p))
                total += int(p.numel()) if hasattr(p, "numel") else int(np.size(p))
        return total
    if "torch" in sys.modules:  # the model imported torch; look one level down
        import torch

        params: dict[int, int] = {}
        for attr in vars(model).values():
            if isinstance(attr, torch.nn.Module):
                for p in attr.parameters():
                    params[id(p)] = p.numel()
        if params:
            return int(sum(params.values()))
    return None


def _as_scores(out: Any, n: int, n_classes: int, spec: str) -> npt.NDArray[np.float64]:
    if hasattr(out, "detach"):
        out = out.detach().cpu().float().numpy()
    try:
        arr = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"--model {spec}: predict() returned {type(out).__name__}, not an array of scores") from None
    if arr.shape != (n, n_classes):
        raise ConfigError(f"--model {spec}: predict() returned shape {arr.shape}, expected ({n}, {n_classes}) "
                          "(one row per clip, one column per class in taxonomy order)")
    if not np.isfinite(arr).all():
        raise ConfigError(f"--model {spec}: predict() returned non-finite scores")
    return arr


def _media(value: Any, root: Path) -> tuple[bytes | None, str | None]:
    """A dataset media cell (struct of bytes + path, or raw bytes) as (bytes, path)."""
    if value is None:
        return None, None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), None
    data, path = value.get("bytes"), value.get("path")
    if data is None and path and (root / path).is_file():
        data = (root / path).read_bytes()
    return (bytes(data) if data is not None else None), path


def iter_clips(root: Path, split: str, batch_size: int) -> Iterator[list[Clip]]:
    """Batches of clips from the split's Parquet shards, reading only the needed columns."""
    import pyarrow.parquet as pq

    for shard in split_shards(root, split):
        pf = pq.ParquetFile(shard)
        names = set(pf.schema_arrow.names)
        if not {"clip_id", "video"} <= names:
            raise ManifestError(f"{shard}: needs columns clip_id and video; is this a published dataset shard?")
        cols = ["clip_id", "video"] + (["audio"] if "audio" in names else [])
        for rb in pf.iter_batches(batch_size=batch_size, columns=cols):
            d = rb.to_pydict()
            batch = []
            for i, cid in enumerate(d["clip_id"]):
                video, vpath = _media(d["video"][i], root)
                audio, apath = _media(d["audio"][i], root) if "audio" in d else (None, None)
                batch.append(Clip(str(cid), video or b"", audio, vpath, apath))
            yield batch


def _torch_context() -> Any:
    if "torch" in sys.modules:
        import torch

        return torch.inference_mode()
    import contextlib

    return contextlib.nullcontext()


def _threads() -> int | None:
    if "torch" in sys.modules:
        import torch

        return int(torch.get_num_threads())
    return None


def run_model(
    spec: str,
    root: Path,
    split: str,
    truth: LabelSet,
    *,
    batch_size: int | None = None,
    latency_clips: int = DEFAULT_LATENCY_CLIPS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str, Cost]:
    """Run the model over the split; returns canonical predictions CSV text and the measured cost."""
    tax = default_taxonomy()
    model = load_factory(spec)()
    if not callable(getattr(model, "predict", None)):
        raise ConfigError(f"--model {spec}: the factory's object has no predict(batch) method")
    bs = int(batch_size or getattr(model, "batch_size", DEFAULT_BATCH_SIZE) or DEFAULT_BATCH_SIZE)
    wanted = set(truth.clip_ids)
    rows: dict[str, npt.NDArray[np.float64]] = {}
    timings: list[float] = []
    warmed = False
    with _torch_context():
        for batch in iter_clips(root, split, bs):
            batch = [c for c in batch if c.clip_id in wanted]
            if not batch:
                continue
            # latency: one clip at a time, after a warm-up call
            for clip in batch:
                if len(timings) >= latency_clips:
                    break
                if not warmed:
                    model.predict([clip])
                    warmed = True
                t0 = time.perf_counter()
                _as_scores(model.predict([clip]), 1, len(tax.slugs), spec)
                timings.append((time.perf_counter() - t0) * 1000.0)
            scores = _as_scores(model.predict(batch), len(batch), len(tax.slugs), spec)
            for clip, row in zip(batch, scores, strict=True):
                rows[clip.clip_id] = row
            if progress:
                progress(len(rows), len(wanted))
    cost = Cost(
        parameters=count_parameters(model),
        latency_ms_per_clip=statistics.median(timings) if timings else None,
        latency_clips=len(timings),
        device="cpu",
        threads=_threads(),
        measured=True,
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["clip_id", "label", *(f"score_{s}" for s in tax.slugs)])
    for cid in truth.clip_ids:
        if cid in rows:  # a clip missing from the shards is reported by validation
            row = rows[cid]
            w.writerow([cid, tax.slugs[int(np.argmax(row))], *(repr(float(x)) for x in row)])
    return buf.getvalue(), cost
