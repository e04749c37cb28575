"""Arrow types that mean the same column: what a contract reader accepts and casts, and what not.

The ecosystem writes the same data under several physical types: pandas and polars write
``large_string`` and ``large_list``, a categorical column arrives dictionary-encoded, another
tool picks ``int64`` for a count the contract keeps as ``int32``. A reader refuses only a real
mismatch (text where a number belongs, a float for an integer column, an integer that does not
fit) and casts the rest to the contract's type, so everything downstream sees one schema.

Accepted, for a contract type ``want``:

* ``string`` ⇐ ``large_string``, ``string_view``, a dictionary of those;
* ``binary`` ⇐ ``large_binary``, ``binary_view``;
* ``list<T>`` ⇐ ``large_list<U>``, ``list<U>``, ``fixed_size_list<U>`` where ``U`` is accepted for ``T``;
* an integer type ⇐ any integer type, checked value by value (a value that does not fit is refused),
  and a floating type whose values are all whole numbers (pandas writes a nullable integer
  column as float64 with NaN for the missing values; 1.5 is refused);
* ``float64`` ⇐ ``float32``, ``float16`` (exact);
* any type ⇐ ``null`` (a column of nulls).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class TypeMismatch(ValueError):
    """``have`` cannot stand for ``want``; the message says why, in a few words."""


def equivalent(have: pa.DataType, want: pa.DataType) -> bool:
    """Whether a column of type ``have`` may be cast to ``want`` (values still checked by :func:`conform`)."""
    if have == want or pa.types.is_null(have):
        return True
    if pa.types.is_dictionary(have):
        return equivalent(have.value_type, want)
    if pa.types.is_string(want):
        return pa.types.is_large_string(have) or _is_view(have, "string")
    if pa.types.is_binary(want):
        return pa.types.is_large_binary(have) or _is_view(have, "binary")
    if pa.types.is_list(want) or pa.types.is_large_list(want):
        if pa.types.is_list(have) or pa.types.is_large_list(have) or pa.types.is_fixed_size_list(have):
            return equivalent(have.value_type, want.value_type)
        return False
    if pa.types.is_integer(want):
        return pa.types.is_integer(have) or pa.types.is_floating(have)
    if pa.types.is_floating(want):
        return pa.types.is_floating(have) and have.bit_width <= want.bit_width
    return False


def _is_view(t: pa.DataType, kind: str) -> bool:
    return str(t) == f"{kind}_view"


def conform(column: pa.ChunkedArray | pa.Array, want: pa.DataType) -> pa.ChunkedArray | pa.Array:
    """``column`` cast to ``want``; :class:`TypeMismatch` if the type or a value does not fit."""
    have = column.type
    if have == want:
        return column
    if not equivalent(have, want):
        raise TypeMismatch(f"is {have}, the contract says {want}")
    if pa.types.is_dictionary(have):
        column = column.cast(have.value_type)  # decode: the values, in row order
    if pa.types.is_integer(want) and (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        lo, hi = _int_range(want)
        mm = pc.min_max(column)
        vmin, vmax = mm["min"].as_py(), mm["max"].as_py()
        if vmin is not None and (vmin < lo or vmax > hi):
            bad = vmin if vmin < lo else vmax
            raise TypeMismatch(f"holds {bad}, which does not fit the contract's {want}")
    try:
        return column.cast(want, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise TypeMismatch(f"is {have} and does not cast to the contract's {want} ({exc})") from None


def _int_range(t: pa.DataType) -> tuple[int, int]:
    bits = t.bit_width
    if pa.types.is_signed_integer(t):
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1
