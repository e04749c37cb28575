"""Multi-Stage Temporal Convolutional Network (MTCN), the temporal head of AVAR-Net.

Follows MS-TCN: Y. Abu Farha and J. Gall, "MS-TCN: Multi-Stage Temporal Convolutional Network
for Action Segmentation", CVPR 2019 (arXiv:1903.01945), as used by AVAR-Net (audio-visual anomaly
recognition with Wav2Vec2 + MobileViT features and early fusion, 2025). Written from the paper's
description:

* a *stage* is a 1×1 convolution to ``num_f_maps`` channels, ``num_layers`` dilated residual
  layers (layer ``i`` has a kernel-3 convolution with dilation ``2**i``, ReLU, a 1×1 convolution,
  dropout, and a residual connection), then a 1×1 convolution to ``num_classes`` logits;
* stage 1 reads the features; every later stage reads the softmax of the previous stage's
  logits, and so refines the previous prediction;
* the loss of every stage is the frame-wise cross-entropy plus ``λ`` (0.15) times a smoothing
  term: the mean squared difference of consecutive frames' log-probabilities, each squared
  difference truncated at ``τ²`` (τ = 4), with the previous frame's log-probabilities detached;
  the stage losses are summed.

For clip classification (VAAR), every segment carries the clip's label, and the clip-level
logits are the **last stage's logits averaged over the T segments** (:func:`clip_logits`).

With ``in_dim=2048``, ten classes and the defaults the module has 796,328 parameters, the count
of the original implementation (checked by a test).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class DilatedResidualLayer(nn.Module):
    """x + Dropout(Conv1×1(ReLU(DilatedConv3(x)))), length-preserving."""

    def __init__(self, dilation: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, C, T)
        out = F.relu(self.conv_dilated(x))  # (B, C, T)
        out = self.dropout(self.conv_1x1(out))  # (B, C, T)
        return x + out


class SingleStage(nn.Module):
    """One TCN stage: (B, in_dim, T) → (B, num_classes, T) logits."""

    def __init__(
        self, in_dim: int, num_classes: int, num_layers: int, num_f_maps: int, dropout: float
    ) -> None:
        super().__init__()
        self.conv_in = nn.Conv1d(in_dim, num_f_maps, 1)
        self.layers = nn.ModuleList(
            DilatedResidualLayer(2**i, num_f_maps, dropout) for i in range(num_layers)
        )
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, in_dim, T)
        h = self.conv_in(x)  # (B, F, T)
        for layer in self.layers:
            h = layer(h)  # (B, F, T)
        return self.conv_out(h)  # (B, K, T)


class MTCN(nn.Module):
    """Stacked TCN stages; forward ``(B, in_dim, T)`` → ``(num_stages, B, num_classes, T)``."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        num_stages: int = 4,
        num_layers: int = 10,
        num_f_maps: int = 64,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if num_stages < 1:
            raise ValueError("num_stages must be >= 1")
        self.in_dim = in_dim
        self.num_classes = num_classes
        self.stages = nn.ModuleList(
            [SingleStage(in_dim, num_classes, num_layers, num_f_maps, dropout)]
            + [
                SingleStage(num_classes, num_classes, num_layers, num_f_maps, dropout)
                for _ in range(num_stages - 1)
            ]
        )

    def forward(self, x: Tensor) -> Tensor:  # x: (B, in_dim, T)
        logits = self.stages[0](x)  # (B, K, T)
        outputs = [logits]
        for stage in self.stages[1:]:
            logits = stage(F.softmax(logits, dim=1))  # (B, K, T)
            outputs.append(logits)
        return torch.stack(outputs)  # (S, B, K, T)


def clip_logits(stage_logits: Tensor) -> Tensor:
    """Clip-level logits: the last stage averaged over time. (S, B, K, T) → (B, K)."""
    return stage_logits[-1].mean(dim=-1)


def smoothing_loss(logits: Tensor, tau: float = 4.0) -> Tensor:
    """Truncated MSE over consecutive frames' log-probabilities (the MS-TCN T-MSE). (B, K, T) → ()."""
    if logits.shape[-1] < 2:
        return logits.new_zeros(())
    logp = F.log_softmax(logits, dim=1)  # (B, K, T)
    diff2 = (logp[:, :, 1:] - logp.detach()[:, :, :-1]) ** 2  # (B, K, T-1)
    return torch.clamp(diff2, min=0.0, max=tau * tau).mean()


def mtcn_loss(
    stage_logits: Tensor,
    targets: Tensor,
    smooth_weight: float = 0.15,
    tau: float = 4.0,
) -> Tensor:
    """Sum over stages of frame-wise CE + ``smooth_weight`` × truncated MSE.

    ``stage_logits``: (S, B, K, T); ``targets``: (B,) clip labels, broadcast to every segment,
    or (B, T) per-segment labels.
    """
    num_stages, batch, num_classes, steps = stage_logits.shape
    if targets.dim() == 1:
        targets = targets[:, None].expand(batch, steps)  # (B, T)
    total = stage_logits.new_zeros(())
    for logits in stage_logits:  # (B, K, T)
        ce = F.cross_entropy(logits, targets)
        total = total + ce + smooth_weight * smoothing_loss(logits, tau)
    return total


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def mtcn_flops(
    in_dim: int,
    num_classes: int,
    steps: int,
    num_stages: int = 4,
    num_layers: int = 10,
    num_f_maps: int = 64,
) -> int:
    """Forward FLOPs (2 × multiply-accumulates of the convolutions) for one sequence of length T."""
    layer_macs = (num_f_maps * num_f_maps * 3 + num_f_maps * num_f_maps) * steps

    def stage_macs(d: int) -> int:
        return (d * num_f_maps + num_f_maps * num_classes) * steps + num_layers * layer_macs

    return 2 * (stage_macs(in_dim) + (num_stages - 1) * stage_macs(num_classes))
