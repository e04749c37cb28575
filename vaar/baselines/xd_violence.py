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

Selection never looks at the test set: a validation split is held out from ROOT/train (whole
source films together -- the name before ``__#`` -- seeded, with both classes), every seed keeps
its last epoch, and the seed with the best video-level validation AP (the MIL video score against
the video label) writes ``scores.jsonl``. When the training set is too small for such a split
the first seed of the config (declared before training) is used. The choice and its inputs are
written to ``RUN/selection.json``. Test AP per seed is reported, never used to choose.
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
from vaar.core._util.atomic import atomic_write_text
from vaar.core._util.hashing import sha256_file
from vaar.core.errors import ConfigError, ManifestError

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


def count_frames(path: Path) -> int:
    """Frames of a video from its stream header, as feature extraction reads them (``clip_bounds``)."""
    from torchcodec.decoders import VideoDecoder

    meta = VideoDecoder(str(path), seek_mode="approximate").metadata
    if meta.num_frames:
        return int(meta.num_frames)
    begin, end = float(meta.begin_stream_seconds or 0.0), float(meta.end_stream_seconds or 0.0)
    return int(round((end - begin) * float(meta.average_fps or 25.0)))


def write_frame_counts(videos: list[XDVideo], path: Path) -> dict[str, int]:
    """``video,frames`` for each video (the host's ``frames.csv`` read by the scorer); atomic."""
    counts = {v.name: count_frames(v.path) for v in videos}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "video,frames\n" + "".join(f"{k},{n}\n" for k, n in counts.items()))
    return counts


def source_group(name: str) -> str:
    """The source film or upload of a release name (``Bad.Boys.1995__#01-11-55...`` → ``Bad.Boys.1995``)."""
    return name.split("__#", 1)[0]


def holdout(videos: list[XDVideo], fraction: float, seed: int) -> list[XDVideo]:
    """A seeded, group-aware validation split of ``videos``: whole source groups, about
    ``fraction`` of the videos, with at least one group of each class. Empty when that would
    leave training or validation without both classes."""
    if fraction <= 0:
        return []
    groups: dict[str, list[XDVideo]] = {}
    for v in videos:
        groups.setdefault(source_group(v.name), []).append(v)
    names = sorted(groups)
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    want = max(2, round(fraction * len(videos)))
    picked: list[str] = []
    for cls in (True, False):  # one group holding each class first
        g = next((g for g in order if g not in picked and any(v.violent == cls for v in groups[g])), None)
        if g is not None:
            picked.append(g)
    for g in order:
        if sum(len(groups[x]) for x in picked) >= want:
            break
        if g not in picked:
            picked.append(g)
    val = [v for g in picked for v in groups[g]]
    rest = [v for v in videos if source_group(v.name) not in picked]
    if {v.violent for v in val} != {True, False} or {v.violent for v in rest} != {True, False}:
        return []
    return sorted(val, key=lambda v: v.name)


def video_ap(scores: dict[str, np.ndarray], videos: list[XDVideo]) -> float:
    """Video-level AP of the MIL video score (mean of the top ⌊N/16⌋+1 snippet scores)."""
    from vaar.bench.metrics import curve_areas, ones, rank

    vs = np.array([np.sort(scores[v.name])[::-1][: top_k(len(scores[v.name]))].mean() for v in videos])
    y = np.array([float(v.violent) for v in videos])
    return float(curve_areas(rank(vs, y), ones(len(videos)))[0][0])


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


VAL_FRACTION = 0.2
SPLIT_SEED = 0


def train_xd(
    cfg: TrainConfig,
    root: str | Path,
    features_dir: str | Path,
    out_dir: str | Path,
    *,
    on_epoch: Callable[[int, int, int, float], None] | None = None,
    val_fraction: float = VAL_FRACTION,
    split_seed: int = SPLIT_SEED,
) -> XDResult:
    """Weakly supervised training on ROOT/train, snippet scores and AP on ROOT/test.

    ``cfg.segments`` (default 32) is the T training videos are resampled to; every seed is
    trained for ``cfg.epochs`` epochs and keeps its last epoch. The seed that writes
    ``RUN/scores.jsonl`` (the format of ``vaar-bench score --task xd-violence``) is chosen on a
    validation split held out from ROOT/train (see the module docstring), never on test.
    """
    t0 = time.perf_counter()
    layout = read_layout(root)
    val_videos = holdout(layout.train, val_fraction, split_seed)
    val_names = {v.name for v in val_videos}
    cache = FeatureCache(features_dir)
    entry = cache.find(cfg.audio_backbone, cfg.video_backbone, layout_name(None, SNIPPET))
    steps = cfg.segments or 32
    cfg = replace(cfg, audio_backbone=entry["audio_backbone"], video_backbone=entry["video_backbone"],
                  segments=steps)  # fmt: skip
    audio, video, y = _training_tensors(cache, entry, [v for v in layout.train if v.name not in val_names],
                                        steps, root)  # fmt: skip
    val_feats = _all_features(cache, entry, val_videos, f"{root}/train: validation")
    test_feats = _all_features(cache, entry, layout.test, "test")
    spec = HeadSpec(int(entry["audio_dim"]), int(entry["video_dim"]), 2, cfg.num_stages,
                    cfg.num_layers, cfg.num_f_maps, cfg.dropout)  # fmt: skip
    device = pick_device(cfg.device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_config(cfg, out / "config.yaml")
    per_seed: list[dict[str, float]] = []
    test_scores: dict[int, dict[str, np.ndarray]] = {}
    for seed in cfg.seeds:
        model = _train_seed(cfg, spec, seed, audio, video, y, device, on_epoch)
        val_scores = {n: snippet_scores(model, a, v, device) for n, (a, v) in val_feats.items()}
        val_ap = video_ap(val_scores, val_videos) if val_videos else math.nan
        scores = {n: snippet_scores(model, a, v, device) for n, (a, v) in test_feats.items()}
        test_scores[seed] = scores
        ap, pr_auc = frame_ap(scores, layout.test, layout.annotations)
        per_seed.append({"seed": seed, "validation_video_ap": val_ap, "ap": ap, "pr_auc": pr_auc})
        save_checkpoint(model, out / f"seed_{seed}" / "model.safetensors", cfg.model)
    selection = select_seed(per_seed, [v.name for v in val_videos], cfg.epochs, split_seed, val_fraction)
    write_json(out / "selection.json", selection)
    chosen = test_scores[int(selection["seed"])]
    with open(out / "scores.jsonl", "w", encoding="utf-8") as fh:
        for v in layout.test:
            fh.write(json.dumps({"video": v.name, "scores": [round(float(s), 6) for s in chosen[v.name]]}) + "\n")
    aps = [r["ap"] for r in per_seed]
    result = XDResult(str(out), float(np.mean(aps)), float(np.mean([r["pr_auc"] for r in per_seed])),
                      per_seed, len(y), len(layout.test), time.perf_counter() - t0)  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(
        {"per_seed": per_seed, "mean_ap": result.ap, "std_ap": float(np.std(aps, ddof=1)) if len(aps) > 1 else 0.0,
         "mean_pr_auc": result.pr_auc, "selection": selection, "extraction": entry}, indent=2),
        encoding="utf-8")  # fmt: skip
    return result


def _training_tensors(cache: FeatureCache, entry: dict[str, Any], videos: list[XDVideo], steps: int,
                      root: str | Path) -> tuple[Tensor, Tensor, Tensor]:
    """Cached features of the training videos resampled to T: (N, T, Da), (N, T, Dv), labels (N,)."""
    train_a, train_v, labels = [], [], []
    for v in videos:
        feats = load_video_features(cache, entry, v)
        if feats is not None:
            train_a.append(resample(feats[0], steps))
            train_v.append(resample(feats[1], steps))
            labels.append(int(v.violent))
    if not labels or len(set(labels)) < 2:
        raise ConfigError(f"{root}/train: need cached features of normal and violent videos")
    return torch.stack(train_a), torch.stack(train_v), torch.tensor(labels)


def _all_features(cache: FeatureCache, entry: dict[str, Any], videos: list[XDVideo],
                  what: str) -> dict[str, tuple[Tensor, Tensor]]:
    """Every video's cached features, or one line naming the first video without them."""
    out: dict[str, tuple[Tensor, Tensor]] = {}
    missing = []
    for v in videos:
        f = load_video_features(cache, entry, v)
        if f is None:
            missing.append(v.name)
        else:
            out[v.name] = f
    if missing:
        raise ConfigError(f"{len(missing)} {what} video(s) have no features (first: {missing[0]})")
    return out


def _train_seed(cfg: TrainConfig, spec: HeadSpec, seed: int, audio: Tensor, video: Tensor, y: Tensor,
                device: torch.device, on_epoch: Callable[[int, int, int, float], None] | None) -> BaselineModel:
    """One seed, ``cfg.epochs`` epochs of the weak (top-k MIL) loss; the last epoch's model."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = create_model(cfg.model, spec)
    model.fit_norm(audio, video)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    a_d, v_d, y_d = audio.to(device), video.to(device), y.to(device)
    steps = int(cfg.segments or 32)
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
    return model


def select_seed(per_seed: list[dict[str, float]], val_videos: list[str], epochs: int, split_seed: int,
                val_fraction: float) -> dict[str, Any]:
    """The seed that writes the run's scores, from validation results only (no test key is read)."""
    seeds = [int(r["seed"]) for r in per_seed]
    val = {int(r["seed"]): float(r["validation_video_ap"]) for r in per_seed}
    base: dict[str, Any] = {"epoch": epochs, "epoch_rule": "last", "split_seed": split_seed,
                            "validation_fraction": val_fraction, "validation_videos": val_videos}
    if val_videos and all(math.isfinite(v) for v in val.values()):
        best = max(seeds, key=lambda s: (val[s], -seeds.index(s)))  # ties: the earlier seed
        return {"seed": best, "rule": "best video-level validation AP (held out from train, by source film)",
                "validation_video_ap": val, **base}
    why = ("no validation split asked (--val-fraction 0)" if val_fraction <= 0 else
           "the training set is too small for a validation split with both classes")
    return {"seed": seeds[0], "rule": f"first seed of the config (declared before training): {why}", **base}


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
