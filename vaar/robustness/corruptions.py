"""Corruptions by decorator; names are data (timm's ``@register_model`` pattern).

::

    @register_corruption("fog", group="video", stage="frames", touches=("video",), levels=(...))
    def fog(frames, times, ctx): ...

    get_corruption("fog")       # an unknown name raises ConfigError listing the valid ones

Every corruption is a deterministic function of its input, its severity (1-5) and a seed; the
randomness of a video frame depends on the seed, the clip and the frame's *time* (not its index),
so the same frame is corrupted the same way whether 16 centre frames or all of them are decoded.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from vaar.core._util.registry import Registry
from vaar.core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

Group = Literal["video", "audio", "modality"]
#: where a corruption runs: on decoded frames, on decoded 16 kHz samples, or on the encoded file
Stage = Literal["frames", "samples", "media"]
Modality = Literal["audio", "video"]
SEVERITIES = (1, 2, 3, 4, 5)
#: part of every cache key of corrupted features and media: bump it when a corruption's output changes
VERSION = 2


@dataclass(frozen=True)
class Context:
    """What a corruption function gets besides its data."""

    name: str
    severity: int  # 1..5
    seed: int  # the run's seed mixed with the clip's key (see clip_seed)
    duration: float  # seconds of the clip (media time of the first frame to the end)
    start: float = 0.0  # media time of the clip's first frame

    @property
    def level(self) -> float:
        """This corruption's parameter at this severity."""
        return get_corruption(self.name).levels[self.severity - 1]

    def rng(self, *salt: int) -> np.random.Generator:
        """A generator fixed by (seed, corruption, salt...)."""
        return np.random.default_rng([self.seed, zlib.crc32(self.name.encode()), *(int(s) & 0xFFFFFFFF for s in salt)])

    def frame_rng(self, t: float) -> np.random.Generator:
        """A generator of the frame played at media time ``t`` (seconds; millisecond buckets)."""
        return self.rng(1, round(t * 1000))

    def torch_rng(self, *salt: int) -> torch.Generator:
        """A torch generator fixed by (seed, corruption, salt...): dense noise, faster than numpy."""
        import torch

        words = [self.seed, zlib.crc32(self.name.encode()), 2, *(int(s) & 0xFFFFFFFF for s in salt)]
        return torch.Generator().manual_seed(int(np.random.SeedSequence(words).generate_state(1, np.uint64)[0] >> 1))


FrameFn = Callable[["Tensor", "Tensor", Context], "Tensor"]  # (T,3,H,W) uint8, (T,) s -> (T,3,H,W) uint8
SampleFn = Callable[["Tensor", Context], "Tensor"]  # (S,) float32 16 kHz -> (S,) float32
MediaFn = Callable[..., None]  # (src Path, dst Path, kind "video"|"audio", ctx) -> None


@dataclass(frozen=True)
class Corruption:
    name: str
    group: Group
    stage: Stage
    touches: tuple[Modality, ...]  # the modalities it changes; the others stay bit-identical
    levels: tuple[float, ...]  # the parameter at severities 1..5
    unit: str  # what ``levels`` measures (for the docs and the JSON)
    fn: Any
    doc: str

    def describe(self) -> str:
        lv = ", ".join(f"{v:g}" for v in self.levels)
        return f"{self.name} ({self.group}, {self.stage}): {self.unit} = {lv}"


_MODULES = ("vaar.robustness.video", "vaar.robustness.audio", "vaar.robustness.modality")
_REGISTRY: Registry[Corruption] = Registry("corruption", modules=_MODULES)


def register_corruption(
    name: str, *, group: Group, stage: Stage, touches: Sequence[Modality], levels: Sequence[float], unit: str
) -> Callable[[Any], Any]:
    if len(levels) != len(SEVERITIES):
        raise ValueError(f"corruption {name!r}: {len(SEVERITIES)} levels needed, got {len(levels)}")

    def deco(fn: Any) -> Any:
        doc = " ".join((fn.__doc__ or "").strip().split("\n\n")[0].split())
        _REGISTRY.add(name, Corruption(name, group, stage, tuple(touches), tuple(float(v) for v in levels), unit, fn, doc))
        return fn

    return deco


def _load() -> None:
    _REGISTRY.load()


def corruption_names(group: Group | None = None) -> list[str]:
    """Registered names in registry order (video, audio, modality), optionally of one group."""
    _load()
    order = {"video": 0, "audio": 1, "modality": 2}
    position = {n: i for i, n in enumerate(_REGISTRY)}

    def key(n: str) -> tuple[int, int, int]:  # group, then defining module, then definition order
        mod = _REGISTRY[n].fn.__module__
        return order[_REGISTRY[n].group], _MODULES.index(mod) if mod in _MODULES else len(_MODULES), position[n]

    names = sorted(_REGISTRY, key=key)
    return [n for n in names if group is None or _REGISTRY[n].group == group]


def get_corruption(name: str) -> Corruption:
    _load()
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise ConfigError(f"unknown corruption {name!r}; valid: {', '.join(corruption_names())}") from None


def parse_corruptions(spec: Sequence[str] | None) -> list[str]:
    """``--corruptions`` values (names, group names ``video``/``audio``/``modality``, or ``all``)."""
    _load()
    if not spec:
        return corruption_names()
    out: list[str] = []
    for item in (p.strip() for s in spec for p in s.split(",")):
        if not item:
            continue
        names = corruption_names() if item == "all" else corruption_names(item) if item in ("video", "audio", "modality") else [get_corruption(item).name]  # type: ignore[arg-type]
        out += [n for n in names if n not in out]
    return out


def parse_severities(spec: str | None) -> list[int]:
    """``--severities 1-5`` / ``1,3,5`` / ``3``."""
    if not spec:
        return list(SEVERITIES)
    out: list[int] = []
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            rng = range(int(lo), int(hi or lo) + 1)
            out += [s for s in rng if s not in out]
    except ValueError:
        raise ConfigError(f"--severities {spec!r}: write a range like 1-5 or a list like 1,3,5") from None
    bad = [s for s in out if s not in SEVERITIES]
    if bad or not out:
        raise ConfigError(f"--severities {spec!r}: severities are 1 to 5")
    return sorted(out)


def clip_seed(seed: int, clip_key: str) -> int:
    """The seed of one clip: the run's seed mixed with the clip's sha256 (its cache key)."""
    return (int(seed) * 1_000_003 + zlib.crc32(clip_key.encode())) & 0x7FFFFFFF
