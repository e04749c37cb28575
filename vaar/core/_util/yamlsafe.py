"""The one way vaar reads YAML: safe tags only, no aliases, a size cap.

``yaml.safe_load`` still expands aliases, so a few hundred bytes of nested ``*ref`` lists (the
"billion laughs") become gigabytes in memory. Every YAML vaar reads — model metadata, taxonomy
files, training configs, a dataset card's front matter — goes through :func:`load_yaml`.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_YAML_BYTES = 1 << 20


class YamlRefused(ValueError):
    """Why a YAML text was not loaded (one short phrase, for the caller's one-line error)."""


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str, *, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """The data of ``text``; raises :class:`YamlRefused` for oversized, aliased, too deeply nested
    or malformed YAML."""
    if len(text.encode("utf-8", errors="replace")) > max_bytes:
        raise YamlRefused(f"larger than {max_bytes // 1024} KB")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
    except RecursionError:
        raise YamlRefused("nested too deeply") from None
    except ValueError as exc:  # int() of a number over Python's 4300-digit limit, a bad timestamp
        raise YamlRefused(f"a value cannot be read ({str(exc).splitlines()[0][:80]})") from None
    except yaml.YAMLError as exc:
        if "aliases are not allowed" in str(exc):
            raise YamlRefused("YAML aliases (*name) are not allowed") from None
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise YamlRefused(f"not valid YAML{where} ({getattr(exc, 'problem', None) or type(exc).__name__})") from None
