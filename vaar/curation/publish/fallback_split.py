"""The fallback split of a build too small to stratify (``vaar-groups-unstratified/1``).

The stratified splitter (:func:`vaar.curation.split.assign_splits`) needs every class to have at
least one clip per split with a non-zero ratio. A small build (a handful of clips, a first try
of a source list) does not, and publishing nothing helps nobody: ``vaar build`` and
``vaar publish`` then fall back to this split and say so (a warning in the build summary and a
paragraph in the card). It keeps the one rule that matters for scores — a group (same
``source_id`` or ``dup_group``) never straddles two splits — and drops stratification: a class
may be missing from validation or test.

Algorithm: groups ordered by size (largest first), ties by ``sha256(seed, group name)``; each
goes to the split whose clip count is furthest below its target (``ratio * N``), ties to the
larger ratio, then the earlier split. Deterministic; splits with ratio 0 get nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from vaar.curation.split import SPLITS, SplitItem, group_clips

ALGORITHM = "vaar-groups-unstratified/1"


def needs_fallback(items: Sequence[SplitItem], ratios: Sequence[float]) -> str | None:
    """Why ``items`` cannot be stratified (one line), or None when they can."""
    bins = sum(1 for r in ratios if r > 0)
    totals: dict[str, int] = {}
    for it in items:
        totals[it.label] = totals.get(it.label, 0) + 1
    small = sorted((n, label) for label, n in totals.items() if n < bins)
    if not small:
        return None
    n, label = small[0]
    return (f"too few clips to stratify (class {label!r} has {n} clip(s), {bins} splits need one "
            f"each): split by groups only ({ALGORITHM}); some classes are missing from some splits")


def assign_unstratified(items: Sequence[SplitItem], ratios: Sequence[float], seed: int) -> dict[str, str]:
    """``clip_id -> split``: groups kept whole, sizes near ``ratios``, labels ignored."""
    groups = group_clips(items)

    def tie(g: list[int]) -> str:
        return hashlib.sha256(f"fallback\0{seed}\0{items[g[0]].clip_id}".encode()).hexdigest()

    groups.sort(key=lambda g: (-len(g), tie(g)))
    n = len(items)
    count = [0] * len(SPLITS)
    out: dict[str, str] = {}
    live = [s for s in range(len(SPLITS)) if ratios[s] > 0]
    for g in groups:
        best = max(live, key=lambda s: (ratios[s] * n - count[s], ratios[s], -s))
        count[best] += len(g)
        for i in g:
            out[items[i].clip_id] = SPLITS[best]
    return dict(sorted(out.items()))


def params_json(ratios: Sequence[float], seed: int) -> bytes:
    """``split.json`` of a fallback split (same keys as the stratified one, another algorithm)."""
    doc: Mapping[str, object] = {
        "algorithm": ALGORITHM,
        "splits": list(SPLITS),
        "ratios": [float(r) for r in ratios],
        "seed": int(seed),
        "folds": None,
        "fold_pool": ["train", "validation"],
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
