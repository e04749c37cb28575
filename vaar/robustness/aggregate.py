"""The robustness summary: mean corruption Macro-F1 (mCF1), relative robustness, group means.

* **mCF1** is the mean Macro-F1 over every corruption x severity scored (ImageNet-C's mean
  corruption error, as a score rather than an error, and not normalised by a reference model's
  errors: there is no agreed reference model for VAAR yet).
* **relative robustness** is ``mCF1 - clean Macro-F1`` (0: unaffected; negative: degrades).
* **group means** are mCF1 restricted to the video, audio and modality corruptions.

Intervals: every condition is scored on the same bootstrap resamples of clips (the same seed
draws the same clips, :func:`vaar.bench.metrics.bootstrap_counts`), so the mean over conditions and
its difference to the clean score are computed per resample, and the 95% percentile interval of
those is reported -- the paired bootstrap of the same clips under every corruption.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.bench import metrics as M


def macro_f1_samples(y: npt.NDArray[np.int64], yhat: npt.NDArray[np.int64], k: int, resamples: int,
                     seed: int) -> npt.NDArray[np.float64]:  # fmt: skip
    """Macro-F1 of each bootstrap resample (R,), drawn and averaged as ``vaar-cls`` does (over the
    classes present in the resample's labels or predictions: :func:`vaar.bench.metrics.macro_f1`)."""
    n = len(y)
    pair = y * k + yhat
    out = []
    for (conf,) in M.bootstrap_counts(n, resamples, seed, [(pair, k * k)]):
        m = conf.reshape(-1, k, k).astype(np.float64)
        tp = np.diagonal(m, axis1=1, axis2=2)
        f1, _ = M.macro_f1(tp, m.sum(axis=2), m.sum(axis=1))  # (B,)
        out.append(f1)
    return np.concatenate(out) if out else np.zeros(0)


def macro_f1(y: npt.NDArray[np.int64], yhat: npt.NDArray[np.int64], k: int) -> float:
    m = np.bincount(y * k + yhat, minlength=k * k).reshape(1, k, k).astype(np.float64)
    f1, _ = M.macro_f1(np.diagonal(m, axis1=1, axis2=2), m.sum(axis=2), m.sum(axis=1))
    return float(f1[0])


def _interval(samples: npt.NDArray[np.float64] | None) -> list[float] | None:
    if samples is None or samples.size == 0:
        return None
    iv = M.percentile_interval(samples)
    return list(iv) if iv else None


def summarise(
    clean: tuple[float, npt.NDArray[np.float64] | None],
    conditions: Mapping[tuple[str, int], tuple[float, npt.NDArray[np.float64] | None]],
    groups: Mapping[str, str],
    severities: Sequence[int],
) -> dict[str, Any]:
    """``clean`` and each (corruption, severity) condition: (Macro-F1, its bootstrap samples)."""
    keys = list(conditions)
    if not keys:
        raise ValueError("no corruption was scored")
    values = np.array([conditions[k][0] for k in keys])
    mcf1 = float(values.mean())
    samples = [conditions[k][1] for k in keys]
    boot = None
    if all(s is not None and s.size for s in samples):
        boot = np.mean(np.stack(samples), axis=0)  # type: ignore[arg-type]
    clean_f1, clean_s = clean
    rel_boot = boot - clean_s if boot is not None and clean_s is not None and clean_s.size else None
    by_group: dict[str, float] = {}
    for g in ("video", "audio", "modality"):
        vals = [conditions[k][0] for k in keys if groups[k[0]] == g]
        if vals:
            by_group[g] = float(np.mean(vals))
    matrix: dict[str, dict[str, float]] = {}
    for (name, sev), (v, _) in conditions.items():
        matrix.setdefault(name, {})[str(sev)] = v
    return {
        "clean_macro_f1": clean_f1,
        "clean_ci95": _interval(clean_s),
        "mcf1": mcf1,
        "ci95": _interval(boot),
        "relative": mcf1 - clean_f1,
        "relative_ci95": _interval(rel_boot),
        "groups": by_group,
        "severities": [int(s) for s in severities],
        "matrix": matrix,
    }
