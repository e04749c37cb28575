"""``vaar-bench leaderboard --rescore DIR``: the host re-scores stored predictions.

Entries are JSON that arrives by pull request; their scores are claims. The host keeps the
predictions files it scored (``--save-predictions``, or the submitted files) in a folder;
:func:`rescore` finds each entry's file by its ``predictions_sha256``, scores it again against the
host's labels with the entry's own bootstrap settings, and compares every field it can recompute:
``n``, each point score, each 95% interval, and the per-class scores (``DIFFERS`` names each field
that does not match). An entry that also carries what a predictions file cannot reproduce is
``unverified``, naming those fields: a measured ``cost`` (re-run ``vaar-bench submit --model`` to
check it) and a ``robustness`` section (re-run the robustness track). Only ``ok`` passes; the
command exits 1 when any entry is flagged. An entry whose interval does not contain its own point
score, or whose cost claims ``measured`` without the scorer's record, is already invalid by the
schema (:mod:`vaar.core.contracts.entry`) and is skipped with a warning before any re-scoring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vaar.bench.hooks import RESCORERS
from vaar.bench.tasks import Task
from vaar.core._util.hashing import sha256_file
from vaar.core.contracts.predictions import DEFAULT_MAX_BYTES
from vaar.core.errors import InputError

Status = Literal["ok", "DIFFERS", "unverified", "missing", "other-split", "invalid"]
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
        boot = e.get("bootstrap") or {}
        report = task.score(preds, truth, resamples=int(boot.get("resamples", 0) or 0), seed=int(boot.get("seed", 0) or 0))
        diffs = _differences(task, e, report)
        robustness_checked = False
        if isinstance(e.get("robustness"), dict) and "robustness" in RESCORERS:  # the track's matrix (a hook)
            status, detail = RESCORERS["robustness"](e["robustness"], truth, files, max_bytes)
            if status not in ("ok", "missing"):  # missing: no saved predictions, reported as unverified below
                diffs.append(detail)
            robustness_checked = status == "ok"
        if diffs:
            out.append(Rescored(slug, "DIFFERS", "; ".join(diffs)))
            continue
        unverified = _unverified(e, robustness_checked)
        if unverified:
            out.append(Rescored(slug, "unverified", f"{path.name} reproduces every score, interval and n; "
                                                    f"cannot check: {'; '.join(unverified)}"))
        else:
            out.append(Rescored(slug, "ok", f"{path.name} reproduces every score, interval, n and per-class score"))
    return out


def _differences(task: Task, e: dict[str, Any], report: Any) -> list[str]:
    """Every recomputable field of the entry that the re-scored report does not match."""
    diffs = []
    if e.get("n") != report.n:
        diffs.append(f"n stored {e.get('n')}, re-scored {report.n}")
    for k in task.score_labels:
        if not _same(e["scores"].get(k), report.scores.get(k)):
            diffs.append(f"{k} stored {_pct(e['scores'].get(k))}, re-scored {_pct(report.scores.get(k))}")
        stored, again = (e.get("ci95") or {}).get(k), report.ci95.get(k)
        if not (_same_interval(stored, again)):
            diffs.append(f"ci95.{k} stored {_iv(stored)}, re-scored {_iv(again)}")
    stored_pc = e.get("per_class") or {}
    if stored_pc:  # private entries publish none; public ones must match class by class
        if set(stored_pc) != set(report.per_class):
            diffs.append("per_class names other classes than the re-scored ones")
        else:
            for cls in sorted(stored_pc):
                fields = sorted(set(stored_pc[cls]) | set(report.per_class[cls]))
                bad = [f for f in fields if not _same(stored_pc[cls].get(f), report.per_class[cls].get(f))]
                if bad:
                    diffs.append(f"per_class.{cls}.{','.join(bad)} differ")
    return diffs


def _unverified(e: dict[str, Any], robustness_checked: bool = False) -> list[str]:
    """Fields a predictions file cannot reproduce (a robustness block is re-scored when its predictions are there)."""
    out = []
    cost = e.get("cost") or {}
    if cost.get("measured") or any(cost.get(k) is not None for k in ("parameters", "latency_ms_per_clip")):
        out.append("cost (measured by the submitter's `submit --model` run; re-run it on the host)")
    if e.get("robustness") is not None and not robustness_checked:
        out.append("robustness (re-run `vaar-bench submit --model --robustness` on the host)")
    return out


def _same_interval(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return len(a) == len(b) == 2 and _same(a[0], b[0]) and _same(a[1], b[1])


def _iv(v: Any) -> str:
    return "n/a" if v is None else f"[{_pct(v[0])}, {_pct(v[1])}]"


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * float(v):.2f}"
