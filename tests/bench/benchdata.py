"""Helpers for vaar-bench tests: labels, predictions and dataset folders made on the fly."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np

from vaar.core.taxonomy import default_taxonomy

SLUGS = default_taxonomy().slugs
SCORE_COLS = [f"score_{s}" for s in SLUGS]


def make_truth(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(SLUGS), n)
    y[: len(SLUGS)] = np.arange(len(SLUGS))  # every class present
    return [f"clip{i:05d}" for i in range(n)], y


def make_scores(y: np.ndarray, seed: int = 1, decimals: int | None = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = rng.random((len(y), len(SLUGS)))
    s[np.arange(len(y)), y] += rng.random(len(y)) * 1.5
    s /= s.sum(axis=1, keepdims=True)
    return np.round(s, decimals) if decimals is not None else s  # rounding makes ties


def write_labels(path: Path, ids: list[str], y: np.ndarray) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip_id", "label", "source_id"])
        for cid, c in zip(ids, y, strict=True):
            w.writerow([cid, SLUGS[c], f"src-{cid}"])
    return path


def write_predictions(path: Path, ids: list[str], scores: np.ndarray | None, labels: list[str] | None = None) -> Path:
    labels = labels if labels is not None else [SLUGS[int(i)] for i in np.argmax(scores, axis=1)]  # type: ignore[arg-type]
    rows = []
    for k, cid in enumerate(ids):
        row: dict[str, object] = {"clip_id": cid, "label": labels[k]}
        if scores is not None:
            row.update({c: float(v) for c, v in zip(SCORE_COLS, scores[k], strict=True)})
        rows.append(row)
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return path


def make_dataset(root: Path, ids: list[str], y: np.ndarray, split: str = "test", unlabelled: bool = False) -> Path:
    """A published dataset folder as `vaar build` makes it (splits CSVs + SHA256SUMS)."""
    (root / "splits").mkdir(parents=True)
    (root / "README.md").write_text("---\nversion: 1.0.0\n---\n# VAAR\n", encoding="utf-8")
    path = root / "splits" / f"{split}.csv"
    if unlabelled:
        path.write_text("clip_id,label,source_id\n" + "".join(f"{c},,s\n" for c in ids), encoding="utf-8")
    else:
        write_labels(path, ids, y)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (root / "splits" / "SHA256SUMS").write_text(f"{digest}  {split}.csv\n", encoding="utf-8")
    return root
