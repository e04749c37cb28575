"""Video corruptions on decoded frames: (T, 3, H, W) uint8 RGB at media times (T,) -> same shape.

Each is a few tensor operations on the frames a backbone would see (ImageNet-C's recipes,
simplified and re-derived). A severity means the same on every clip: rain and snow are drawn at a
canonical 112 p and resampled to the frame; blur radii and lengths are real-valued fractions of
the frame height with anti-aliased kernels (no rounding, so no two severities coincide); the rest
act per pixel. ``tests/bench/test_robustness_invariance.py`` measures the error at 120-1080 p.
They are written to cost less than decoding the frames does (``benchmarks/bench_robustness.py``):
dense noise comes from torch generators, rain and snow draw only their drops, blurs run at a
reduced size where the kernel is wide. Per-frame randomness depends on the seed, the clip and the
frame's media time (``ctx.frame_rng(t)``), not on its index. ``compression`` is in :mod:`.modality`
(it needs the encoder).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

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


#: the height (px) at which rain and snow are drawn, whatever the frame's size; the mask is then
#: resampled to the frame (area when shrinking, bilinear when growing), so that the share of the
#: picture covered and the error are the same at 120 p and at 1080 p (the anchors corrupt at a
#: fixed 224 x 224 too: ImageNet-C, Mini-Kinetics-C)
CANONICAL_HEIGHT = 112


def _canonical(h: int, w: int) -> tuple[int, int]:
    return CANONICAL_HEIGHT, max(1, round(CANONICAL_HEIGHT * w / h))


def _to_frame(mask: Tensor, h: int, w: int) -> Tensor:
    """(T, 1, h0, w0) canonical mask -> (T, 1, H, W): the mean (coverage) is kept at every size."""
    import torch.nn.functional as F

    if mask.shape[-2:] == (h, w):
        return mask
    if h < mask.shape[-2]:
        return F.interpolate(mask, size=(h, w), mode="area")
    return F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


def _drops(ctx: Context, times: Tensor, h: int, w: int, density: float, length: int, dx: int,
           size: int = 1) -> Tensor:  # fmt: skip
    """(T, 1, H, W) mask of slanted streaks drawn at the canonical height: ``density`` drops per
    canonical pixel, each ``length`` canonical px long (``dx`` sideways over its length) and
    ``size`` wide, placed anew on every frame, then resampled to the frame's size."""
    import torch

    n_t = len(times)
    ch, cw = _canonical(h, w)
    mask = torch.zeros(n_t, 1, ch, cw)
    count = max(1, int(round(density * ch * cw)))
    steps = np.arange(length)
    offs = np.arange(size)
    for i, t in enumerate(times.tolist()):
        rng = ctx.frame_rng(t)
        y0, x0 = rng.integers(0, ch, count), rng.integers(0, cw, count)
        ys = (y0[:, None, None] + steps[None, :, None] + offs[None, None, :]) % ch  # (n, L, size)
        xs = (x0[:, None, None] + np.round(steps * dx / max(1, length - 1)).astype(np.int64)[None, :, None]
              + offs[None, None, :]) % cw  # fmt: skip
        mask[i, 0, torch.from_numpy(ys.ravel()), torch.from_numpy(xs.ravel())] = 1.0
    return _to_frame(mask, h, w)


@register_corruption("rain", group="video", stage="frames", touches=("video",),
                     levels=(0.002, 0.004, 0.007, 0.011, 0.016), unit="drops per pixel at 112 p")  # fmt: skip
def rain(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Bright slanted streaks (new drops every frame, drawn at 112 p and resampled to the frame)
    over a slightly darkened, hazier scene."""
    density = ctx.level
    _, _, h, w = frames.shape
    length = max(3, round(CANONICAL_HEIGHT * (0.05 + 3 * density)))
    mask = _drops(ctx, times, h, w, density, length, dx=max(1, length // 4)) * 0.7
    x = _float(frames).mul_(1 - 10 * density).add_(0.03)
    return _uint8(x.mul_(1 - mask).add_(0.85 * mask))


@register_corruption("snow", group="video", stage="frames", touches=("video",),
                     levels=(0.003, 0.006, 0.01, 0.015, 0.022), unit="flakes per pixel at 112 p")  # fmt: skip
def snow(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """White flakes (3 px at 112 p, i.e. h/37, falling; drawn at 112 p and resampled to the frame)
    over a scene whitened by the snow light."""
    density = ctx.level
    _, _, h, w = frames.shape
    size = 3
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


#: blurs run at 1/f of the frame's size with f = floor(extent / WORK_EXTENT) (the kernel stays
#: under ~2 * WORK_EXTENT + 3 taps wide whatever the frame's size; the blur removes that detail anyway)
WORK_EXTENT = 4.0


def _blur(x: Tensor, extent: float, kernel: Any) -> Tensor:
    """Convolve (T, 3, H, W) floats with ``kernel(scale)`` ((k, k) weights summing to 1, for a
    blur ``extent`` px / scale), at a reduced size when the blur is wide, edges replicated."""
    import torch.nn.functional as F

    f = max(1, int(extent // WORK_EXTENT))
    small = F.avg_pool2d(x, f, ceil_mode=True) if f > 1 else x
    k = kernel(float(f))  # (k, k)
    r = k.shape[-1] // 2
    c = x.shape[1]
    y = F.conv2d(F.pad(small, (r, r, r, r), mode="replicate"), k.expand(c, 1, *k.shape).contiguous(), groups=c)
    return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False) if f > 1 else y


def _disc(radius: float) -> Tensor:
    """(k, k) anti-aliased disc of a real radius: a pixel's weight is the share of it inside (a
    1-px ramp at the rim), so a larger radius is always a different, wider kernel."""
    import torch

    big = math.ceil(radius) + 1
    yy, xx = torch.meshgrid(torch.arange(-big, big + 1.0), torch.arange(-big, big + 1.0), indexing="ij")
    disc = (radius + 0.5 - (yy**2 + xx**2).sqrt()).clamp_(0.0, 1.0)
    return disc / disc.sum()


def _line(length: float, angle: float) -> Tensor:
    """(k, k) anti-aliased line kernel of a real ``length`` px: points every 0.25 px along it,
    splatted bilinearly, so a longer line is always a different kernel (never a no-op: >= 1 px)."""
    import torch

    length = max(1.0, length)
    big = math.ceil(length / 2) + 1
    n = max(2, math.ceil(4 * length) + 1)
    s = np.linspace(-length / 2, length / 2, n)
    ys, xs = s * math.sin(angle) + big, s * math.cos(angle) + big
    k = np.zeros((2 * big + 1, 2 * big + 1))
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    fy, fx = ys - y0, xs - x0
    for dy, dx, wgt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        np.add.at(k, (y0 + dy, x0 + dx), wgt)
    return torch.from_numpy(k / k.sum()).float()


@register_corruption("motion_blur", group="video", stage="frames", touches=("video",),
                     levels=(0.03, 0.05, 0.08, 0.12, 0.17), unit="blur length (x frame height)")  # fmt: skip
def motion_blur(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Camera shake: each frame is the mean of itself shifted along a line ``level`` x its height
    long (real-valued, anti-aliased; one direction per clip, drawn from the seed)."""
    angle = float(ctx.rng(4).uniform(0, math.pi))
    length = ctx.level * frames.shape[2]
    return _uint8(_blur(_float(frames), length / 2, lambda f: _line(length / f, angle)))


@register_corruption("defocus", group="video", stage="frames", touches=("video",),
                     levels=(0.01, 0.02, 0.03, 0.045, 0.06), unit="disc radius (x frame height)")  # fmt: skip
def defocus(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """Out of focus: convolution with a disc (the lens' circle of confusion) of radius ``level`` x
    the frame's height (real-valued, anti-aliased), edges replicated."""
    radius = ctx.level * frames.shape[2]
    return _uint8(_blur(_float(frames), radius, lambda f: _disc(radius / f)))


@register_corruption("frame_drops", group="video", stage="frames", touches=("video",),
                     levels=(0.1, 0.2, 0.35, 0.5, 0.7), unit="share of frames dropped")  # fmt: skip
def frame_drops(frames: Tensor, times: Tensor, ctx: Context) -> Tensor:
    """A dropped frame shows the last delivered one (a frozen stream); the first is always delivered."""
    x = frames.clone()
    last = 0
    for i, t in enumerate(times.tolist()):
        if i > 0 and ctx.frame_rng(t).random() < ctx.level:
            x[i] = x[last]
        else:
            last = i
    return x
