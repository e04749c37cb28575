"""``vaar-bench leaderboard --rescore DIR`` for robustness blocks: the matrix again, from the
labels the scorer saved.

``run_robustness`` writes ``predictions.csv`` (``condition,clip_id,label,failed``: every label it
scored, one row per clip and condition, a failed clip with the wrong label it was scored with) and
the block records its sha256. The host keeps that file beside the entry's clean predictions; this
module finds it by that sha256, reads it as an untrusted table (bounded, every clip of the split
exactly once per condition, known labels), recomputes the Macro-F1 of every condition and the
summaries, and reports any cell that differs from the entry's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES, read_table
from vaar.core.errors import InputError

TOLERANCE = 1e-9


def rescore_block(block: Mapping[str, Any], truth: Any, files: Mapping[str, Path],
                  max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:  # fmt: skip
    """(status, detail) of an entry's robustness block: ok, DIFFERS, missing or invalid."""
    from vaar.core.taxonomy import default_taxonomy
    from vaar.robustness.aggregate import macro_f1

    sha = block.get("predictions_sha256")
    path = files.get(sha) if isinstance(sha, str) else None
    if path is None:
        return "missing", "robustness: no saved per-condition predictions (predictions_sha256) in the folder"
    raw = block.get("matrix")
    matrix: dict[str, Any] = raw if isinstance(raw, dict) else {}
    conditions = 1 + sum(len(r) for r in matrix.values() if isinstance(r, dict))
    n = len(truth.clip_ids)
    try:
        table = read_table(path, max_bytes=max_bytes, max_rows=n * conditions + 1)
    except InputError as exc:
        return "invalid", f"robustness: {exc}"
    if not {"condition", "clip_id", "label"} <= set(table.columns):
        return "invalid", f"robustness: {path.name} needs columns condition,clip_id,label"
    tax = default_taxonomy()
    got = _labels(table, truth, tax.slugs, conditions, path.name)
    if isinstance(got, str):
        return "invalid", f"robustness: {got}"
    k = len(tax.slugs)
    f1 = {c: macro_f1(truth.labels, y, k) for c, y in got.items() if (y >= 0).all()}
    diffs: list[str] = []
    claims: list[tuple[str, Any]] = [("clean", block.get("clean_macro_f1"))]
    claims += [(f"{name} s{s}", v) for name, row in matrix.items() if isinstance(row, dict) for s, v in row.items()]
    for cond, claimed in claims:
        if cond not in f1:
            diffs.append(f"{cond}: no complete predictions")
        elif not isinstance(claimed, (int, float)) or not math.isclose(float(claimed), f1[cond], abs_tol=TOLERANCE):
            diffs.append(f"{cond} stored {claimed!r}, re-scored {100 * f1[cond]:.2f}")
    cells = [f1[c] for c, _ in claims[1:] if c in f1]
    if cells and isinstance(block.get("mcf1"), (int, float)):
        mcf1 = float(np.mean(cells))
        if not math.isclose(float(block["mcf1"]), mcf1, abs_tol=TOLERANCE):
            diffs.append(f"mCF1 stored {100 * float(block['mcf1']):.2f}, re-scored {100 * mcf1:.2f}")
    if diffs:
        return "DIFFERS", "robustness: " + "; ".join(diffs[:5]) + (f" and {len(diffs) - 5} more" if len(diffs) > 5 else "")
    return "ok", f"robustness: {path.name} reproduces {len(cells)} conditions and the clean score"


def _labels(table: Any, truth: Any, slugs: Any, conditions: int, name: str) -> dict[str, np.ndarray] | str:
    """condition -> (N,) class indices in truth order (-1 where a clip is absent), or an error."""
    index = {s: i for i, s in enumerate(slugs)}
    pos = {c: i for i, c in enumerate(truth.clip_ids)}
    n = len(truth.clip_ids)
    got: dict[str, np.ndarray] = {}
    seen: dict[str, set[str]] = {}
    for where, cond, cid, lab in zip(table.where, table.data["condition"], table.data["clip_id"],
                                     table.data["label"], strict=True):  # fmt: skip
        cond, cid, lab = str(cond), str(cid), str(lab)
        if cid not in pos or lab not in index:
            return f"{name} {where}: unknown clip or label"
        if cond not in got:
            if len(got) >= conditions:
                return f"{name} {where}: more conditions than the entry's matrix"
            got[cond], seen[cond] = np.full(n, -1, dtype=np.int64), set()
        if cid in seen[cond]:
            return f"{name} {where}: a clip twice under one condition"
        seen[cond].add(cid)
        got[cond][pos[cid]] = index[lab]
    return got


def _register() -> None:
    from vaar.bench.hooks import RESCORERS

    RESCORERS.add("robustness", rescore_block)


_register()  # leaderboard --rescore re-scores robustness blocks (vaar.bench.hooks)
