"""Video corruptions on decoded frames: (T, 3, H, W) uint8 RGB at media times (T,) -> same shape.

Each is a few tensor operations on the frames a backbone would see (ImageNet-C's recipes,
simplified and re-derived; sizes scale with the frame height so 120 p and 1080 p look alike).
Per-frame randomness comes from ``ctx.frame_rng(t)``: the frame at time t is corrupted the same way
whichever frames are decoded. ``compression`` is in :mod:`.modality` (it needs the encoder).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vaar.bench.robustness.registry import Context, register_corruption

if TYPE_CHECKING:
    from torch import Tensor


def _float(frames: Tensor) -> Tensor:
    return frames.float() / 255.0  # (T, 3, H, W) in [0, 1]


def _uint8(x: Tensor) -> Tensor:
    import torch

    return (x.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


def _per_frame_noise(ctx: Context, times: Tensor, shape: tuple[int, ...], kind: str = "normal") -> Tensor:
    """(T, *shape) float32 noise, one seeded draw per frame time."""
    import torch

    out = []
    for t in times.tolist():
        rng = ctx.frame_rng(t)
        out.append(rng.standard_normal(shape, dtype=np.float32) if kind == "normal" else rng.random(shape, dtype=np.float32))
    return torch.from_numpy(np.stack(out)) if out else torch.zeros(0, *shape)


@register_corruption("low_light", group="video", stage="frames", touches=("video",),
                     levels=(0.5, 0.35, 0.25, 0.16, 0.1), unit="exposure (x light)")  # fmt: skip
def low_light(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Under-exposure: darker (exposure k), a display gamma of 1/k**0.3, and sensor noise growing as light falls."""
    k = ctx.level
    x = _float(frames)
    dark = k * x.pow(1.0 + 0.3 * math.log(1.0 / k))  # (T, 3, H, W)
    _, _, h, w = frames.shape
    sigma = 0.01 + 0.05 * (1.0 - k)  # read noise; shot noise below scales with sqrt(signal)
    noise = _per_frame_noise(ctx, times, (1, h, w))  # luminance noise, same on the 3 channels
    shot = _per_frame_noise(ctx, times + 1e-4, (3, h, w)) * (dark * 0.02).sqrt()
    return _uint8(dark + sigma * noise + shot)


@register_corruption("fog", group="video", stage="frames", touches=("video",),
                     levels=(0.3, 0.45, 0.6, 0.72, 0.85), unit="haze opacity")  # fmt: skip
def fog(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Blend towards a bright, uneven haze (a smooth random field fixed per clip); contrast drops."""
    import torch
    import torch.nn.functional as F

    a = ctx.level
    _, _, h, w = frames.shape
    coarse = torch.from_numpy(ctx.rng(2).random((1, 1, 4, 6), dtype=np.float32))
    field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)[0, 0]  # (H, W)
    alpha = (a * (0.8 + 0.4 * field)).clamp(0.0, 0.97)
    haze = 0.75 + 0.1 * field
    return _uint8(_float(frames) * (1 - alpha) + alpha * haze)


def _streaks(points: Tensor, length: int, dx: int) -> Tensor:
    """Smear sparse points (T, 1, H, W) into slanted streaks of ``length`` px (dx px across per length)."""
    import torch

    out = torch.zeros_like(points)
    for i in range(length):
        shift_x = round(dx * i / max(1, length - 1))
        out = torch.maximum(out, torch.roll(points, shifts=(i, shift_x), dims=(2, 3)))
    return out


@register_corruption("rain", group="video", stage="frames", touches=("video",),
                     levels=(0.002, 0.004, 0.007, 0.011, 0.016), unit="drops per pixel")  # fmt: skip
def rain(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Bright slanted streaks (new drops every frame) over a slightly darkened, hazier scene."""
    density = ctx.level
    _, _, h, w = frames.shape
    u = _per_frame_noise(ctx, times, (1, h, w), "uniform")
    points = (u < density).float()  # (T, 1, H, W)
    length = max(3, round(h * (0.05 + 3 * density)))
    mask = _streaks(points, length, dx=max(1, length // 4))
    x = _float(frames) * (1 - 10 * density) + 0.03
    return _uint8(x * (1 - 0.7 * mask) + 0.85 * 0.7 * mask)


@register_corruption("snow", group="video", stage="frames", touches=("video",),
                     levels=(0.003, 0.006, 0.01, 0.015, 0.022), unit="flakes per pixel")  # fmt: skip
def snow(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """White flakes (2-4 px, falling) over a whitened scene."""
    import torch.nn.functional as F

    density = ctx.level
    _, _, h, w = frames.shape
    u = _per_frame_noise(ctx, times, (1, h, w), "uniform")
    size = max(2, round(h / 40))
    flakes = F.max_pool2d((u < density).float(), kernel_size=size, stride=1, padding=size // 2)[..., :h, :w]
    flakes = _streaks(flakes, max(2, size), dx=1)  # (T, 1, H, W) short fall streaks
    x = _float(frames) * (1 - 8 * density) + 8 * density * 0.9  # snow light whitens the scene
    return _uint8(x * (1 - flakes) + flakes)


@register_corruption("occlusion", group="video", stage="frames", touches=("video",),
                     levels=(0.1, 0.2, 0.3, 0.4, 0.5), unit="share of the frame covered")  # fmt: skip
def occlusion(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Three opaque grey patches, one per horizontal lane, each ``level`` of its lane's width, moving
    sideways (wrapping), so exactly ``level`` of the frame is hidden at every instant."""
    import torch

    share = ctx.level
    x = frames.clone()
    _, _, h, w = frames.shape
    lanes = 3
    rng = ctx.rng(3)
    speed = rng.uniform(0.15, 0.4, size=lanes) * rng.choice([-1.0, 1.0], size=lanes)  # frame widths / s
    phase = rng.random(lanes)
    pw = round(share * w)
    cols = torch.arange(w)
    for i, t in enumerate(times.tolist()):
        for lane in range(lanes):
            y0, y1 = lane * h // lanes, (lane + 1) * h // lanes
            x0 = int(round(((phase[lane] + speed[lane] * t) % 1.0) * w))
            covered = ((cols - x0) % w) < pw  # (W,) wraps around the edge
            x[i, :, y0:y1, covered] = 128
    return x


@register_corruption("motion_blur", group="video", stage="frames", touches=("video",),
                     levels=(0.03, 0.05, 0.08, 0.12, 0.17), unit="blur length (x frame height)")  # fmt: skip
def motion_blur(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Camera shake: the mean of the frame shifted along a line (random direction per frame)."""
    import torch

    x = _float(frames)
    _, _, h, _ = frames.shape
    n = max(2, round(ctx.level * h))
    out = torch.empty_like(x)
    for i, t in enumerate(times.tolist()):
        angle = ctx.frame_rng(t).uniform(0, math.pi)
        acc = torch.zeros_like(x[i])
        for k in range(n):
            d = k - (n - 1) / 2
            acc += torch.roll(x[i], shifts=(round(d * math.sin(angle)), round(d * math.cos(angle))), dims=(1, 2))
        out[i] = acc / n
    return _uint8(out)


@register_corruption("defocus", group="video", stage="frames", touches=("video",),
                     levels=(0.01, 0.02, 0.03, 0.045, 0.06), unit="disc radius (x frame height)")  # fmt: skip
def defocus(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Out of focus: convolution with a disc (the lens' circle of confusion), reflect-padded."""
    import torch
    import torch.nn.functional as F

    _, c, h, _ = frames.shape
    r = max(1, round(ctx.level * h))
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    disc = ((yy**2 + xx**2) <= r * r + 0.5).float()
    kernel = (disc / disc.sum()).expand(c, 1, 2 * r + 1, 2 * r + 1).contiguous()
    x = F.pad(_float(frames), (r, r, r, r), mode="reflect")
    return _uint8(F.conv2d(x, kernel, groups=c))


@register_corruption("frame_drops", group="video", stage="frames", touches=("video",),
                     levels=(0.1, 0.2, 0.35, 0.5, 0.7), unit="share of frames dropped")  # fmt: skip
def frame_drops(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """A dropped frame shows the last delivered one (a frozen stream); the first is always delivered.
    Inside feature extraction the 'last delivered' frame is the previous decoded one."""
    x = frames.clone()
    last = 0
    for i, t in enumerate(times.tolist()):
        if i > 0 and ctx.frame_rng(t).random() < ctx.level:
            x[i] = x[last]
        else:
            last = i
    return x
