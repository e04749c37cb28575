"""Predictions of a trained run on one split, in the predictions contract of DESIGN.md §3.

CSV columns: ``clip_id``, ``label`` (the predicted class slug) and ``score_<slug>`` for every
class: the softmax of the clip-level logits (for ``late_fusion``, of the mean log-probabilities
of its two branches, i.e. their normalised geometric mean). Every clip of the split appears
exactly once, in the split's order.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaar.baselines.avarnet import BaselineModel
from vaar.baselines.config import resolve_config
from vaar.baselines.data import class_names, clip_refs, open_dataset, require_split
from vaar.baselines.features import FeatureCache
from vaar.baselines.train import evaluate, load_checkpoint, load_split, pick_device
from vaar.core._util.atomic import atomic_path
from vaar.core.csvsafe import safe_row
from vaar.core.errors import ConfigError


@dataclass(frozen=True)
class LoadedRun:
    """A trained run folder: the selected seed's model, its classes and its feature extraction."""

    run_dir: Path
    info: dict[str, Any]
    model: BaselineModel
    seed: int

    @property
    def classes(self) -> list[str]:
        return list(self.info["classes"])


def load_run(run_dir: str | Path, seed: int | None = None, device: str = "cpu") -> LoadedRun:
    """Load ``RUN`` (written by ``vaar-bench train``); ``seed`` None takes the best seed."""
    run = Path(run_dir)
    info_path = run / "run.json"
    if not info_path.is_file():
        raise ConfigError(f"{run}: not a training run (no run.json); make one with `vaar-bench train`")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    chosen = int(info["best_seed"] if seed is None else seed)
    ckpt = run / f"seed_{chosen}" / "model.safetensors"
    if not ckpt.is_file():
        raise ConfigError(f"{run}: no checkpoint for seed {chosen} (seeds: {info['seeds']})")
    return LoadedRun(run, info, load_checkpoint(ckpt, pick_device(device)), chosen)


@dataclass(frozen=True)
class PredictSummary:
    out: str
    split: str
    clips: int
    seed: int
    accuracy: float | None  # when the split has labels


def predict_split(
    run_dir: str | Path,
    dataset_dir: str | Path,
    split: str,
    out: str | Path,
    *,
    features_dir: str | Path | None = None,
    seed: int | None = None,
    device: str = "auto",
) -> PredictSummary:
    """Score every clip of ``split`` with the run's model and write the predictions CSV."""
    run = load_run(run_dir, seed, device)
    dd = open_dataset(dataset_dir)
    names = class_names(dd)
    if list(names) != run.classes:
        raise ConfigError(f"{dataset_dir}: classes differ from the run's ({', '.join(run.classes)})")
    cache = FeatureCache(features_dir or run.info["features"])
    refs = clip_refs(require_split(dd, split, dataset_dir))
    data = load_split(cache, run.info["extraction"], refs)
    if data.missing:
        raise ConfigError(
            f"{len(data.missing)} clip(s) of {split} have no cached features (first: "
            f"{data.missing[0]}); run `vaar-bench features --dataset {dataset_dir} --out {cache.root}`"
        )
    cfg = resolve_config(run.run_dir / "config.yaml")
    device_t = next(run.model.parameters()).device
    _, logits = evaluate(run.model, data, cfg, device_t)  # (N, K)
    probs = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()  # (N, K)
    write_predictions(out, [r.clip_id for r in data.refs], probs, run.classes)
    acc = None
    if data.labelled:
        acc = float((probs.argmax(1) == data.labels.numpy()).mean())
    return PredictSummary(str(out), split, len(refs), run.seed, acc)


def write_predictions(out: str | Path, clip_ids: list[str], probs: np.ndarray, classes: list[str]) -> None:
    """Write the CSV atomically (a temporary file beside it, then rename)."""
    path = Path(out)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["clip_id", "label", *(f"score_{c}" for c in classes)])
        for cid, p in zip(clip_ids, probs, strict=True):
            w.writerow(safe_row([cid, classes[int(np.argmax(p))], *(f"{float(x):.6f}" for x in p)]))
