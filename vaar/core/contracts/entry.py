"""The leaderboard entry contract: one JSON Schema, its reader and its validator.

An entry (``leaderboard/entries/<task>/<slug>.json``) arrives by pull request, so it is data to
validate, not to trust. :func:`entry_schema` is the one definition; the same dict is enforced
by :func:`validate_entry` (through :mod:`vaar.core.contracts.jsonschema_lite`) and exported as
``leaderboard/schema/entry.schema.json`` by ``vaar-bench schema``. It pins: a known task and
exactly that task's score keys and main score; finite numbers in [0, 1] for scores, intervals
and per-class scores; an ISO date; https URLs with no whitespace, quotes or ``()|<>``; bounded
string lengths (also the caps of ``--meta``); a sha256 (or ``hmac-sha256:``) split identity.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from vaar.core.contracts import jsonschema_lite
from vaar.core.contracts.untrusted_json import JsonInputError, loads

SCHEMA = "vaar-bench/entry"
SCHEMA_VERSION = 1
MAX_ENTRY_BYTES = 256 * 1024
MODALITIES = ("audio", "video")
SHA256 = "^[0-9a-f]{64}$"
SPLIT_IDENTITY = "^(?:hmac-sha256:)?[0-9a-f]{64}$"
SLUG = "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
#: https only; host of letters, digits, dots and hyphens; a path without whitespace, quotes,
#: backslashes or any of ``()|<>`` (so it cannot close a Markdown link or an HTML attribute)
URL = r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,250}[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9._~%/?#&=+,;:@!$*-]*)?$"
TEXT = r"^[^\x00-\x1f\x7f]*$"  # one line, no control characters
#: length caps, shared by ``--meta`` (vaar.bench.make_entry.load_meta)
MAX_LEN = {"name": 100, "url": 300, "code": 300, "paper": 300, "notes": 500}


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": TEXT}


def _url() -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": MAX_LEN["url"], "pattern": URL}


def _robustness_schema(fraction: dict[str, Any]) -> dict[str, Any]:
    """``vaar-bench submit --robustness``'s block (vaar.robustness.board.entry_block)."""
    signed = {"type": "number", "minimum": -1, "maximum": 1}
    ratio = {"type": "number", "minimum": 0, "maximum": 100}

    def interval(item: dict[str, Any]) -> dict[str, Any]:
        return _maybe({"type": "array", "minItems": 2, "maxItems": 2, "items": item})

    return {"type": "object", "additionalProperties": False, "required": ["mcf1"], "properties": {
        "mcf1": fraction, "ci95": interval(fraction),
        "clean_macro_f1": fraction, "clean_ci95": interval(fraction),
        "relative": signed, "relative_ci95": interval(signed),  # the difference, under its pre-v2 name
        "difference": signed, "difference_ci95": interval(signed),
        "mcf1_balanced": fraction, "mcf1_balanced_ci95": interval(fraction),
        "rpc": ratio, "rpc_ci95": interval(ratio),
        "weights": {"type": "object", "maxProperties": 3, "propertyNames": {"enum": ["video", "audio", "modality"]},
                    "additionalProperties": fraction},
        "n": {"type": "integer", "minimum": 1, "maximum": 10**9},
        "failed_by_condition": {"type": "object", "maxProperties": 512,
                                "propertyNames": {"pattern": "^(clean|[a-z0-9_]{1,40} s[1-5])$"},
                                "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10**9}},
        "predictions_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "groups": {"type": "object", "maxProperties": 3, "propertyNames": {"enum": ["video", "audio", "modality"]},
                   "additionalProperties": fraction},
        "severities": {"type": "array", "maxItems": 5, "items": {"type": "integer", "minimum": 1, "maximum": 5}},
        "matrix": {"type": "object", "maxProperties": 64, "propertyNames": {"pattern": "^[a-z0-9_]{1,40}$"},
                   "additionalProperties": {"type": "object", "maxProperties": 5,
                                            "propertyNames": {"enum": ["1", "2", "3", "4", "5"]},
                                            "additionalProperties": fraction}},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    }}  # fmt: skip


def _maybe(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [{"type": "null"}, schema]}


@lru_cache(maxsize=1)
def entry_schema() -> dict[str, Any]:
    """The entry's JSON Schema (draft 2020-12), built from the task table and the taxonomy."""
    from vaar.core.contracts.task_meta import TASKS as tasks
    from vaar.core.taxonomy import default_taxonomy

    keys = sorted({k for t in tasks.values() for k in t.score_labels})
    fraction = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    per_task = [
        {"if": {"properties": {"task": {"const": name}}, "required": ["task"]},
         "then": {"properties": {
             "main_score": {"const": t.main_score},
             "scores": {"required": list(t.score_labels), "propertyNames": {"enum": list(t.score_labels)}},
             "ci95": {"propertyNames": {"enum": list(t.score_labels)}}}}}
        for name, t in tasks.items()
    ]
    scalar = {"type": ["number", "string", "boolean", "null"], "maxLength": 200}
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "vaar-bench leaderboard entry",
        "description": "leaderboard/entries/<task>/<slug>.json; written by `vaar-bench submit`, "
                       "validated on every read (vaar/core/contracts/entry.py)",
        "type": "object",
        "additionalProperties": False,
        "required": ["schema", "schema_version", "task", "slug", "date", "vaar_version", "model", "cost",
                     "dataset", "n", "main_score", "scores", "ci95", "predictions_sha256"],
        "properties": {
            "schema": {"const": SCHEMA},
            "schema_version": {"const": SCHEMA_VERSION},
            "task": {"enum": list(tasks)},
            "slug": {"type": "string", "pattern": SLUG},
            "date": {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
            "vaar_version": {"type": "string", "pattern": "^[0-9A-Za-z.+-]{1,40}$"},
            "model": {"$ref": "#/$defs/model"},
            "cost": {"$ref": "#/$defs/cost"},
            "dataset": {"$ref": "#/$defs/dataset"},
            "n": {"type": "integer", "minimum": 1, "maximum": 100_000_000},
            "main_score": {"enum": keys},
            "scores": {"type": "object", "propertyNames": {"enum": keys}, "additionalProperties": fraction},
            "ci95": {"type": "object", "propertyNames": {"enum": keys}, "additionalProperties": _maybe(
                {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number", "minimum": 0, "maximum": 1}})},
            "per_class": {"type": "object", "maxProperties": 32,
                          "propertyNames": {"enum": [*default_taxonomy().slugs, "anomaly"]},
                          "additionalProperties": {"$ref": "#/$defs/class_scores"}},
            "bootstrap": {"type": "object", "additionalProperties": False,
                          "properties": {"resamples": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                                         "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
                                         "level": {"type": "number", "minimum": 0, "maximum": 1}}},
            "details": {"type": "object", "maxProperties": 20, "propertyNames": {"pattern": "^[a-z0-9_]{1,40}$"},
                        "additionalProperties": {"anyOf": [scalar, {"type": "object", "maxProperties": 20,
                                                                    "propertyNames": {"pattern": "^[a-z0-9_]{1,40}$"},
                                                                    "additionalProperties": scalar}]}},
            "predictions_sha256": {"type": "string", "pattern": SPLIT_IDENTITY},  # hmac on a private split
            "robustness": {"$ref": "#/$defs/robustness"},
            "submissions": {"type": "integer", "minimum": 1, "maximum": 1_000_000,
                            "description": "how many times this name was submitted for this task"},
        },
        "allOf": per_task,
        "$defs": {
            "model": {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
                "name": _text(MAX_LEN["name"]),
                "url": _url(),
                "code": _url(),
                "paper": _maybe(_text(MAX_LEN["paper"])),
                "notes": _maybe(_text(MAX_LEN["notes"])),
                "modalities": {"type": "array", "maxItems": len(MODALITIES), "items": {"enum": list(MODALITIES)}},
            }},
            "cost": {"type": "object", "additionalProperties": False, "properties": {
                "parameters": {"type": ["integer", "null"], "minimum": 0, "maximum": 10**13},
                "latency_ms_per_clip": {"type": ["number", "null"], "minimum": 0, "maximum": 10**8},
                "latency_clips": {"type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000},
                "device": {"type": ["string", "null"], "enum": ["cpu", None]},
                "threads": {"type": ["integer", "null"], "minimum": 0, "maximum": 4096},
                "measured": {"type": "boolean"},
                "measurement": {"$ref": "#/$defs/measurement"},
            }},
            "measurement": {"type": "object", "additionalProperties": False, "required": ["latency", "sandbox"],
                            "properties": {
                "latency": _text(300), "parameters": _text(300),
                "batch_size": {"type": "integer", "minimum": 1, "maximum": 4096},
                "requests": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
                "single_clip_requests": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
                "single_clip_ms_median": {"type": ["number", "null"], "minimum": 0, "maximum": 10**8},
                "setup_s": {"type": ["number", "null"], "minimum": 0, "maximum": 10**8},
                "peak_memory_mb": {"type": ["number", "null"], "minimum": 0, "maximum": 10**8},
                "sandbox": {"type": "object", "additionalProperties": False,
                            "required": ["user", "processes", "memory", "network"],
                            "properties": {k: _text(120) for k in ("user", "processes", "memory", "network")}},
            }},
            "dataset": {"type": "object", "additionalProperties": False, "required": ["split_sha256"], "properties": {
                "source": _text(200),
                "split": {"type": ["string", "null"], "pattern": "^[a-z]{1,20}$"},
                "split_sha256": {"type": "string", "pattern": SPLIT_IDENTITY},
                "version": {"type": ["string", "null"], "pattern": "^[0-9A-Za-z.+-]{1,40}$"},
                "private": {"type": "boolean"},
            }},
            "robustness": _robustness_schema(fraction),
            "class_scores": {"type": "object", "additionalProperties": False, "properties": {
                "precision": fraction, "recall": fraction, "f1": fraction, "ap": fraction,
                "support": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
            }},
        },
    }
    jsonschema_lite.check_keywords(schema)
    return schema


class EntryError(ValueError):
    """An entry that breaks the contract; ``str(exc)`` is one line (without the file name)."""


def _coherence(data: dict[str, Any]) -> list[str]:
    """What a field-by-field schema cannot say: an interval holds its point score, and a cost that
    claims to be measured carries the scorer's record of how."""
    problems = []
    scores, ci = data.get("scores") or {}, data.get("ci95") or {}
    for key, iv in sorted(ci.items()):
        point = scores.get(key)
        if iv is None or point is None:
            continue
        lo, hi = iv
        if not lo <= hi:
            problems.append(f"ci95.{key} [{lo}, {hi}] is not an interval (low above high)")
        elif not lo - 1e-6 <= point <= hi + 1e-6:  # float noise of the bootstrap only
            problems.append(f"ci95.{key} [{lo}, {hi}] does not contain its score {point}")
    cost = data.get("cost") or {}
    if cost.get("measured") is True and not isinstance(cost.get("measurement"), dict):
        problems.append("cost.measured is true without cost.measurement (the scorer's record of how it was "
                        "measured); costs come from `vaar-bench submit --model`")
    if cost.get("measured") is not True and cost.get("measurement") is not None:
        problems.append("cost.measurement is set but cost.measured is not true")
    return problems


def validate_entry(data: Any) -> dict[str, Any]:
    """Return ``data`` if it satisfies :func:`entry_schema`, else raise :class:`EntryError`."""
    if isinstance(data, dict) and isinstance(data.get("schema_version"), int) \
            and not isinstance(data["schema_version"], bool) and data["schema_version"] > SCHEMA_VERSION:
        raise EntryError(f"schema_version {data['schema_version']} is newer than this vaar-bench "
                         f"({SCHEMA_VERSION}); upgrade vaar")
    problems = jsonschema_lite.errors(data, entry_schema())
    if not problems:
        problems = _coherence(data)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise EntryError("; ".join(problems[:3]) + more)
    assert isinstance(data, dict)
    return data


def read_entry(path: Path) -> dict[str, Any]:
    """Read and validate one entry file; raises :class:`EntryError` naming the problem."""
    if path.is_symlink():
        raise EntryError("is a symbolic link; entries are plain files")
    from vaar.core._util.capped import CappedReadError, read_text_capped

    try:
        text = read_text_capped(path, MAX_ENTRY_BYTES)
    except CappedReadError as exc:
        why = {"unreadable": f"cannot read ({exc.detail})", "too_large": f"larger than {MAX_ENTRY_BYTES // 1024} KB",
               "not_utf8": "not UTF-8"}[exc.kind]  # fmt: skip
        raise EntryError(why) from None
    try:
        data = loads(text)
    except JsonInputError as exc:
        raise EntryError(str(exc)) from None
    return validate_entry(data)
