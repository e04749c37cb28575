"""Connected components of an undirected graph given as edges, via ``scipy.sparse.csgraph``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt


def components(n: int, a: Sequence[int] | npt.NDArray[np.int64],
               b: Sequence[int] | npt.NDArray[np.int64]) -> list[list[int]]:
    """The components of nodes ``0..n-1`` linked by edges ``a[i] -- b[i]``.

    Each component is sorted ascending; components are ordered by their smallest node, so the
    result depends only on the graph, never on edge order.
    """
    if n == 0:
        return []
    rows = np.asarray(a, dtype=np.int64)
    if rows.size == 0:  # no edge: every node alone (the common case; scipy's import costs ~0.2 s)
        return [[i] for i in range(n)]
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cols = np.asarray(b, dtype=np.int64)
    graph = coo_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")  # nodes ascending within each label
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [g.tolist() for g in np.split(order, cuts)]
    groups.sort(key=lambda g: g[0])
    return groups


def components_by_key(keys: Iterable[Iterable[str | None]]) -> list[list[int]]:
    """Components of items (by index) that share any key; ``None`` or ``""`` links nothing.

    ``keys[i]`` are the link keys of item ``i`` (e.g. its ``source_id`` and ``dup_group``,
    namespaced by the caller when two kinds of key could collide).
    """
    first: dict[str, int] = {}
    a: list[int] = []
    b: list[int] = []
    n = 0
    for i, ks in enumerate(keys):
        n = i + 1
        for key in ks:
            if key:
                j = first.setdefault(key, i)
                if j != i:
                    a.append(i)
                    b.append(j)
    return components(n, a, b)
