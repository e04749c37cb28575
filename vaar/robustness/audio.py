"""Audio corruptions on decoded samples: (S,) float32 at 16 kHz -> (S,) float32.

``noise_white`` and ``noise_babble`` add noise at a signal-to-noise ratio of 20, 10, 5, 0 and -5 dB,
measured against the clip's own power. The babble bed is real recorded speech: the voice prompts of
Debian's ``sound-theme-freedesktop`` (``audio-channel-*.oga``: "front left", "rear right", ...,
recorded by a person), overlapped at seeded offsets into a crowd. Where that package is absent
(``apt-get install sound-theme-freedesktop``; ``make install`` does it as root), the bed falls
back to white noise and :func:`babble_source` says so (the JSON of a run records it).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vaar.robustness.corruptions import Context, register_corruption

if TYPE_CHECKING:
    from torch import Tensor

SAMPLE_RATE = 16_000
SNR_DB = (20.0, 10.0, 5.0, 0.0, -5.0)
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
BABBLE_VOICES = 6  # overlapping voices in the bed


def _power(x: Tensor) -> float:
    return float(x.double().pow(2).mean()) if x.numel() else 0.0


def add_at_snr(wave: Tensor, noise: Tensor, snr_db: float) -> Tensor:
    """``wave + g * noise`` with ``g`` setting 10 log10(P_wave / P_noise) = ``snr_db``."""
    pw, pn = _power(wave), _power(noise)
    if pn <= 0:
        return wave.clone()
    pw = max(pw, 1e-8)  # a silent clip gets noise at the level of a very quiet one
    gain = math.sqrt(pw / (pn * 10 ** (snr_db / 10)))
    return (wave + gain * noise).float()


@register_corruption("noise_white", group="audio", stage="samples", touches=("audio",), levels=SNR_DB, unit="SNR (dB)")
def noise_white(wave: Tensor, ctx: Context) -> Tensor:
    """Additive white Gaussian noise."""
    import torch

    noise = torch.from_numpy(ctx.rng(10).standard_normal(wave.numel(), dtype=np.float32))
    return add_at_snr(wave, noise, ctx.level)


@functools.lru_cache(maxsize=1)
def _voices() -> tuple[np.ndarray, ...]:
    files = sorted(FREEDESKTOP.glob("audio-channel-*.oga")) if FREEDESKTOP.is_dir() else []
    out = []
    for f in files:
        try:
            from torchcodec.decoders import AudioDecoder

            out.append(AudioDecoder(str(f), sample_rate=SAMPLE_RATE, num_channels=1).get_all_samples().data[0].numpy())
        except Exception:  # noqa: BLE001 - an unreadable file only shrinks the bed
            continue
    return tuple(v for v in out if v.size > 0)


def babble_source() -> str:
    """Where ``noise_babble``'s bed comes from on this machine (recorded in the run's JSON)."""
    n = len(_voices())
    if n:
        return f"recorded speech: {n} voice prompts of sound-theme-freedesktop ({FREEDESKTOP})"
    return "white noise (fallback: sound-theme-freedesktop is not installed)"


def babble_bed(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) float32: ``BABBLE_VOICES`` streams of the recorded voices, each a seeded random
    sequence of prompts with random gaps, summed; white noise when no recording is installed."""
    voices = _voices()
    if not voices:
        return rng.standard_normal(n, dtype=np.float32)
    bed = np.zeros(n, dtype=np.float32)
    for _ in range(BABBLE_VOICES):
        pos = -int(rng.integers(0, SAMPLE_RATE))
        while pos < n:
            v = voices[int(rng.integers(0, len(voices)))]
            lo, hi = max(pos, 0), min(pos + v.size, n)
            if hi > lo:
                bed[lo:hi] += v[lo - pos : hi - pos] * float(rng.uniform(0.5, 1.0))
            pos += v.size + int(rng.integers(0, SAMPLE_RATE // 5))
    return bed


@register_corruption("noise_babble", group="audio", stage="samples", touches=("audio",), levels=SNR_DB, unit="SNR (dB)")
def noise_babble(wave: Tensor, ctx: Context) -> Tensor:
    """Additive babble: a crowd of recorded voices (see the module docstring)."""
    import torch

    return add_at_snr(wave, torch.from_numpy(babble_bed(wave.numel(), ctx.rng(11))), ctx.level)


@register_corruption("reverb", group="audio", stage="samples", touches=("audio",),
                     levels=(0.3, 0.6, 0.9, 1.3, 1.8), unit="RT60 (s)")  # fmt: skip
def reverb(wave: Tensor, ctx: Context) -> Tensor:
    """A reverberant room: convolution with exponentially decaying noise (RT60 = level), the
    direct path kept, loudness restored to the dry clip's RMS."""
    import torch

    rt60 = ctx.level
    n_ir = int(rt60 * SAMPLE_RATE)
    t = np.arange(n_ir, dtype=np.float32) / SAMPLE_RATE
    ir = ctx.rng(12).standard_normal(n_ir, dtype=np.float32) * np.exp(-6.9078 * t / rt60)  # -60 dB at rt60
    ir[0] = 1.0
    ir = ir / np.sqrt((ir**2).sum())
    n = wave.numel() + n_ir - 1
    size = 1 << (n - 1).bit_length()
    wet = torch.fft.irfft(torch.fft.rfft(wave.double(), size) * torch.fft.rfft(torch.from_numpy(ir).double(), size), size)
    wet = wet[: wave.numel()]
    scale = math.sqrt(_power(wave) / max(_power(wet), 1e-12)) if _power(wave) > 0 else 0.0
    return (wet * scale).float()


@register_corruption("clipping", group="audio", stage="samples", touches=("audio",),
                     levels=(0.5, 0.3, 0.2, 0.1, 0.05), unit="clip level (x peak)")  # fmt: skip
def clipping(wave: Tensor, ctx: Context) -> Tensor:
    """An overdriven input: hard clipping at ``level`` x the clip's peak, then gain back to that peak."""
    peak = float(wave.abs().max()) if wave.numel() else 0.0
    if peak <= 0:
        return wave.clone()
    t = ctx.level * peak
    return (wave.clamp(-t, t) / ctx.level).float()


TELEPHONE_BANDS = ((200.0, 4000.0), (300.0, 3400.0), (400.0, 3000.0), (500.0, 2500.0), (600.0, 2000.0))


@register_corruption("telephone", group="audio", stage="samples", touches=("audio",),
                     levels=(3800.0, 3100.0, 2600.0, 2000.0, 1400.0), unit="bandwidth (Hz)")  # fmt: skip
def telephone(wave: Tensor, ctx: Context) -> Tensor:
    """Band-limiting to 200-4000, 300-3400 (the telephone band), 400-3000, 500-2500 and 600-2000 Hz,
    then 8-bit mu-law quantisation as on a digital line."""
    import torch

    lo, hi = TELEPHONE_BANDS[ctx.severity - 1]
    n = wave.numel()
    if n == 0:
        return wave.clone()
    spec = torch.fft.rfft(wave.double())
    freqs = torch.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spec[(freqs < lo) | (freqs > hi)] = 0
    x = torch.fft.irfft(spec, n)
    peak = float(x.abs().max()) or 1.0
    mu = 255.0
    y = torch.sign(x / peak) * torch.log1p(mu * (x / peak).abs()) / math.log1p(mu)  # mu-law
    y = torch.round(y * 127) / 127
    x = torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu * peak
    return x.float()


@register_corruption("dropouts", group="audio", stage="samples", touches=("audio",),
                     levels=(0.1, 0.2, 0.3, 0.4, 0.5), unit="share of 100 ms blocks silenced")  # fmt: skip
def dropouts(wave: Tensor, ctx: Context) -> Tensor:
    """Packet loss: each 100 ms block is silenced with probability ``level``."""
    block = SAMPLE_RATE // 10
    x = wave.clone()
    n_blocks = math.ceil(x.numel() / block)
    lost = ctx.rng(13).random(n_blocks) < ctx.level
    for b in np.flatnonzero(lost):
        x[b * block : (b + 1) * block] = 0
    return x
