"""XD-Violence: release-layout reader, weakly supervised training, per-snippet anomaly scores.

Dataset: P. Wu et al., "Not only Look, but also Listen: Learning Multimodal Violence Detection
under Weak Supervision", ECCV 2020. Its videos carry their labels in the file name,
``<name>_label_<codes>.mp4`` with up to three codes joined by ``-`` and padded with ``0``::

    A  normal     B1 fighting   B2 shooting   B4 riot   B5 abuse   B6 car accident   G explosion

    Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6.mp4      v=8cTqh9tMz_I__#1_label_B1-0-0.mp4

Only video-level labels exist for training; ``annotations.txt`` gives the violent frame ranges of
the test videos (``name start end [start end ...]``). Layout read here::

    ROOT/train/**/*.mp4     ROOT/test/**/*.mp4     ROOT/annotations.txt

Protocol: features per 16-frame snippet (the feature cache with layout ``snip16``: Wav2Vec2
pooled over the snippet's audio, MobileViT on its centre frame). Training resamples each video's
snippets to T segments (mean over T equal groups of snippets), runs the chosen baseline model
(``avarnet`` etc., two classes: normal / violent) and uses multiple-instance learning with top-k
pooling — the video score is the mean of its k highest segment probabilities, k = ⌊T/16⌋ + 1 —
against the video label with binary cross-entropy, plus the MS-TCN smoothing term per stage.
Testing runs the fully convolutional model over all snippets of a video; each snippet's violence
probability is repeated over its 16 frames and AP is computed over all frames of all test videos
(the scoring of ``vaar-bench score --task xd-violence``).
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vaar._util.hashing import sha256_file
from vaar.baselines.avarnet import BaselineModel, HeadSpec, create_model
from vaar.baselines.config import TrainConfig, write_config
from vaar.baselines.features import (
    FeatureCache,
    LazyBackbones,
    SplitSummary,
    Timings,
    cache_clip,
    layout_name,
)
from vaar.baselines.mtcn import smoothing_loss
from vaar.baselines.train import pick_device, save_checkpoint
from vaar.errors import ConfigError, ManifestError

CODES: dict[str, str] = {
    "A": "normal", "B1": "fighting", "B2": "shooting", "B4": "riot", "B5": "abuse",
    "B6": "car accident", "G": "explosion",
}  # fmt: skip
SNIPPET = 16
_NAME = re.compile(r"_label_(?P<codes>[A-Z0-9]+(?:-[A-Z0-9]+){0,2})$")


@dataclass(frozen=True)
class XDVideo:
    name: str  # file stem, as in annotations.txt
    path: Path
    codes: tuple[str, ...]  # e.g. ("B1", "B2"); ("A",) for normal

    @property
    def violent(self) -> bool:
        return self.codes != ("A",)


def parse_codes(stem: str) -> tuple[str, ...]:
    """Label codes of a release file name (``..._label_B1-B2-0`` → ``('B1', 'B2')``)."""
    m = _NAME.search(stem)
    if not m:
        raise ManifestError(f"{stem}: not an XD-Violence name (expected '..._label_<codes>')")
    codes = tuple(c for c in m.group("codes").split("-") if c != "0")
    bad = [c for c in codes if c not in CODES]
    if bad or not codes:
        raise ManifestError(f"{stem}: unknown label code(s) {bad or codes}; valid: {', '.join(CODES)}")
    if "A" in codes and len(codes) > 1:
        raise ManifestError(f"{stem}: normal (A) combined with violence codes")
    return codes


def scan_videos(folder: Path) -> list[XDVideo]:
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder (XD-Violence layout: ROOT/train, ROOT/test)")
    return [XDVideo(p.stem, p, parse_codes(p.stem)) for p in sorted(folder.rglob("*.mp4"))]


@dataclass(frozen=True)
class XDLayout:
    train: list[XDVideo]
    test: list[XDVideo]
    annotations: Path


def read_layout(root: str | Path) -> XDLayout:
    r = Path(root)
    ann = r / "annotations.txt"
    if not ann.is_file():
        raise ConfigError(f"{ann}: missing; it comes with the XD-Violence test set")
    return XDLayout(scan_videos(r / "train"), scan_videos(r / "test"), ann)


# -------------------------------------------------------------------------------------- features


def extract_videos(
    videos: list[XDVideo],
    cache_dir: str | Path,
    *,
    audio_backbone: str,
    video_backbone: str,
    device: str = "cpu",
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[dict[str, Any], SplitSummary, Timings]:
    """Per-snippet features of every video into the cache; returns the extraction entry."""
    cache = FeatureCache(cache_dir)
    layout = layout_name(None, SNIPPET)
    loader = LazyBackbones(audio_backbone, video_backbone, device)
    summary, timings, dims = SplitSummary(), Timings(), dict[str, int]()
    for i, v in enumerate(videos):
        sources = functools.partial(_same, str(v.path))
        cache_clip(cache, loader, layout, v.name, sha256_file(v.path), sources, summary, timings,
                   dims, snippet=SNIPPET)  # fmt: skip
        if progress is not None:
            progress(i + 1, len(videos), v.name)
    entry: dict[str, Any] = {
        "audio_backbone": audio_backbone, "audio_key": loader.key("audio"),
        "audio_dim": dims.get("audio") or loader.dim("audio"),
        "video_backbone": video_backbone, "video_key": loader.key("video"),
        "video_dim": dims.get("video") or loader.dim("video"),
        "layout": layout, "segments": None, "snippet": SNIPPET,
    }  # fmt: skip
    cache.record(entry)
    return entry, summary, timings


def _same(src: str) -> tuple[str, str]:
    return src, src  # the audio track is read from the video file


def load_video_features(cache: FeatureCache, entry: dict[str, Any], v: XDVideo) -> tuple[Tensor, Tensor] | None:
    key = sha256_file(v.path)
    a = cache.load("audio", entry["audio_key"], entry["layout"], key)
    b = cache.load("video", entry["video_key"], entry["layout"], key)
    if a is None or b is None:
        return None
    n = min(len(a), len(b))
    return torch.from_numpy(a[:n]), torch.from_numpy(b[:n])  # (N, Da), (N, Dv)


def resample(x: Tensor, steps: int) -> Tensor:
    """Mean over ``steps`` equal groups of rows (nearest row when a group is empty). (N, D) → (T, D)."""
    n = x.shape[0]
    edges = torch.linspace(0, n, steps + 1).round().long()  # (T+1,)
    out = []
    for t in range(steps):
        lo, hi = int(edges[t]), int(edges[t + 1])
        out.append(x[lo:hi].mean(0) if hi > lo else x[min(lo, n - 1)])
    return torch.stack(out)  # (T, D)


# -------------------------------------------------------------------------------------- training


def top_k(steps: int) -> int:
    return steps // 16 + 1


def weak_loss(outputs: list[Tensor], y: Tensor, k: int, smooth_weight: float, tau: float) -> Tensor:
    """MIL top-k BCE + smoothing, summed over stages and branches. outputs: [(S, B, 2, T)], y: (B,)."""
    total = outputs[0].new_zeros(())
    for branch in outputs:
        for logits in branch:  # (B, 2, T)
            p = F.softmax(logits, dim=1)[:, 1, :]  # (B, T) violence probability per segment
            video = p.topk(min(k, p.shape[1]), dim=1).values.mean(1)  # (B,)
            bce = F.binary_cross_entropy(video.clamp(1e-6, 1 - 1e-6), y.float())
            total = total + bce + smooth_weight * smoothing_loss(logits, tau)
    return total


@torch.no_grad()
def snippet_scores(model: BaselineModel, audio: Tensor, video: Tensor, device: torch.device) -> np.ndarray:
    """Violence probability of every snippet: audio (N, Da), video (N, Dv) → (N,)."""
    model.eval()
    out = model(audio[None].to(device), video[None].to(device))  # [(S, 1, 2, N)]
    return model.segment_log_probs(out)[0, 1].exp().float().cpu().numpy()


@dataclass
class XDResult:
    run_dir: str
    ap: float  # sklearn average_precision over all test frames
    pr_auc: float  # auc(recall, precision), the official protocol's figure
    per_seed: list[dict[str, float]]
    train_videos: int
    test_videos: int
    seconds: float


def frame_ap(scores: dict[str, np.ndarray], test: list[XDVideo], annotations: Path) -> tuple[float, float]:
    """AP over all frames: each snippet score repeated over its 16 frames."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve

    from vaar.bench.truth import load_xd_annotations, xd_frame_truth

    ranges = load_xd_annotations(annotations).ranges
    truth, pred = [], []
    for v in test:
        s = np.repeat(scores[v.name], SNIPPET)  # (16·N,)
        truth.append(xd_frame_truth(ranges.get(v.name, ()), len(s)))
        pred.append(s)
    t, p = np.concatenate(truth), np.concatenate(pred)
    if t.min() == t.max():
        return math.nan, math.nan
    precision, recall, _ = precision_recall_curve(t, p)
    return float(average_precision_score(t, p)), float(auc(recall, precision))


def train_xd(
    cfg: TrainConfig,
    root: str | Path,
    features_dir: str | Path,
    out_dir: str | Path,
    *,
    on_epoch: Callable[[int, int, int, float], None] | None = None,
) -> XDResult:
    """Weakly supervised training on ROOT/train, snippet scores and AP on ROOT/test.

    ``cfg.segments`` (default 32) is the T training videos are resampled to; every seed is
    trained for ``cfg.epochs`` epochs (XD-Violence has no validation split: the last epoch is
    kept) and scored; ``RUN/scores.jsonl`` holds the best seed's snippet scores in the format of
    ``vaar-bench score --task xd-violence``.
    """
    t0 = time.perf_counter()
    layout = read_layout(root)
    cache = FeatureCache(features_dir)
    entry = cache.find(cfg.audio_backbone, cfg.video_backbone, layout_name(None, SNIPPET))
    steps = cfg.segments or 32
    cfg = replace(cfg, audio_backbone=entry["audio_backbone"], video_backbone=entry["video_backbone"],
                  segments=steps)  # fmt: skip
    train_a, train_v, labels = [], [], []
    for v in layout.train:
        feats = load_video_features(cache, entry, v)
        if feats is not None:
            train_a.append(resample(feats[0], steps))
            train_v.append(resample(feats[1], steps))
            labels.append(int(v.violent))
    if not labels or len(set(labels)) < 2:
        raise ConfigError(f"{root}/train: need cached features of normal and violent videos")
    audio, video, y = torch.stack(train_a), torch.stack(train_v), torch.tensor(labels)
    test_feats = {v.name: load_video_features(cache, entry, v) for v in layout.test}
    missing = [n for n, f in test_feats.items() if f is None]
    if missing:
        raise ConfigError(f"{len(missing)} test video(s) have no features (first: {missing[0]})")
    spec = HeadSpec(int(entry["audio_dim"]), int(entry["video_dim"]), 2, cfg.num_stages,
                    cfg.num_layers, cfg.num_f_maps, cfg.dropout)  # fmt: skip
    device = pick_device(cfg.device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_config(cfg, out / "config.yaml")
    per_seed: list[dict[str, float]] = []
    best: tuple[float, dict[str, np.ndarray]] | None = None
    for seed in cfg.seeds:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = create_model(cfg.model, spec)
        model.fit_norm(audio, video)
        model.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        a_d, v_d, y_d = audio.to(device), video.to(device), y.to(device)
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            order = torch.randperm(len(y), generator=gen).to(device)
            total = 0.0
            for i in range(0, len(y), cfg.batch_size):
                idx = order[i : i + cfg.batch_size]
                loss = weak_loss(model(a_d[idx], v_d[idx]), y_d[idx], top_k(steps),
                                 cfg.smooth_weight, cfg.smooth_tau)  # fmt: skip
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            if on_epoch is not None:
                on_epoch(seed, epoch, cfg.epochs, total / len(y))
        scores = {}
        for name, f in test_feats.items():
            assert f is not None
            scores[name] = snippet_scores(model, f[0], f[1], device)
        ap, pr_auc = frame_ap(scores, layout.test, layout.annotations)
        per_seed.append({"seed": seed, "ap": ap, "pr_auc": pr_auc})
        save_checkpoint(model, out / f"seed_{seed}" / "model.safetensors", cfg.model)
        if best is None or (ap if not math.isnan(ap) else -1) > best[0]:
            best = (ap if not math.isnan(ap) else -1, scores)
    assert best is not None
    with open(out / "scores.jsonl", "w", encoding="utf-8") as fh:
        for v in layout.test:
            fh.write(json.dumps({"video": v.name, "scores": [round(float(s), 6) for s in best[1][v.name]]}) + "\n")
    aps = [r["ap"] for r in per_seed]
    result = XDResult(str(out), float(np.mean(aps)), float(np.mean([r["pr_auc"] for r in per_seed])),
                      per_seed, len(labels), len(layout.test), time.perf_counter() - t0)  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(
        {"per_seed": per_seed, "mean_ap": result.ap, "std_ap": float(np.std(aps, ddof=1)) if len(aps) > 1 else 0.0,
         "mean_pr_auc": result.pr_auc, "extraction": entry}, indent=2), encoding="utf-8")  # fmt: skip
    return result
