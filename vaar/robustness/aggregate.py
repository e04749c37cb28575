"""The robustness summary, named as the field names it (Hendrycks & Dietterich, ICLR 2019;
Kinetics-C / Mini-Kinetics-C, Yi et al. 2021):

* **mCF1** -- the mean Macro-F1 over every corruption x severity scored, a flat mean like
  Kinetics-C's mPC (mean performance under corruption). Flat means each *condition* weighs the
  same, so the groups weigh by how many corruptions they hold: with the full registry video :
  audio : modality = 9 : 6 : 3 (``weights`` states the shares of the run). Not normalised by a
  reference model (ImageNet-C's mCE is; VAAR has no agreed reference model yet).
* **balanced mCF1** -- the mean of the three group means (each group weighs 1/3).
* **rPC** -- ``mCF1 / clean Macro-F1``, Kinetics-C's relative performance under corruption
  (1: unaffected; 0.8: keeps 80 %).
* **difference** -- ``mCF1 - clean Macro-F1`` in points (what earlier versions called "relative
  robustness"; it is a difference, not a ratio).
* **group means** -- mCF1 restricted to the video, audio and modality corruptions.

Intervals: every condition is scored on the same bootstrap resamples of clips (the same seed
draws the same clips, :func:`vaar.bench.metrics.bootstrap_counts`), so every summary is computed
per resample, and the 95% percentile interval of those is reported -- the paired bootstrap of the
same clips under every corruption.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.bench import metrics as M


def macro_f1_samples(y: npt.NDArray[np.int64], yhat: npt.NDArray[np.int64], k: int, resamples: int,
                     seed: int, cluster_of: npt.NDArray[np.int64] | None = None) -> npt.NDArray[np.float64]:  # fmt: skip
    """Macro-F1 of each bootstrap resample (R,), drawn and averaged as ``vaar-cls`` does (over the
    classes present in the resample's labels or predictions: :func:`vaar.bench.metrics.macro_f1`;
    resampling sources when ``cluster_of`` gives each clip's, :func:`vaar.bench.vaar_tasks.bootstrap_unit`)."""
    from vaar.bench.vaar_tasks import cluster_counts

    n = len(y)
    pair = y * k + yhat
    out = []
    tables = [(pair, k * k)]
    draws = M.bootstrap_counts(n, resamples, seed, tables) if cluster_of is None else \
        cluster_counts(cluster_of, resamples, seed, tables)  # fmt: skip
    for (conf,) in draws:
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
    have_boot = all(s is not None and s.size for s in samples)
    boot = np.mean(np.stack(samples), axis=0) if have_boot else None  # type: ignore[arg-type]
    clean_f1, clean_s = clean
    clean_ok = clean_s is not None and clean_s.size
    diff_boot = boot - clean_s if boot is not None and clean_ok else None
    rpc_boot = None
    if boot is not None and clean_ok:
        assert clean_s is not None
        with np.errstate(divide="ignore", invalid="ignore"):
            r = boot / clean_s
        rpc_boot = r[np.isfinite(r)]
    by_group: dict[str, float] = {}
    group_boot: dict[str, npt.NDArray[np.float64]] = {}
    weights: dict[str, float] = {}
    for g in ("video", "audio", "modality"):
        ks = [k for k in keys if groups[k[0]] == g]
        if ks:
            by_group[g] = float(np.mean([conditions[k][0] for k in ks]))
            weights[g] = len(ks) / len(keys)
            if have_boot:
                group_boot[g] = np.mean(np.stack([conditions[k][1] for k in ks]), axis=0)  # type: ignore[arg-type,misc]
    balanced = float(np.mean(list(by_group.values())))
    balanced_boot = np.mean(np.stack(list(group_boot.values())), axis=0) if group_boot else None
    matrix: dict[str, dict[str, float]] = {}
    for (name, sev), (v, _) in conditions.items():
        matrix.setdefault(name, {})[str(sev)] = v
    return {
        "clean_macro_f1": clean_f1,
        "clean_ci95": _interval(clean_s),
        "mcf1": mcf1,
        "ci95": _interval(boot),
        "weights": weights,
        "mcf1_balanced": balanced,
        "mcf1_balanced_ci95": _interval(balanced_boot),
        "rpc": mcf1 / clean_f1 if clean_f1 > 0 else None,
        "rpc_ci95": _interval(rpc_boot),
        "difference": mcf1 - clean_f1,
        "difference_ci95": _interval(diff_boot),
        "groups": by_group,
        "severities": [int(s) for s in severities],
        "matrix": matrix,
    }
