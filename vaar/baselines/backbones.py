"""Frozen feature extractors ("backbones"), chosen by name or local path through one registry.

AVAR-Net extracts audio features with Wav2Vec2 (A. Baevski et al., "wav2vec 2.0: A Framework for
Self-Supervised Learning of Speech Representations", NeurIPS 2020) and video features with
MobileViT (S. Mehta and M. Rastegari, "MobileViT: Light-weight, General-purpose, and
Mobile-friendly Vision Transformer", ICLR 2022). Two hand-crafted extractors are registered beside
them; they need no weights, so the demo and the tests run offline through the same code path.

A backbone spec is one of:

* a registered name: ``facebook/wav2vec2-base`` (default audio, 768-d at 50 Hz),
  ``mobilevit_s.cvnets_in1k`` (default video, timm, 640-d), ``apple/mobilevit-small``
  (transformers, 640-d), ``handcrafted-audio`` (64-d), ``handcrafted-video`` (48-d), ...;
* ``family:reference`` for any other checkpoint of a family: ``wav2vec2:facebook/wav2vec2-large``,
  ``timm:mobilevit_xs.cvnets_in1k``, ``hf-mobilevit:apple/mobilevit-x-small``;
* a local folder holding a saved checkpoint (``save_pretrained`` of transformers with its
  preprocessor config, or timm's ``save_for_hf``); the family is read from its ``config.json``.

Audio backbones map a 16 kHz mono waveform and T segment bounds to ``(T, D)``; video backbones map
T frames ``(T, 3, H, W)`` uint8 RGB to ``(T, D)``, each with the model's own preprocessing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vaar.baselines.config import DEFAULT_AUDIO, DEFAULT_VIDEO
from vaar.core._util.registry import Registry
from vaar.core.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

Modality = Literal["audio", "video"]
SAMPLE_RATE = 16_000


class Backbone(ABC):
    """A frozen extractor. ``key`` names it in the feature cache (spec, or path + weights hash)."""

    modality: Modality
    spec: str
    key: str
    dim: int

    def to(self, device: torch.device) -> Backbone:
        return self


class AudioBackbone(Backbone):
    modality: Modality = "audio"

    @abstractmethod
    def embed(self, wave: Tensor, bounds: Tensor) -> Tensor:
        """``wave`` (S,) float at 16 kHz, ``bounds`` (T, 2) seconds → (T, D) float32 on CPU."""


class VideoBackbone(Backbone):
    modality: Modality = "video"

    @abstractmethod
    def embed(self, frames: Tensor) -> Tensor:
        """``frames`` (T, 3, H, W) uint8 RGB → (T, D) float32 on CPU."""


@dataclass(frozen=True)
class Family:
    modality: Modality
    build: Callable[[str, str], Backbone]  # (reference, cache key) → backbone


FAMILIES: Registry[Family] = Registry("backbone family")
NAMES: dict[str, str] = {}  # registered name → family


def register_family(
    family: str, modality: Modality, names: tuple[str, ...] = ()
) -> Callable[[Callable[[str, str], Backbone]], Callable[[str, str], Backbone]]:
    def deco(build: Callable[[str, str], Backbone]) -> Callable[[str, str], Backbone]:
        FAMILIES.add(family, Family(modality, build))
        for name in names:
            NAMES[name] = family
        return build

    return deco


def backbone_names(modality: Modality | None = None) -> list[str]:
    return sorted(n for n, f in NAMES.items() if modality in (None, FAMILIES.get(f).modality))


def create_backbone(spec: str, modality: Modality, device: str | torch.device = "cpu") -> Backbone:
    """Resolve ``spec`` (name, ``family:ref`` or local folder), load it frozen in eval mode."""
    import torch

    family, ref, key = _resolve(spec)
    fam = FAMILIES.get(family)
    if fam.modality != modality:
        raise ConfigError(
            f"backbone {spec!r} is a {fam.modality} backbone, not {modality}; "
            f"{modality} backbones: {', '.join(backbone_names(modality))}"
        )
    backbone = fam.build(ref, key)
    backbone.spec = spec
    return backbone.to(torch.device(device))


def _resolve(spec: str) -> tuple[str, str, str]:
    if spec in NAMES:
        return NAMES[spec], spec, _slug(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        return _family_of_folder(path), str(path.resolve()), f"{_slug(path.name)}-{_weights_hash(path)}"
    family, sep, ref = spec.partition(":")
    if sep and family in FAMILIES and ref:
        return family, ref, _slug(spec)
    raise ConfigError(
        f"unknown backbone {spec!r}; use a name ({', '.join(backbone_names())}), "
        f"'family:reference' (families: {', '.join(sorted(FAMILIES))}) or a local checkpoint folder"
    )


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def _family_of_folder(path: Path) -> str:
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise ConfigError(f"{path}: no config.json; expected a saved wav2vec2, MobileViT or timm model")
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    if "architecture" in cfg:
        return "timm"
    model_type = cfg.get("model_type")
    if model_type in ("wav2vec2", "hubert", "wavlm"):
        return "wav2vec2"
    if model_type == "mobilevit":
        return "hf-mobilevit"
    raise ConfigError(f"{cfg_path}: cannot tell the model family (model_type={model_type!r})")


def _weights_hash(path: Path) -> str:
    """Content hash of a checkpoint folder, so that new weights at the same path get a new key."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        h.update(f.name.encode())
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()[:12]


def _missing_weights(spec: str, exc: BaseException) -> MissingDependencyError:
    where = "hub unreachable and not in the local Hugging Face cache" if not _hub_reachable() else (
        str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
    )
    return MissingDependencyError(
        f"weights of backbone {spec!r} are not available ({where}); run once with internet access "
        "to download them, or pass a local checkpoint folder (save_pretrained / timm save_for_hf)"
    )


def _load(spec: str, loader: Callable[[], Any]) -> Any:
    """Call a hub loader; a missing file or no network becomes one MissingDependencyError line.

    Without a reachable hub the loader runs in offline mode (cache only), so a missing checkpoint
    fails at once instead of after the hub client's retries.
    """
    offline = contextlib.nullcontext() if Path(spec).is_dir() or _hub_reachable() else _offline()
    try:
        with offline:
            return loader()
    except (OSError, RuntimeError, ValueError) as exc:  # hub errors derive from OSError/ValueError
        raise _missing_weights(spec, exc) from None


@functools.lru_cache(maxsize=1)
def _hub_reachable(timeout: float = 3.0) -> bool:
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """HF_HUB_OFFLINE for the duration of a load (env and the hub client's constant)."""
    import os

    import huggingface_hub.constants as hc

    old_env, old_const = os.environ.get("HF_HUB_OFFLINE"), hc.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    hc.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hc.HF_HUB_OFFLINE = old_const
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env


def _device_of(module: Any) -> torch.device:
    return next(module.parameters()).device


# ------------------------------------------------------------------------------------ wav2vec2


class Wav2Vec2Backbone(AudioBackbone):
    """Hidden states of the last transformer layer (50 Hz), mean-pooled per segment.

    Long tracks are processed in chunks of ``chunk_seconds`` (bounded memory: self-attention is
    quadratic in length); the waveform is normalised once over the whole track when the
    checkpoint's feature extractor asks for it.
    """

    def __init__(self, ref: str, key: str, chunk_seconds: float = 20.0) -> None:
        from transformers import AutoFeatureExtractor, AutoModel

        self.spec, self.key = ref, key
        extractor = _load(ref, lambda: AutoFeatureExtractor.from_pretrained(ref))
        self.model = _load(ref, lambda: AutoModel.from_pretrained(ref)).eval()
        self.normalize = bool(getattr(extractor, "do_normalize", False))
        cfg = self.model.config
        self.stride = math.prod(cfg.conv_stride)  # samples per output frame (320 → 50 Hz)
        self.receptive = self._receptive_field(cfg.conv_kernel, cfg.conv_stride)
        self.dim = int(cfg.hidden_size)
        self.chunk = max(self.stride, int(chunk_seconds * SAMPLE_RATE) // self.stride * self.stride)

    @staticmethod
    def _receptive_field(kernels: list[int], strides: list[int]) -> int:
        field, jump = 1, 1
        for k, s in zip(kernels, strides, strict=True):
            field += (k - 1) * jump
            jump *= s
        return field

    def to(self, device: torch.device) -> Wav2Vec2Backbone:
        self.model.to(device)
        return self

    def embed(self, wave: Tensor, bounds: Tensor) -> Tensor:
        import torch

        device = _device_of(self.model)
        wave = wave.float()
        if wave.numel() < self.receptive:  # too short for one frame: pad with silence
            wave = torch.nn.functional.pad(wave, (0, self.receptive - wave.numel()))
        if self.normalize:
            wave = (wave - wave.mean()) / torch.sqrt(wave.var() + 1e-7)
        hidden = []
        with torch.inference_mode():
            for start in range(0, wave.numel(), self.chunk):
                piece = wave[start : start + self.chunk + self.receptive - self.stride]
                if piece.numel() < self.receptive:
                    break
                out = self.model(piece[None].to(device)).last_hidden_state[0]  # (N, D)
                hidden.append(out[: self.chunk // self.stride].float().cpu())
        frames = torch.cat(hidden)  # (N, D) at SAMPLE_RATE / stride Hz
        centres = (torch.arange(frames.shape[0]) * self.stride + self.receptive / 2) / SAMPLE_RATE
        return pool_segments(frames, centres, bounds)


def pool_segments(frames: Tensor, times: Tensor, bounds: Tensor) -> Tensor:
    """Mean of the frames whose time lies in each segment; the nearest frame if none does.

    frames (N, D), times (N,) seconds, bounds (T, 2) seconds → (T, D).
    """
    import torch

    out = torch.empty(bounds.shape[0], frames.shape[1])
    for t, (lo, hi) in enumerate(bounds.tolist()):
        inside = (times >= lo) & (times < hi)  # (N,)
        if inside.any():
            out[t] = frames[inside].mean(0)
        else:
            out[t] = frames[int(torch.argmin((times - (lo + hi) / 2).abs()))]
    return out


@register_family("wav2vec2", "audio", names=(DEFAULT_AUDIO, "facebook/wav2vec2-base-960h"))
def _wav2vec2(ref: str, key: str) -> Backbone:
    return Wav2Vec2Backbone(ref, key)


# ------------------------------------------------------------------------------------ MobileViT


class TimmBackbone(VideoBackbone):
    """A timm image model without its classifier (pooled pre-logits), e.g. MobileViT-S → 640-d.

    Preprocessing is the model's own data config: resize the short side to
    ``input_size / crop_pct`` (its interpolation), centre-crop ``input_size``, scale to [0, 1],
    normalise with its mean and std.
    """

    def __init__(self, ref: str, key: str) -> None:
        import timm

        self.spec, self.key = ref, key
        name = f"local-dir:{ref}" if Path(ref).is_dir() else ref
        if not Path(ref).is_dir() and not timm.is_model(ref.split(".")[0]):
            raise ConfigError(f"timm has no model {ref!r}")
        self.model = _load(ref, lambda: timm.create_model(name, pretrained=True, num_classes=0))
        self.model.eval()
        cfg = timm.data.resolve_model_data_config(self.model)
        self.size = tuple(int(s) for s in cfg["input_size"][1:])
        self.resize = int(math.floor(self.size[0] / float(cfg.get("crop_pct", 1.0))))
        self.interp = str(cfg.get("interpolation", "bilinear"))
        self.mean = tuple(float(m) for m in cfg["mean"])
        self.std = tuple(float(s) for s in cfg["std"])
        self.dim = int(self.model.num_features)

    def to(self, device: torch.device) -> TimmBackbone:
        self.model.to(device)
        return self

    def preprocess(self, frames: Tensor) -> Tensor:  # (T, 3, H, W) uint8 → (T, 3, h, w) float
        import torch
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as TF

        mode = {"bicubic": InterpolationMode.BICUBIC, "bilinear": InterpolationMode.BILINEAR}.get(
            self.interp, InterpolationMode.BILINEAR
        )
        x = TF.resize(frames, [self.resize], interpolation=mode, antialias=True)
        x = TF.center_crop(x, list(self.size))
        x = x.float().div_(255.0)
        mean = torch.tensor(self.mean, device=x.device)[:, None, None]
        std = torch.tensor(self.std, device=x.device)[:, None, None]
        return (x - mean) / std

    def embed(self, frames: Tensor) -> Tensor:
        import torch

        with torch.inference_mode():
            x = self.preprocess(frames.to(_device_of(self.model)))  # (T, 3, h, w)
            return self.model(x).float().cpu()  # (T, D)


@register_family(
    "timm",
    "video",
    names=(DEFAULT_VIDEO, "mobilevit_xs.cvnets_in1k", "mobilevit_xxs.cvnets_in1k"),
)
def _timm(ref: str, key: str) -> Backbone:
    return TimmBackbone(ref, key)


class HFMobileViTBackbone(VideoBackbone):
    """transformers ``MobileViTModel`` pooled output with its ``MobileViTImageProcessor``."""

    def __init__(self, ref: str, key: str) -> None:
        from transformers import AutoImageProcessor, MobileViTModel

        self.spec, self.key = ref, key
        self.processor = _load(ref, lambda: AutoImageProcessor.from_pretrained(ref))
        self.model = _load(ref, lambda: MobileViTModel.from_pretrained(ref)).eval()
        self.dim = int(self.model.config.neck_hidden_sizes[-1])

    def to(self, device: torch.device) -> HFMobileViTBackbone:
        self.model.to(device)
        return self

    def embed(self, frames: Tensor) -> Tensor:
        import torch

        inputs = self.processor(images=list(frames), return_tensors="pt")
        with torch.inference_mode():
            pixels = inputs["pixel_values"].to(_device_of(self.model))  # (T, 3, h, w)
            return self.model(pixel_values=pixels).pooler_output.float().cpu()  # (T, D)


@register_family("hf-mobilevit", "video", names=("apple/mobilevit-small",))
def _hf_mobilevit(ref: str, key: str) -> Backbone:
    return HFMobileViTBackbone(ref, key)


# ------------------------------------------------------------------------------ hand-crafted


class BandEnergyAudio(AudioBackbone):
    """Log energies in ``bands`` log-spaced frequency bands (50 Hz – 8 kHz) per segment.

    Power spectra of 32 ms Hann frames (hop 16 ms) are averaged over the segment, then summed per
    band. No weights; for the offline demo and tests.
    """

    def __init__(self, key: str, bands: int = 64, n_fft: int = 512) -> None:
        import torch

        self.spec, self.key, self.dim = "handcrafted-audio", key, bands
        self.n_fft, self.hop = n_fft, n_fft // 2
        freqs = torch.fft.rfftfreq(n_fft, 1.0 / SAMPLE_RATE)  # (F,)
        edges = torch.logspace(math.log10(50.0), math.log10(SAMPLE_RATE / 2), bands + 1)
        idx = torch.bucketize(freqs, edges) - 1  # band of each bin, -1 / bands outside
        self.band_matrix = torch.zeros(freqs.numel(), bands)  # (F, bands)
        ok = (idx >= 0) & (idx < bands)
        self.band_matrix[torch.arange(freqs.numel())[ok], idx[ok]] = 1.0
        self.window = torch.hann_window(n_fft)

    def embed(self, wave: Tensor, bounds: Tensor) -> Tensor:
        import torch

        wave = wave.float()
        if wave.numel() < self.n_fft:
            wave = torch.nn.functional.pad(wave, (0, self.n_fft - wave.numel()))
        frames = wave.unfold(0, self.n_fft, self.hop) * self.window  # (N, n_fft)
        power = torch.fft.rfft(frames).abs().pow(2)  # (N, F)
        times = (torch.arange(frames.shape[0]) * self.hop + self.n_fft / 2) / SAMPLE_RATE
        pooled = pool_segments(power, times, bounds)  # (T, F)
        return torch.log10(pooled @ self.band_matrix + 1e-6)  # (T, bands)


@register_family("handcrafted-audio", "audio", names=("handcrafted-audio",))
def _handcrafted_audio(ref: str, key: str) -> Backbone:
    return BandEnergyAudio(key)


class ColourGridVideo(VideoBackbone):
    """Mean R, G, B on a ``grid`` × ``grid`` partition of the frame (4 × 4 × 3 = 48-d)."""

    def __init__(self, key: str, grid: int = 4) -> None:
        self.spec, self.key, self.grid, self.dim = "handcrafted-video", key, grid, 3 * grid * grid

    def embed(self, frames: Tensor) -> Tensor:
        import torch.nn.functional as F

        x = frames.float() / 255.0  # (T, 3, H, W)
        cells = F.adaptive_avg_pool2d(x, self.grid)  # (T, 3, g, g)
        return cells.flatten(1)  # (T, 3·g·g)


@register_family("handcrafted-video", "video", names=("handcrafted-video",))
def _handcrafted_video(ref: str, key: str) -> Backbone:
    return ColourGridVideo(key)
