"""Leaderboard entries: one JSON file a submission, ``entries/<task>/<slug>.json``.

The format is defined once, as JSON Schema, in :mod:`vaar.core.contracts.entry` (exported to
``leaderboard/schema/entry.schema.json``); this module builds entries from a score report::

    {
      "schema": "vaar-bench/entry", "schema_version": 1,
      "task": "vaar-cls", "slug": "avarnet", "date": "2025-11-26", "vaar_version": "0.1.0",
      "model": {"name", "url", "modalities": ["audio", "video"], "paper", "code", "notes"},
      "cost": {"parameters", "latency_ms_per_clip", "latency_clips", "device", "threads",
               "measured": true},         # all null when a predictions file was submitted
      "dataset": {"source", "split", "split_sha256", "version", "private"},
      "n": 600, "main_score": "macro_f1",
      "scores": {...}, "ci95": {name: [lo, hi]}, "per_class": {...},   # {} on private labels
      "bootstrap": {"resamples", "seed", "level"},
      "predictions_sha256": "...", "submissions": 1
    }

Costs are measured by ``vaar-bench submit --model`` (:mod:`vaar.bench.sandbox`) and never
self-reported: ``--meta`` files may describe a model (name, url, modalities, paper, code, notes,
within the schema's length caps, no YAML aliases) but not its cost.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from vaar import __version__
from vaar.bench.tasks import ScoreReport
from vaar.core.contracts import jsonschema_lite
from vaar.core.contracts.entry import (
    MAX_LEN,
    MODALITIES,
    SCHEMA,
    SCHEMA_VERSION,
    EntryError,
    entry_schema,
    validate_entry,
)
from vaar.core.errors import ConfigError, ManifestError

__all__ = ["MODALITIES", "SCHEMA", "SCHEMA_VERSION", "Cost", "DatasetRef", "Entry", "ModelMeta", "check_entry",
           "load_meta", "slugify"]
_SLUG = re.compile(r"[^a-z0-9]+")
MAX_META_BYTES = 16 * 1024


def slugify(name: str) -> str:
    """File-safe slug of a model name: ``"AVAR-Net (ours) v2"`` -> ``"avar-net-ours-v2"``."""
    slug = _SLUG.sub("-", name.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise ConfigError(f"--name {name!r} has no letters or digits; give the model a name")
    return slug


@dataclass(frozen=True)
class ModelMeta:
    """What a submitter may say about a model (``--meta model.yaml``), checked by the entry schema."""

    name: str
    url: str | None = None
    modalities: tuple[str, ...] = ()
    paper: str | None = None
    code: str | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        value = asdict(self)
        value["modalities"] = list(self.modalities)
        problems = jsonschema_lite.errors(value, entry_schema()["$defs"]["model"], entry_schema(), "model")
        if problems:
            raise ConfigError(f"model metadata: {'; '.join(problems[:3])} "
                              "(urls are https without spaces or ()|<>; see leaderboard/schema/entry.schema.json)")


_COST_KEYS = {"parameters", "params", "latency", "latency_ms", "latency_ms_per_clip", "flops", "cost"}


def load_meta(path: Path | None, name: str) -> ModelMeta:
    """Read ``--meta`` YAML (at most 16 KB, no aliases); ``name`` (from ``--name``) wins over a name in the file."""
    if path is None:
        return ModelMeta(name=name)
    data = _read_meta(path)
    cost = sorted(_COST_KEYS & {str(k) for k in data})
    if cost:
        raise ConfigError(f"{path}: {', '.join(cost)} cannot be self-reported; "
                          "costs are measured by `vaar-bench submit --model`")
    valid = {f.name for f in fields(ModelMeta)}
    unknown = sorted(str(k) for k in set(data) - valid)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)[:200]}; valid: {', '.join(sorted(valid))}")
    data["name"] = name
    mods = data.get("modalities") or ()
    if not isinstance(mods, (str, list, tuple)) or len(mods) > len(MODALITIES):
        raise ConfigError(f"{path}: modalities is a list of {', '.join(MODALITIES)}")
    data["modalities"] = tuple(str(m)[:20] for m in ([mods] if isinstance(mods, str) else mods))
    for key in ("url", "paper", "code", "notes"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or len(str(value)) > MAX_LEN[key]:
            raise ConfigError(f"{path}: {key} must be text of at most {MAX_LEN[key]} characters")
        data[key] = str(value)
    return ModelMeta(**data)


def _read_meta(path: Path) -> dict[Any, Any]:
    """The ``--meta`` file as a mapping: at most 16 KB, UTF-8, YAML without aliases."""
    from vaar.core._util.capped import CappedReadError, read_text_capped
    from vaar.core._util.yamlsafe import YamlRefused, load_yaml

    try:
        text = read_text_capped(path, MAX_META_BYTES)
    except CappedReadError as exc:
        why = {"unreadable": f"cannot read model metadata ({exc.detail})",
               "too_large": f"model metadata is over {MAX_META_BYTES // 1024} KB; keep it to a few fields",
               "not_utf8": "model metadata is not UTF-8"}[exc.kind]  # fmt: skip
        raise ConfigError(f"{path}: {why}") from None
    try:
        data = load_yaml(text) or {}
    except YamlRefused as exc:
        raise ConfigError(f"{path}: cannot read model metadata ({exc}); write a flat YAML mapping") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: model metadata must be a YAML mapping")
    return data


@dataclass(frozen=True)
class Cost:
    """Measured by :mod:`vaar.bench.sandbox`; ``None`` fields when a file was submitted
    (``parameters`` is also ``None`` when the model has no torch modules: not measured)."""

    parameters: int | None = None
    latency_ms_per_clip: float | None = None
    latency_clips: int | None = None
    device: str | None = None
    threads: int | None = None
    measured: bool = False
    measurement: dict[str, Any] | None = None  # how the scorer measured them (required when measured)


@dataclass(frozen=True)
class DatasetRef:
    source: str
    split: str | None
    split_sha256: str
    version: str | None = None
    private: bool = False  # labels held by the host (--labels): no per-class detail is published


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
    submissions: int = 1

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
            "cost": {k: v for k, v in asdict(self.cost).items() if k != "measurement" or v is not None},
            "dataset": asdict(self.dataset),
            "n": report["n"],
            "main_score": report["main_score"],
            "scores": report["scores"],
            "ci95": report["ci95"],
            "per_class": {} if self.dataset.private else report["per_class"],
            "bootstrap": report["bootstrap"],
            **({"details": report["details"]} if "details" in report else {}),
            "predictions_sha256": self.predictions_sha256,
            "submissions": self.submissions,
        }


def check_entry(data: Any, where: Path | str) -> dict[str, Any]:
    """Validate a loaded entry dict against the one schema (:mod:`vaar.core.contracts.entry`); returns it."""
    try:
        return validate_entry(data)
    except EntryError as exc:
        raise ManifestError(f"{where}: invalid entry: {exc}") from None
