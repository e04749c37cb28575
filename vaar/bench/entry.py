"""Leaderboard entries: one JSON file a submission, ``entries/<task>/<slug>.json``.

Schema (``schema_version`` 1; a reader refuses versions it does not know)::

    {
      "schema": "vaar-bench/entry", "schema_version": 1,
      "task": "vaar-cls", "slug": "avarnet", "date": "2025-11-26", "vaar_version": "0.1.0",
      "model": {"name", "url", "modalities": ["audio", "video"], "paper", "code", "notes"},
      "cost": {"parameters", "latency_ms_per_clip", "latency_clips", "device", "threads",
               "measured": true},         # all null when a predictions file was submitted
      "dataset": {"source", "split", "split_sha256", "version"},
      "n": 600, "main_score": "macro_f1",
      "scores": {...}, "ci95": {name: [lo, hi]}, "per_class": {...},
      "bootstrap": {"resamples", "seed", "level"},
      "predictions_sha256": "..."
    }

Costs are measured by ``vaar-bench submit --model`` and never self-reported: ``--meta`` files
may describe a model (name, url, modalities, paper, code, notes) but not its cost.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vaar import __version__
from vaar.bench.tasks import ScoreReport
from vaar.errors import ConfigError, ManifestError

SCHEMA = "vaar-bench/entry"
SCHEMA_VERSION = 1
MODALITIES = ("audio", "video")
_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """File-safe slug of a model name: ``"AVAR-Net (ours) v2"`` -> ``"avar-net-ours-v2"``."""
    slug = _SLUG.sub("-", name.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise ConfigError(f"--name {name!r} has no letters or digits; give the model a name")
    return slug


@dataclass(frozen=True)
class ModelMeta:
    """What a submitter may say about a model (``--meta model.yaml``)."""

    name: str
    url: str | None = None
    modalities: tuple[str, ...] = ()
    paper: str | None = None
    code: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        for key in ("url", "code"):
            value = getattr(self, key)
            if value is not None and not re.match(r"^https?://", value):
                raise ConfigError(f"model {key} {value!r} must be an http(s) URL")
        odd = [m for m in self.modalities if m not in MODALITIES]
        if odd:
            raise ConfigError(f"modalities {odd} are not among {list(MODALITIES)}")


_COST_KEYS = {"parameters", "params", "latency", "latency_ms", "latency_ms_per_clip", "flops", "cost"}


def load_meta(path: Path | None, name: str) -> ModelMeta:
    """Read ``--meta`` YAML; ``name`` (from ``--name``) wins over a name in the file."""
    if path is None:
        return ModelMeta(name=name)
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read model metadata ({type(exc).__name__}); write YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: model metadata must be a YAML mapping")
    cost = sorted(_COST_KEYS & set(data))
    if cost:
        raise ConfigError(f"{path}: {', '.join(cost)} cannot be self-reported; "
                          "costs are measured by `vaar-bench submit --model`")
    valid = {f.name for f in fields(ModelMeta)}
    unknown = sorted(set(data) - valid)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
    data["name"] = name
    mods = data.get("modalities") or ()
    data["modalities"] = tuple(str(m) for m in ([mods] if isinstance(mods, str) else mods))
    for key in ("url", "paper", "code", "notes"):
        if data.get(key) is not None:
            data[key] = str(data[key])
    return ModelMeta(**data)


@dataclass(frozen=True)
class Cost:
    """Measured by :mod:`vaar.bench.model`; ``None`` fields when a file was submitted."""

    parameters: int | None = None
    latency_ms_per_clip: float | None = None
    latency_clips: int | None = None
    device: str | None = None
    threads: int | None = None
    measured: bool = False


@dataclass(frozen=True)
class DatasetRef:
    source: str
    split: str | None
    split_sha256: str
    version: str | None = None


@dataclass(frozen=True)
class Entry:
    slug: str
    model: ModelMeta
    report: ScoreReport
    dataset: DatasetRef
    predictions_sha256: str
    cost: Cost = field(default_factory=Cost)
    date: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).date().isoformat())
    vaar_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        report = self.report.to_dict()
        model = asdict(self.model)
        model["modalities"] = list(self.model.modalities)
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "task": self.report.task,
            "slug": self.slug,
            "date": self.date,
            "vaar_version": self.vaar_version,
            "model": model,
            "cost": asdict(self.cost),
            "dataset": asdict(self.dataset),
            "n": report["n"],
            "main_score": report["main_score"],
            "scores": report["scores"],
            "ci95": report["ci95"],
            "per_class": report["per_class"],
            "bootstrap": report["bootstrap"],
            **({"details": report["details"]} if "details" in report else {}),
            "predictions_sha256": self.predictions_sha256,
        }


_REQUIRED = ("task", "slug", "date", "model", "cost", "dataset", "n", "main_score", "scores", "ci95")


def check_entry(data: Any, where: Path | str) -> dict[str, Any]:
    """Validate a loaded entry dict (schema and version); returns it."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ManifestError(f"{where}: not a vaar-bench entry (no \"schema\": \"{SCHEMA}\")")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ManifestError(f"{where}: entry schema_version {version!r} is newer than this vaar-bench "
                            f"({SCHEMA_VERSION}); upgrade vaar")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ManifestError(f"{where}: entry lacks {', '.join(missing)}; re-submit it")
    if not isinstance(data["model"], dict) or not data["model"].get("name"):
        raise ManifestError(f"{where}: entry has no model name; re-submit it")
    return data
