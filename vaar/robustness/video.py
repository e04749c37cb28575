"""Video corruptions on decoded frames: (T, 3, H, W) uint8 RGB at media times (T,) -> same shape.

Each is a few tensor operations on the frames a backbone would see (ImageNet-C's recipes,
simplified and re-derived; sizes scale with the frame height so 120 p and 1080 p look alike),
written to cost less than decoding the frames does (``benchmarks/bench_robustness.py``): dense
noise comes from torch generators, rain and snow draw only their drops, blurs run at half
resolution where the kernel is wide. Per-frame randomness depends on the seed, the clip and the
frame's media time (``ctx.frame_rng(t)``), not on its index. ``compression`` is in :mod:`.modality`
(it needs the encoder).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from vaar.robustness.corruptions import Context, register_corruption

if TYPE_CHECKING:
    from torch import Tensor


def _float(frames: Tensor) -> Tensor:
    return frames.float().mul_(1.0 / 255.0)  # (T, 3, H, W) in [0, 1]


def _uint8(x: Tensor) -> Tensor:
    import torch

    return x.clamp_(0.0, 1.0).mul_(255.0).round_().to(torch.uint8)


@register_corruption("low_light", group="video", stage="frames", touches=("video",),
                     levels=(0.5, 0.35, 0.25, 0.16, 0.1), unit="exposure (x light)")  # fmt: skip
def low_light(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Under-exposure: darker (exposure k) with a gamma that crushes the shadows, plus sensor noise
    (read noise growing as light falls, shot noise growing with the signal)."""
    import torch

    k = ctx.level
    lut = (np.arange(256, dtype=np.float32) / 255.0) ** (1.0 + 0.3 * math.log(1.0 / k)) * k  # (256,)
    dark = torch.from_numpy(lut[frames.numpy()])  # (T, 3, H, W): a table lookup, not a pow a pixel
    read = 0.01 + 0.05 * (1.0 - k)
    sigma = (dark * 0.02).add_(read * read).sqrt_()  # read noise + shot noise, per pixel
    # one noise texture per clip, cyclically shifted by a random offset per frame (by its time)
    _, _, h, w = frames.shape
    texture = torch.randn(frames.shape[1:], generator=ctx.torch_rng())  # (3, H, W)
    shifts = [tuple(int(v) for v in ctx.frame_rng(t).integers(0, (h, w))) for t in times.tolist()]
    noise = torch.stack([torch.roll(texture, shifts=sh, dims=(1, 2)) for sh in shifts])
    return _uint8(dark.addcmul_(sigma, noise))


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
    haze = alpha * (0.75 + 0.1 * field)
    return _uint8(_float(frames).mul_(1 - alpha).add_(haze))


def _drops(ctx: Context, times: Tensor, h: int, w: int, density: float, length: int, dx: int,
           size: int = 1) -> Tensor:  # fmt: skip
    """(T, 1, H, W) mask of slanted streaks: ``density`` drops per pixel, each ``length`` px long
    (``dx`` px sideways over its length) and ``size`` px wide, placed anew on every frame."""
    import torch

    n_t = len(times)
    mask = torch.zeros(n_t, 1, h, w)
    count = max(1, int(round(density * h * w)))
    steps = np.arange(length)
    offs = np.arange(size)
    for i, t in enumerate(times.tolist()):
        rng = ctx.frame_rng(t)
        y0, x0 = rng.integers(0, h, count), rng.integers(0, w, count)
        ys = (y0[:, None, None] + steps[None, :, None] + offs[None, None, :]) % h  # (n, L, size)
        xs = (x0[:, None, None] + np.round(steps * dx / max(1, length - 1)).astype(np.int64)[None, :, None]
              + offs[None, None, :]) % w  # fmt: skip
        mask[i, 0, torch.from_numpy(ys.ravel()), torch.from_numpy(xs.ravel())] = 1.0
    return mask


@register_corruption("rain", group="video", stage="frames", touches=("video",),
                     levels=(0.002, 0.004, 0.007, 0.011, 0.016), unit="drops per pixel")  # fmt: skip
def rain(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Bright slanted streaks (new drops every frame) over a slightly darkened, hazier scene."""
    density = ctx.level
    _, _, h, w = frames.shape
    length = max(3, round(h * (0.05 + 3 * density)))
    mask = _drops(ctx, times, h, w, density, length, dx=max(1, length // 4)) * 0.7
    x = _float(frames).mul_(1 - 10 * density).add_(0.03)
    return _uint8(x.mul_(1 - mask).add_(0.85 * mask))


@register_corruption("snow", group="video", stage="frames", touches=("video",),
                     levels=(0.003, 0.006, 0.01, 0.015, 0.022), unit="flakes per pixel")  # fmt: skip
def snow(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """White flakes (about h/40 px, falling) over a scene whitened by the snow light."""
    density = ctx.level
    _, _, h, w = frames.shape
    size = max(2, round(h / 40))
    flakes = _drops(ctx, times, h, w, density, length=size + 1, dx=1, size=size)
    x = _float(frames).mul_(1 - 8 * density).add_(8 * density * 0.9)
    return _uint8(x.mul_(1 - flakes).add_(flakes))


@register_corruption("occlusion", group="video", stage="frames", touches=("video",),
                     levels=(0.1, 0.2, 0.3, 0.4, 0.5), unit="share of the frame covered")  # fmt: skip
def occlusion(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Three opaque grey patches, one per horizontal lane, each ``level`` of its lane wide, moving
    sideways and wrapping at the edge, so that ``level`` of the frame is hidden at every instant."""
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


def _half(x: Tensor, radius: int) -> tuple[Tensor, int, bool]:
    """Work at half resolution when the kernel is wide (the blur removes that detail anyway)."""
    import torch.nn.functional as F

    if radius >= 2:
        return F.avg_pool2d(x, 2, ceil_mode=True), max(1, round(radius / 2)), True
    return x, radius, False


def _back(y: Tensor, like: Tensor, halved: bool) -> Tensor:
    import torch.nn.functional as F

    return F.interpolate(y, size=like.shape[-2:], mode="bilinear", align_corners=False) if halved else y


@register_corruption("motion_blur", group="video", stage="frames", touches=("video",),
                     levels=(0.03, 0.05, 0.08, 0.12, 0.17), unit="blur length (x frame height)")  # fmt: skip
def motion_blur(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Camera shake: each frame is the mean of itself shifted along a line (one direction per clip,
    drawn from the seed)."""
    import torch.nn.functional as F

    x = _float(frames)
    _, _, h, _ = frames.shape
    angle = float(ctx.rng(4).uniform(0, math.pi))
    small, n, halved = _half(x, round(ctx.level * h / 2))
    n = max(2, 2 * n)
    r = n // 2 + 1
    pad = F.pad(small, (r, r, r, r), mode="replicate")  # (T, 3, h + 2r, w + 2r)
    hh, ww = small.shape[-2:]
    acc = None
    for k in range(n):  # n shifted views, summed: no per-frame loop
        d = k - (n - 1) / 2
        dy, dx = round(d * math.sin(angle)), round(d * math.cos(angle))
        view = pad[:, :, r + dy : r + dy + hh, r + dx : r + dx + ww]
        acc = view.clone() if acc is None else acc.add_(view)
    assert acc is not None
    return _uint8(_back(acc.div_(n), x, halved))


@register_corruption("defocus", group="video", stage="frames", touches=("video",),
                     levels=(0.01, 0.02, 0.03, 0.045, 0.06), unit="disc radius (x frame height)")  # fmt: skip
def defocus(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Out of focus: convolution with a disc (the lens' circle of confusion), edges replicated."""
    import torch
    import torch.nn.functional as F

    x = _float(frames)
    c, h = frames.shape[1], frames.shape[2]
    small, r, halved = _half(x, max(1, round(ctx.level * h)))
    yy, xx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    disc = ((yy**2 + xx**2) <= r * r + 0.5).float()
    kernel = (disc / disc.sum()).expand(c, 1, 2 * r + 1, 2 * r + 1).contiguous()
    y = F.conv2d(F.pad(small, (r, r, r, r), mode="replicate"), kernel, groups=c)
    return _uint8(_back(y, x, halved))


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
