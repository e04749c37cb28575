"""Training configuration: frozen dataclass ← YAML file (``baselines/*.yaml``) ← CLI flags.

The resolved configuration is written next to the outputs (``RUN/config.yaml``), so a run can be
repeated from its own folder: ``vaar-bench train --config RUN/config.yaml ...``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from vaar.core._util.yamlsafe import YamlRefused, load_yaml
from vaar.core.errors import ConfigError

#: the default backbones (:mod:`vaar.baselines.backbones` registers them; named here, torch-free,
#: for the command lines' defaults)
DEFAULT_AUDIO = "facebook/wav2vec2-base"
DEFAULT_VIDEO = "mobilevit_s.cvnets_in1k"
#: config fields a command line may override (``--epochs 3`` etc.; ``vaar-bench train`` and ``train-xd``)
OVERRIDE_FLAGS = ("model", "epochs", "batch_size", "lr", "weight_decay", "dropout", "num_stages",
                  "num_layers", "num_f_maps", "segments", "audio_backbone", "video_backbone", "device",
                  "modality_dropout")  # fmt: skip

Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run.

    ``device``: ``auto`` uses CUDA when present, else the CPU (results on CPU and GPU agree up
    to floating-point order). ``audio_backbone`` / ``video_backbone`` / ``segments``: ``None``
    takes the latest extraction in the feature cache; name them to pick one of several.
    Selection: the epoch with the best validation accuracy (ties: lower validation loss).
    ``modality_dropout``: the probability that a training clip has one modality's features
    zeroed (audio or video, even odds) in a batch -- the standard missing-modality fix; 0 is off.
    """

    model: str = "avarnet"
    audio_backbone: str | None = None
    video_backbone: str | None = None
    segments: int | None = None
    num_stages: int = 4
    num_layers: int = 10
    num_f_maps: int = 64
    dropout: float = 0.5
    smooth_weight: float = 0.15
    smooth_tau: float = 4.0
    epochs: int = 50
    batch_size: int = 16
    lr: float = 5e-4
    weight_decay: float = 0.0
    seeds: tuple[int, ...] = (0,)
    modality_dropout: float = 0.0
    device: Device = "auto"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        return d


def _scalar(text: str, name: str, where: str) -> Any:
    """A CLI value read as YAML (``0.1`` → float, ``[a, b]`` → list); bad YAML is one line."""
    try:
        return load_yaml(text, max_bytes=4096)
    except YamlRefused as exc:
        raise ConfigError(f"{where}: {name}: {exc}") from None


def _check(name: str, value: Any, hint: Any, where: str) -> Any:
    """Coerce a YAML / CLI value to the field's type, or raise one ConfigError line."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        return _check(name, value, hint, where)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: {name} must be one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if origin is tuple:
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        return tuple(_check(name, _scalar(i, name, where) if isinstance(i, str) else i, args[0], where) for i in items)
    if hint in (int, float) and isinstance(value, str):
        try:
            value = hint(value)
        except ValueError:
            raise ConfigError(f"{where}: {name} must be {hint.__name__}, not {value!r}") from None
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    raise ConfigError(f"{where}: {name} must be {getattr(hint, '__name__', hint)}, not {value!r}")


def resolve_config(
    path: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """Defaults ← YAML file ← overrides (CLI flags; strings are parsed as YAML scalars)."""
    hints = typing.get_type_hints(TrainConfig)
    names = {f.name for f in fields(TrainConfig)}
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: no such config file (see baselines/*.yaml)")
        try:
            data = load_yaml(p.read_text(encoding="utf-8")) or {}
        except (YamlRefused, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: config refused ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: expected a mapping of settings")
        for k, v in data.items():
            if k not in names:
                raise ConfigError(f"{p}: unknown setting {k!r}; valid: {', '.join(sorted(names))}")
            values[k] = _check(k, v, hints[k], str(p))
    for k, v in (overrides or {}).items():
        if k not in names:
            raise ConfigError(f"unknown setting {k!r}; valid: {', '.join(sorted(names))}")
        if isinstance(v, str) and hints[k] is not str and typing.get_origin(hints[k]) is not tuple:
            v = _scalar(v, k, f"--{k.replace('_', '-')}")
        values[k] = _check(k, v, hints[k], f"--{k.replace('_', '-')}")
    cfg = TrainConfig(**values)
    if not 0.0 <= cfg.modality_dropout <= 1.0:
        raise ConfigError(f"modality_dropout must be between 0 and 1, not {cfg.modality_dropout}")
    return cfg


def write_config(cfg: TrainConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
