"""Validate an upload with the local contracts, and score it on the two parts of the hidden test set.

Validation (the server, before queueing) is exactly ``vaar-bench score``'s: every clip of the
hidden test set once, labels of the taxonomy, all-or-none ``score_<class>`` columns, the size
and row caps. Its message names the uploaded file, never a path of the host, and it compares
clip ids only (which the published folder holds anyway), so it carries no label.

Scoring (the worker): the public part gives the main score (no bootstrap) and each clip's 0/1
correctness for the Ladder; the private part gives a full report with bootstrap intervals,
stored until the freeze.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vaar.bench.host.config import HostConfig, HostPaths, in_public_part, part_identity
from vaar.bench.host.ladder import Scored
from vaar.bench.tasks import ScoreReport, Task, get_task
from vaar.bench.truth import LabelSet, TruthSource, load_labels
from vaar.core.contracts.clip_predictions import ClipPredictions
from vaar.core.errors import SubmissionError


@dataclass(frozen=True)
class HostTruth:
    full: LabelSet
    public: LabelSet
    private: LabelSet
    public_index: np.ndarray  # (n_public,) positions in full order
    private_index: np.ndarray
    secret: bytes


@functools.lru_cache(maxsize=4)
def _host_truth(labels: Path, secret_path: Path, fraction: float, mtime_ns: int) -> HostTruth:
    from vaar.core.contracts.private_split import load_secret

    secret = load_secret(secret_path)
    full = load_labels(TruthSource(labels=labels, host_secret_file=secret_path))
    mask = np.array([in_public_part(secret, c, fraction) for c in full.clip_ids], dtype=bool)
    pub, priv = np.flatnonzero(mask), np.flatnonzero(~mask)

    def part(name: str, idx: np.ndarray) -> LabelSet:
        return LabelSet(tuple(full.clip_ids[i] for i in idx), full.labels[idx], part_identity(secret, name, full.sha256),
                        f"{name} part of the hidden test set", None, full.dataset_version)

    return HostTruth(full, part("public", pub), part("private", priv), pub, priv, secret)


def host_truth(paths: HostPaths, cfg: HostConfig) -> HostTruth:
    return _host_truth(paths.labels, paths.secret, cfg.public_fraction, paths.labels.stat().st_mtime_ns)


def validate_upload(task: Task, path: Path, truth: HostTruth, cfg: HostConfig, shown_name: str) -> ClipPredictions:
    """The local contract's checks; the one-line message names ``shown_name``, not the host's path."""
    try:
        preds: ClipPredictions = task.read_predictions(path, truth.full, max_bytes=int(cfg.max_mb * 1024 * 1024))
    except SubmissionError as exc:
        text = str(exc).replace(str(path), shown_name).replace(path.name, shown_name)
        text = text.replace(truth.full.source, "the hidden test set")
        raise SubmissionError(text) from None
    return preds


def _subset(preds: ClipPredictions, idx: np.ndarray) -> ClipPredictions:
    return dataclasses.replace(
        preds, labels=preds.labels[idx],
        scores=None if preds.scores is None else preds.scores[idx],
        anomaly_score=None if preds.anomaly_score is None else preds.anomaly_score[idx])


def _correct(task: Task, preds: ClipPredictions, truth: LabelSet) -> bytes:
    """Per-clip 0/1 correctness of the predicted label (the Ladder's paired loss)."""
    if task.name == "vaar-binary":
        from vaar.core.taxonomy import default_taxonomy

        normal = default_taxonomy().index(default_taxonomy().normal_class)
        ok = (preds.labels != normal) == (truth.labels != normal)
    else:
        ok = preds.labels == truth.labels
    return ok.astype(np.uint8).tobytes()


def score_upload(task_name: str, path: Path, truth: HostTruth, cfg: HostConfig, shown_name: str) -> Scored:
    """Validate again (the file is the one on disk) and score both parts."""
    task = get_task(task_name)
    preds = validate_upload(task, path, truth, cfg, shown_name)
    pub_preds = _subset(preds, truth.public_index)
    public: ScoreReport = task.score(pub_preds, truth.public, resamples=0, seed=0)
    private: ScoreReport = task.score(_subset(preds, truth.private_index), truth.private,
                                      resamples=cfg.resamples, seed=0)
    report: dict[str, Any] = private.to_dict()
    return Scored(public.scores.get(task.main_score), _correct(task, pub_preds, truth.public), report)
