"""A small validator for the subset of JSON Schema (draft 2020-12) the contracts use.

The contracts are written as JSON Schema dicts, exported as files for submitters' tools, and
enforced here, so the schema a submitter reads is the rule vaar applies. Supported keywords:
``type``, ``const``, ``enum``, ``pattern``, ``minLength``/``maxLength``, ``minimum``/``maximum``,
``properties``, ``required``, ``additionalProperties`` (bool or schema), ``propertyNames``,
``maxProperties``, ``items``, ``minItems``/``maxItems``, ``anyOf``, ``allOf``, ``if``/``then``,
``$ref`` to ``#/$defs/NAME``, and ``format: date`` (ISO 8601 calendar date). A keyword outside
this list is an error when the schema is built, never silently ignored.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

KNOWN = {
    "$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "pattern",
    "minLength", "maxLength", "minimum", "maximum", "properties", "required", "additionalProperties",
    "propertyNames", "maxProperties", "items", "minItems", "maxItems", "anyOf", "allOf", "if", "then",
    "format", "examples",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,), "null": (type(None),),
    "integer": (int,), "number": (int, float),
}


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def check_keywords(schema: Any, where: str = "#") -> None:
    """Raise ``ValueError`` if ``schema`` uses a keyword this validator does not enforce."""
    if isinstance(schema, Mapping):
        odd = set(schema) - KNOWN
        if odd:
            raise ValueError(f"{where}: unsupported JSON Schema keyword(s) {sorted(odd)}")
        for key, sub in schema.items():
            if key in ("properties", "$defs"):
                for name, s in sub.items():
                    check_keywords(s, f"{where}/{key}/{name}")
            elif key in ("items", "additionalProperties", "propertyNames", "if", "then"):
                check_keywords(sub, f"{where}/{key}")
            elif key in ("anyOf", "allOf"):
                for i, s in enumerate(sub):
                    check_keywords(s, f"{where}/{key}/{i}")


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "number" and isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, _TYPES[name])


def errors(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None,
           path: str = "") -> list[str]:
    """Every violation of ``schema`` by ``value``, as ``"path: problem"`` strings (empty if valid)."""
    root = schema if root is None else root
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix("#/$defs/")
        return errors(value, root["$defs"][name], root, path)
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, t) for t in names):
            return [f"{path or '(top)'}: expected {' or '.join(names)}, got {_kind(value)}"]
    out = _value(value, schema, path or "(top)")
    if isinstance(value, dict):
        out += _object(value, schema, root, path)
    if isinstance(value, list):
        out += _array(value, schema, root, path)
    return out + _combined(value, schema, root, path)


def _value(value: Any, schema: Mapping[str, Any], here: str) -> list[str]:
    """``const``, ``enum``, and the string and number keywords."""
    out: list[str] = []
    if "const" in schema and value != schema["const"]:
        out.append(f"{here}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        shown = ", ".join(map(str, schema["enum"][:12]))
        out.append(f"{here}: {_short(value)} is not one of {shown}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", math.inf):
            out.append(f"{here}: longer than {schema['maxLength']} characters")
        if len(value) < schema.get("minLength", 0):
            out.append(f"{here}: shorter than {schema['minLength']} characters")
        elif "pattern" in schema and not _regex(schema["pattern"]).search(value):
            out.append(f"{here}: {_short(value)} does not match {schema['pattern']}")
        if schema.get("format") == "date" and not _is_date(value):
            out.append(f"{here}: {_short(value)} is not an ISO date (YYYY-MM-DD)")
    if _is_type(value, "number"):
        if value < schema.get("minimum", -math.inf):
            out.append(f"{here}: {value} is below {schema['minimum']}")
        if value > schema.get("maximum", math.inf):
            out.append(f"{here}: {value} is above {schema['maximum']}")
    return out


def _array(value: list[Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str) -> list[str]:
    here = path or "(top)"
    if len(value) > schema.get("maxItems", math.inf):
        return [f"{here}: more than {schema['maxItems']} items"]
    out: list[str] = []
    if len(value) < schema.get("minItems", 0):
        out.append(f"{here}: fewer than {schema['minItems']} items")
    if "items" in schema:
        for i, item in enumerate(value):
            out += errors(item, schema["items"], root, f"{path}[{i}]")
    return out


def _combined(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], path: str) -> list[str]:
    """``allOf``, ``anyOf`` and ``if``/``then``."""
    out: list[str] = []
    for sub in schema.get("allOf", ()):
        out += errors(value, sub, root, path)
    if "anyOf" in schema:
        tries: list[list[str]] = [errors(value, sub, root, path) for sub in schema["anyOf"]]
        if all(tries):
            out.extend(tries[min(range(len(tries)), key=lambda i: len(tries[i]))])
    if "if" in schema and "then" in schema and not errors(value, schema["if"], root, path):
        out += errors(value, schema["then"], root, path)
    return out


def _object(value: dict[str, Any], schema: Mapping[str, Any], root: Mapping[str, Any], path: str) -> list[str]:
    here = path or "(top)"
    out: list[str] = []
    if len(value) > schema.get("maxProperties", math.inf):
        return [f"{here}: more than {schema['maxProperties']} keys"]
    missing = [k for k in schema.get("required", ()) if k not in value]
    if missing:
        out.append(f"{here}: missing {', '.join(missing)}")
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, item in value.items():
        sub = f"{path}.{key}" if path else str(key)
        if names is not None:
            bad = errors(key, names, root, f"{here} key")
            if bad:
                out += bad
                continue
        if key in props:
            out += errors(item, props[key], root, sub)
        elif extra is False:
            out.append(f"{here}: unknown key {_short(key)}")
        elif isinstance(extra, Mapping):
            out += errors(item, extra, root, sub)
    return out


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
