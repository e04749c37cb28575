"""Parse untrusted JSON text into plain values, or one clear line; never a traceback.

``json.loads`` alone raises ``RecursionError`` on deeply nested input, ``ValueError`` (not a
``JSONDecodeError``) on an integer of more than 4,300 digits, and accepts ``NaN`` and
``Infinity``. :func:`loads` refuses all three with a :class:`JsonInputError` whose message is
one line, and caps integers at 20 digits (an int64 has 19).
"""

from __future__ import annotations

import json
from typing import Any

MAX_INT_DIGITS = 20


class JsonInputError(ValueError):
    """Untrusted JSON that cannot be accepted; ``str(exc)`` is one line."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonInputError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonInputError(f"a number too large for a float ({text[:20]}...)")
    return value


def _constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """``json.loads`` for untrusted text. Raises :class:`JsonInputError` (one line)."""
    try:
        return json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except JsonInputError:
        raise
    except RecursionError:
        raise JsonInputError("nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonInputError(f"not JSON ({str(exc).splitlines()[0][:80]})") from None
