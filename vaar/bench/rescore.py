"""``vaar-bench leaderboard --rescore DIR``: the host re-scores stored predictions.

Entries are JSON that arrives by pull request; their scores are claims. The host keeps the
predictions files it scored (``--save-predictions``, or the submitted files) in a folder;
:func:`rescore` finds each entry's file by its ``predictions_sha256``, scores it again against the
host's labels and reports every entry whose stored point scores differ, whose split is another
one, or whose file is missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vaar.bench.tasks import Task
from vaar.core._util.hashing import sha256_file
from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES
from vaar.core.errors import InputError

Status = Literal["ok", "DIFFERS", "missing", "other-split", "invalid"]
SUFFIXES = {".csv", ".parquet", ".pq", ".jsonl", ".ndjson"}
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Rescored:
    slug: str
    status: Status
    detail: str


def index_predictions(folder: Path, secret: bytes | None = None) -> dict[str, Path]:
    """sha256 (or, with the host ``secret`` of a private split, its HMAC identity) -> file, for
    every predictions file under ``folder`` (symbolic links skipped)."""
    from vaar.core.contracts.private_split import file_identity

    out: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in SUFFIXES and path.is_file() and not path.is_symlink():
            key = file_identity(secret, path.read_bytes()) if secret is not None else sha256_file(path)
            out.setdefault(key, path)
    return out


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)


def rescore(task: Task, truth: Any, entries: Sequence[dict[str, Any]], folder: Path, *,
            max_bytes: int = DEFAULT_MAX_BYTES, secret: bytes | None = None) -> list[Rescored]:
    """Re-score each entry of ``task`` from its stored predictions file; one result per entry
    (``secret``: the host secret of a private split, whose entries name files by HMAC)."""
    files = index_predictions(folder, secret)
    out: list[Rescored] = []
    for e in entries:
        slug = str(e["slug"])
        split = e["dataset"]["split_sha256"]
        if split != truth.sha256:
            out.append(Rescored(slug, "other-split", f"scored on split {split[:12]}..., "
                                                     f"these labels are {truth.sha256[:12]}..."))
            continue
        path = files.get(e["predictions_sha256"])
        if path is None:
            out.append(Rescored(slug, "missing", f"no file with sha256 {e['predictions_sha256'][:12]}... in {folder}"))
            continue
        try:
            preds = task.read_predictions(path, truth, max_bytes=max_bytes)
        except InputError as exc:
            out.append(Rescored(slug, "invalid", str(exc)))
            continue
        report = task.score(preds, truth, resamples=0, seed=0)
        diffs = [f"{k} stored {_pct(e['scores'].get(k))}, re-scored {_pct(report.scores.get(k))}"
                 for k in task.score_labels if not _same(e["scores"].get(k), report.scores.get(k))]
        if diffs:
            out.append(Rescored(slug, "DIFFERS", "; ".join(diffs)))
        else:
            out.append(Rescored(slug, "ok", f"{path.name} reproduces every score"))
    return out


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.2f}"
