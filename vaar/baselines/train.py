"""Train a baseline on cached features: one run per seed, selection on validation, reports.

A run folder holds::

    RUN/config.yaml               the resolved TrainConfig (backbones and T filled in)
    RUN/run.json                  classes, head spec, feature extraction, best seed
    RUN/seed_<s>/model.safetensors   the selected epoch's weights (+ metadata)
    RUN/seed_<s>/history.json     per-epoch train loss, validation loss and accuracy
    RUN/metrics.json              metrics per seed and their mean ± std
    RUN/learning_curve.png        train loss and validation accuracy per epoch, every seed
    RUN/confusion_matrix.png      best seed on test (validation if test has no labels)

Training follows MS-TCN (Farha & Gall, CVPR 2019): Adam, every segment labelled with its clip's
class, the loss summed over stages (cross-entropy + 0.15 × truncated MSE, τ = 4).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaar.baselines import ddp
from vaar.baselines.avarnet import BaselineModel, HeadSpec, create_model, head_flops
from vaar.baselines.config import TrainConfig, write_config
from vaar.baselines.data import ClipRef, class_names, clip_refs, open_dataset
from vaar.baselines.features import FeatureCache, layout_name
from vaar.core._util.atomic import atomic_path
from vaar.core.errors import ConfigError

EpochCallback = Callable[[int, int, int, dict[str, float]], None]  # (seed, epoch, epochs, record)


@dataclass
class SplitFeatures:
    """Cached features of one split: audio (N, T, Da), video (N, T, Dv), labels (N,)."""

    refs: list[ClipRef]
    audio: torch.Tensor
    video: torch.Tensor
    labels: torch.Tensor
    missing: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> bool:
        return len(self.refs) > 0 and bool((self.labels >= 0).all())


def load_split(cache: FeatureCache, extraction: dict[str, Any], refs: list[ClipRef]) -> SplitFeatures:
    """Stack the cached arrays of ``refs``; clips without features are listed in ``missing``."""
    layout = extraction["layout"]
    audio, video, kept, missing = [], [], [], []
    for ref in refs:
        a = cache.load("audio", extraction["audio_key"], layout, ref.key)
        v = cache.load("video", extraction["video_key"], layout, ref.key)
        if a is None or v is None:
            missing.append(ref.clip_id)
            continue
        audio.append(a)
        video.append(v)
        kept.append(ref)
    da, dv = int(extraction["audio_dim"]), int(extraction["video_dim"])
    steps = int(extraction.get("segments") or 0)
    return SplitFeatures(
        refs=kept,
        audio=torch.from_numpy(np.stack(audio)) if audio else torch.zeros(0, steps, da),
        video=torch.from_numpy(np.stack(video)) if video else torch.zeros(0, steps, dv),
        labels=torch.tensor([r.label for r in kept], dtype=torch.long),
        missing=missing,
    )


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda requested but torch sees no CUDA device; use --device cpu")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# --------------------------------------------------------------------------------------- metrics


def confusion(pred: np.ndarray, true: np.ndarray, k: int) -> np.ndarray:
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (true, pred), 1)
    return cm  # rows: true class, columns: predicted class


def summarise(pred: np.ndarray, true: np.ndarray, k: int) -> dict[str, float]:
    """Accuracy and the benchmark's macro-F1 (:func:`vaar.bench.metrics.macro_f1`)."""
    from vaar.bench.metrics import macro_f1_labels

    cm = confusion(pred, true, k)
    f1 = macro_f1_labels(true, pred, k) if len(true) else math.nan
    return {
        "accuracy": float(np.diag(cm).sum() / max(1, cm.sum())),
        "macro_f1": f1 if math.isfinite(f1) else 0.0,
    }


@torch.no_grad()
def evaluate(model: BaselineModel, data: SplitFeatures, cfg: TrainConfig, device: torch.device,
             batch_size: int = 256) -> tuple[float, np.ndarray]:  # fmt: skip
    """Mean loss (nan without labels) and clip-level logits (N, K) of a split."""
    model.eval()
    losses, scores = [], []
    for i in range(0, len(data.refs), batch_size):
        a = data.audio[i : i + batch_size].to(device)  # (b, T, Da)
        v = data.video[i : i + batch_size].to(device)  # (b, T, Dv)
        out = model(a, v)
        scores.append(model.clip_scores(out).float().cpu())  # (b, K)
        y = data.labels[i : i + batch_size].to(device)
        if bool((y >= 0).all()):
            losses.append(float(model.loss(out, y, cfg.smooth_weight, cfg.smooth_tau)) * len(y))
    n = len(data.refs)
    loss = sum(losses) / n if losses and n else math.nan
    k = model.spec.num_classes
    return loss, (torch.cat(scores).numpy() if scores else np.zeros((0, k), dtype=np.float32))


# -------------------------------------------------------------------------------------- training


@dataclass
class SeedResult:
    seed: int
    best_epoch: int
    history: list[dict[str, float]]
    validation: dict[str, float]
    test: dict[str, float] | None
    seconds: float


@dataclass
class TrainResult:
    run_dir: str
    model: str
    parameters: int
    flops_per_clip: int
    per_seed: list[SeedResult]
    mean: dict[str, float]
    std: dict[str, float]
    best_seed: int
    missing: dict[str, int]


def drop_modality(audio: torch.Tensor, video: torch.Tensor, p: float,
                  gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Zero one modality's features (audio or video, even odds) of each clip with probability ``p``:
    (b, T, Da), (b, T, Dv) -> the same shapes. The clean tensors are returned when ``p`` is 0."""
    if p <= 0:
        return audio, video
    b = audio.shape[0]
    drop = torch.rand(b, generator=gen) < p  # (b,)
    which = torch.rand(b, generator=gen) < 0.5  # (b,) True: audio, False: video
    keep_a = (~(drop & which)).to(audio.device, audio.dtype)[:, None, None]  # (b, 1, 1)
    keep_v = (~(drop & ~which)).to(video.device, video.dtype)[:, None, None]
    return audio * keep_a, video * keep_v


def fit_one_seed(
    cfg: TrainConfig,
    spec: HeadSpec,
    train: SplitFeatures,
    val: SplitFeatures,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> tuple[BaselineModel, list[dict[str, float]], int]:
    """Train ``cfg.epochs`` epochs; return the model at its best validation epoch."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = create_model(cfg.model, spec)
    model.fit_norm(train.audio, train.video)
    model.to(device)
    net = ddp.wrap(model)  # DistributedDataParallel under torchrun (vaar.baselines.ddp), else model
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    audio, video, labels = train.audio.to(device), train.video.to(device), train.labels.to(device)
    n = len(train.refs)
    history: list[dict[str, float]] = []
    best: tuple[float, float] | None = None
    best_state: dict[str, torch.Tensor] = {}
    best_epoch = 0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            idx = ddp.shard(order[i : i + cfg.batch_size])  # this rank's part of the batch
            a_b, v_b = drop_modality(audio[idx], video[idx], cfg.modality_dropout, gen)
            out = net(a_b, v_b)  # [(S, b, K, T)]
            loss = model.loss(out, labels[idx], cfg.smooth_weight, cfg.smooth_tau)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        total = ddp.all_sum(total)  # loss summed over the clips of every rank
        val_loss, val_scores = evaluate(model, val, cfg, device)
        val_acc = float((val_scores.argmax(1) == val.labels.numpy()).mean()) if len(val.refs) else 0.0
        record = {"epoch": epoch, "train_loss": total / max(1, n), "val_loss": val_loss, "val_accuracy": val_acc}
        history.append(record)
        score = (val_acc, -val_loss if not math.isnan(val_loss) else -math.inf)
        if best is None or score > best:
            best, best_epoch = score, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if on_epoch is not None:
            on_epoch(seed, epoch, cfg.epochs, record)
    model.load_state_dict(best_state)
    return model, history, best_epoch


def save_checkpoint(model: BaselineModel, path: Path, model_name: str) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = {"model": model_name, "head_spec": json.dumps(asdict(model.spec))}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> BaselineModel:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata() or {}
    if "model" not in meta:
        raise ConfigError(f"{path}: not a vaar baseline checkpoint (no model metadata)")
    model = create_model(meta["model"], HeadSpec(**json.loads(meta["head_spec"])))
    model.load_state_dict(load_file(str(path)))
    return model.to(device).eval()


def train_run(
    cfg: TrainConfig,
    dataset_dir: str | Path,
    features_dir: str | Path,
    out_dir: str | Path,
    on_epoch: EpochCallback | None = None,
) -> TrainResult:
    """Train every seed of ``cfg`` and write the run folder (see the module docstring)."""
    out = Path(out_dir)
    dd = open_dataset(dataset_dir)
    names = class_names(dd)
    cache = FeatureCache(features_dir)
    layout = layout_name(cfg.segments) if cfg.segments else None
    extraction = cache.find(cfg.audio_backbone, cfg.video_backbone, layout)
    cfg = replace(cfg, audio_backbone=extraction["audio_backbone"],
                  video_backbone=extraction["video_backbone"], segments=extraction["segments"])  # fmt: skip
    for split in ("train", "validation"):
        if split not in dd:
            raise ConfigError(f"{dataset_dir}: no {split!r} split; splits: {', '.join(dd)}")
    data = {s: load_split(cache, extraction, clip_refs(dd[s])) for s in dd}
    if not data["train"].labelled or not data["validation"].labelled or not data["train"].refs:
        raise ConfigError(f"{dataset_dir}: train and validation need labels and cached features")
    spec = HeadSpec(int(extraction["audio_dim"]), int(extraction["video_dim"]), len(names),
                    cfg.num_stages, cfg.num_layers, cfg.num_f_maps, cfg.dropout)  # fmt: skip
    device = pick_device(cfg.device)
    test = data.get("test")
    results: list[SeedResult] = []
    out.mkdir(parents=True, exist_ok=True)
    write_config(cfg, out / "config.yaml")
    cms: dict[int, tuple[str, np.ndarray]] = {}
    model = create_model(cfg.model, spec)
    for seed in cfg.seeds:
        t0 = time.perf_counter()
        model, history, best_epoch = fit_one_seed(cfg, spec, data["train"], data["validation"],
                                                  seed, device, on_epoch)  # fmt: skip
        save_checkpoint(model, out / f"seed_{seed}" / "model.safetensors", cfg.model)
        (out / f"seed_{seed}" / "history.json").write_text(json.dumps(history, indent=1), encoding="utf-8")
        _, vs = evaluate(model, data["validation"], cfg, device)
        val_pred, val_true = vs.argmax(1), data["validation"].labels.numpy()
        val_m = summarise(val_pred, val_true, len(names))
        test_m = None
        cms[seed] = ("validation", confusion(val_pred, val_true, len(names)))
        if test is not None and test.labelled:
            _, ts = evaluate(model, test, cfg, device)
            test_m = summarise(ts.argmax(1), test.labels.numpy(), len(names))
            cms[seed] = ("test", confusion(ts.argmax(1), test.labels.numpy(), len(names)))
        results.append(SeedResult(seed, best_epoch, history, val_m, test_m, time.perf_counter() - t0))
    mean, std = _mean_std(results)
    best_seed = max(results, key=lambda r: (r.validation["accuracy"], -r.seed)).seed
    result = TrainResult(
        run_dir=str(out), model=cfg.model, parameters=sum(p.numel() for p in model.parameters()),
        flops_per_clip=head_flops(model, int(cfg.segments or 0)), per_seed=results, mean=mean,
        std=std, best_seed=best_seed, missing={s: len(d.missing) for s, d in data.items()},
    )  # fmt: skip
    run_info = {
        "model": cfg.model, "classes": list(names), "head_spec": asdict(spec), "extraction": extraction,
        "features": str(Path(features_dir).resolve()), "dataset": str(Path(dataset_dir).resolve()),
        "best_seed": best_seed, "seeds": list(cfg.seeds), "parameters": result.parameters,
        "flops_per_clip": result.flops_per_clip,
    }  # fmt: skip
    (out / "run.json").write_text(json.dumps(run_info, indent=2), encoding="utf-8")
    metrics = {
        "per_seed": [{k: v for k, v in asdict(r).items() if k != "history"} for r in results],
        "mean": mean, "std": std, "best_seed": best_seed, "missing_features": result.missing,
    }  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    from vaar.baselines.plots import plot_confusion, plot_learning_curves

    plot_learning_curves({r.seed: r.history for r in results}, out / "learning_curve.png", cfg.model)
    split_name, cm = cms[best_seed]
    plot_confusion(cm, names, out / "confusion_matrix.png", f"{cfg.model}, seed {best_seed}, {split_name}")
    return result


def _mean_std(results: list[SeedResult]) -> tuple[dict[str, float], dict[str, float]]:
    rows: dict[str, list[float]] = {}
    for r in results:
        for split, m in (("validation", r.validation), ("test", r.test)):
            for k, v in (m or {}).items():
                rows.setdefault(f"{split}_{k}", []).append(v)
    mean = {k: float(np.mean(v)) for k, v in rows.items()}
    std = {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in rows.items()}
    return mean, std
