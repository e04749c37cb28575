"""AVAR-Net and its ablations, in a registry: ``avarnet``, ``audio_only``, ``video_only``,
``late_fusion``.

AVAR-Net (audio-visual anomaly recognition, 2025) fuses Wav2Vec2 audio features and MobileViT
video features early — per-segment concatenation — and classifies the sequence with a
Multi-Stage Temporal Convolutional Network (:mod:`vaar.baselines.mtcn`, after Farha & Gall,
CVPR 2019). Data flow of ``avarnet``::

    audio (B, T, Da) ─► standardise ─┐
                                     ├─ concat ─► (B, T, Da+Dv) ─► transpose ─► (B, Da+Dv, T)
    video (B, T, Dv) ─► standardise ─┘                                             │
                                                                                   ▼
                    clip logits (B, K) ◄─ mean over T ◄─ last stage ◄─ MTCN ─► (S, B, K, T)

``audio_only`` / ``video_only`` feed one modality to the same MTCN. ``late_fusion`` trains one
MTCN per modality (the sum of both MTCN losses) and scores a clip by the mean of the two models'
clip-level log-probabilities.

Inputs are standardised with the per-dimension mean and standard deviation of the training
features (buffers saved with the checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vaar.baselines.mtcn import MTCN, clip_logits, mtcn_loss
from vaar.core._util.registry import Registry


@dataclass(frozen=True)
class HeadSpec:
    """What a model needs to be built: feature sizes, classes, and the MTCN's settings."""

    audio_dim: int
    video_dim: int
    num_classes: int
    num_stages: int = 4
    num_layers: int = 10
    num_f_maps: int = 64
    dropout: float = 0.5

    def mtcn(self, in_dim: int) -> MTCN:
        return MTCN(in_dim, self.num_classes, self.num_stages, self.num_layers, self.num_f_maps,
                    self.dropout)  # fmt: skip


class FeatureNorm(nn.Module):
    """x ↦ (x − mean) / std with statistics of the training set. (B, T, D) → (B, T, D)."""

    mean: Tensor
    std: Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, x: Tensor) -> None:  # x: (N, T, D)
        flat = x.reshape(-1, x.shape[-1]).double()  # (N·T, D)
        self.mean.copy_(flat.mean(0).float())
        self.std.copy_(flat.std(0).clamp_min(1e-4).float())

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class BaselineModel(nn.Module):
    """Base: ``forward(audio, video)`` returns one ``(S, B, K, T)`` stage-logit tensor per branch."""

    modalities: tuple[str, ...] = ()

    def __init__(self, spec: HeadSpec) -> None:
        super().__init__()
        self.spec = spec
        self.audio_norm = FeatureNorm(spec.audio_dim)
        self.video_norm = FeatureNorm(spec.video_dim)

    def fit_norm(self, audio: Tensor, video: Tensor) -> None:
        self.audio_norm.fit(audio)
        self.video_norm.fit(video)

    def forward(self, audio: Tensor, video: Tensor) -> list[Tensor]:
        raise NotImplementedError

    def loss(self, outputs: list[Tensor], targets: Tensor, smooth_weight: float, tau: float) -> Tensor:
        return torch.stack([mtcn_loss(o, targets, smooth_weight, tau) for o in outputs]).sum()

    def clip_scores(self, outputs: list[Tensor]) -> Tensor:
        """Clip-level logits (B, K): the last stage averaged over T."""
        return clip_logits(outputs[0])

    def segment_log_probs(self, outputs: list[Tensor]) -> Tensor:
        """Per-segment log-probabilities of the last stage (B, K, T); branches averaged."""
        logp = torch.stack([F.log_softmax(o[-1], dim=1) for o in outputs]).mean(0)  # (B, K, T)
        return F.log_softmax(logp, dim=1)


MODELS: Registry[Callable[[HeadSpec], BaselineModel]] = Registry("model")


class EarlyFusion(BaselineModel):
    """AVAR-Net: per-segment concatenation of both modalities → one MTCN."""

    modalities = ("audio", "video")

    def __init__(self, spec: HeadSpec) -> None:
        super().__init__(spec)
        self.mtcn = spec.mtcn(spec.audio_dim + spec.video_dim)

    def forward(self, audio: Tensor, video: Tensor) -> list[Tensor]:
        x = torch.cat([self.audio_norm(audio), self.video_norm(video)], dim=-1)  # (B, T, Da+Dv)
        return [self.mtcn(x.transpose(1, 2))]  # [(S, B, K, T)]


class SingleModality(BaselineModel):
    """One modality → MTCN (the unimodal ablations)."""

    def __init__(self, spec: HeadSpec, modality: str) -> None:
        super().__init__(spec)
        self.modalities = (modality,)
        self.mtcn = spec.mtcn(spec.audio_dim if modality == "audio" else spec.video_dim)

    def forward(self, audio: Tensor, video: Tensor) -> list[Tensor]:
        x = self.audio_norm(audio) if self.modalities == ("audio",) else self.video_norm(video)
        return [self.mtcn(x.transpose(1, 2))]  # [(S, B, K, T)]


class LateFusion(BaselineModel):
    """Two unimodal MTCNs; clip score = mean of their clip-level log-probabilities."""

    modalities = ("audio", "video")

    def __init__(self, spec: HeadSpec) -> None:
        super().__init__(spec)
        self.audio_mtcn = spec.mtcn(spec.audio_dim)
        self.video_mtcn = spec.mtcn(spec.video_dim)

    def forward(self, audio: Tensor, video: Tensor) -> list[Tensor]:
        a = self.audio_mtcn(self.audio_norm(audio).transpose(1, 2))  # (S, B, K, T)
        v = self.video_mtcn(self.video_norm(video).transpose(1, 2))  # (S, B, K, T)
        return [a, v]

    def clip_scores(self, outputs: list[Tensor]) -> Tensor:
        logp = [F.log_softmax(clip_logits(o), dim=-1) for o in outputs]  # 2 × (B, K)
        return torch.stack(logp).mean(0)  # (B, K)


@MODELS.register("avarnet")
def _avarnet(spec: HeadSpec) -> BaselineModel:
    return EarlyFusion(spec)


@MODELS.register("audio_only")
def _audio_only(spec: HeadSpec) -> BaselineModel:
    return SingleModality(spec, "audio")


@MODELS.register("video_only")
def _video_only(spec: HeadSpec) -> BaselineModel:
    return SingleModality(spec, "video")


@MODELS.register("late_fusion")
def _late_fusion(spec: HeadSpec) -> BaselineModel:
    return LateFusion(spec)


def create_model(name: str, spec: HeadSpec) -> BaselineModel:
    return MODELS.get(name)(spec)


def head_flops(model: BaselineModel, steps: int) -> int:
    """Forward FLOPs of the model's MTCN(s) for one clip of T segments."""
    from vaar.baselines.mtcn import mtcn_flops

    total = 0
    for m in model.modules():
        if isinstance(m, MTCN):
            s = model.spec
            total += mtcn_flops(m.in_dim, m.num_classes, steps, s.num_stages, s.num_layers, s.num_f_maps)
    return total
