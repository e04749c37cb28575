"""``run_robustness``: score a trained run or a model on every corruption x severity.

Outputs in ``OUT`` (each written atomically)::

    OUT/clean.json              the clean score report (the task's metrics, 95% bootstrap intervals)
    OUT/<corruption>.json       one report per severity, with the corruption's definition
    OUT/summary.json            mCF1, relative robustness, group means, the matrix (:mod:`.summary`)
    OUT/heatmap.png             corruption x severity Macro-F1 (:mod:`.heatmap`)

A run (``vaar-bench train``) is scored through its feature cache (:mod:`.extract`); a model (a
``predict(clips)`` callable, the protocol of :mod:`vaar.bench.sandbox`) gets corrupted media files
(:mod:`.media`), as it would get the clean ones.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vaar.core.errors import ConfigError, ManifestError
from vaar.robustness.corruptions import Corruption, get_corruption, parse_corruptions

PredictFn = Callable[[Sequence[Any]], Any]  # list[vaar.bench.sandbox.Clip] -> (B, K) scores
Progress = Callable[[int, int, str], None]  # (conditions done, total, label)
TASK = "vaar-cls"


@dataclass(frozen=True)
class RobustnessResult:
    out: Path
    summary: dict[str, Any]
    seconds: float
    computed: int  # clips whose corrupted features or media were computed (the rest were cached)
    cached: int


# --------------------------------------------------------------------------------- ground truth


def load_truth(root: Path, split: str) -> Any:
    """The split's labels: ``splits/<split>.csv`` of a published folder, else its Parquet labels."""
    from vaar.bench.truth import LabelSet, TruthSource, load_labels

    try:
        return load_labels(TruthSource(dataset=root, split=split))
    except ManifestError as exc:
        if "no splits/" not in str(exc):
            raise
    from vaar.baselines.data import clip_refs, open_dataset, require_split

    refs = [r for r in clip_refs(require_split(open_dataset(root), split, root)) if r.label >= 0]
    if not refs:
        raise ConfigError(f"{root}: split {split!r} has no labels to score against")
    text = "".join(f"{r.clip_id},{r.label}\n" for r in refs)
    return LabelSet(tuple(r.clip_id for r in refs), np.array([r.label for r in refs], dtype=np.int64),
                    hashlib.sha256(text.encode()).hexdigest(), str(root / "data"), split)  # fmt: skip


# ----------------------------------------------------------------------------------- predictors


class RunScorer:
    """A trained run scored through its (corrupted) feature cache."""

    def __init__(self, run_dir: Path, root: Path, split: str, cache_dir: Path | None, media_dir: Path) -> None:
        import torch

        from vaar.baselines.config import resolve_config
        from vaar.baselines.data import clip_refs, open_dataset, require_split
        from vaar.baselines.features import FeatureCache, LazyBackbones
        from vaar.baselines.predict import load_run
        from vaar.core.taxonomy import default_taxonomy
        from vaar.robustness.extract import ExtractStats, split_sources
        from vaar.robustness.media_cache import MediaCache

        torch.set_flush_denormal(True)
        self.run = load_run(run_dir, device="cpu")
        if list(self.run.classes) != list(default_taxonomy().slugs):
            raise ConfigError(f"{run_dir}: the run's classes are not the taxonomy's; retrain it on a VAAR dataset")
        ex = self.run.info["extraction"]
        self.cfg = resolve_config(self.run.run_dir / "config.yaml")
        self.cache = FeatureCache(cache_dir or self.run.info["features"])
        self.loader = LazyBackbones(ex["audio_backbone"], ex["video_backbone"], "cpu")
        for m in ("audio", "video"):
            if self.loader.key(m) != ex[f"{m}_key"]:  # type: ignore[arg-type]
                raise ConfigError(f"{run_dir}: the {m} backbone {ex[f'{m}_backbone']} changed since training "
                                  "(its cache key differs); retrain or restore it")
        self.layout, self.segments = str(ex["layout"]), int(ex["segments"])
        ds = require_split(open_dataset(root), split, root)
        self.refs = clip_refs(ds)
        self.sources = [split_sources(ds, i, root) for i in range(len(self.refs))]
        self.media = MediaCache(media_dir)
        self.stats = ExtractStats()

    @property
    def clip_ids(self) -> list[str]:
        return [r.clip_id for r in self.refs]

    def prepare(self, conditions: list[tuple[Corruption | None, int]], seed: int,
                progress: Callable[[int, int, str], None] | None = None) -> None:  # fmt: skip
        """Fill the feature cache for every condition, one clip (decoded once) at a time."""
        from vaar.robustness.extract import fill_clip

        for i, (ref, src) in enumerate(zip(self.refs, self.sources, strict=True)):
            fill_clip(self.cache, self.loader, self.layout, self.segments, ref, src, conditions, seed,
                      self.media, self.stats)  # fmt: skip
            if progress is not None:
                progress(i + 1, len(self.refs), ref.clip_id)

    def scores(self, c: Corruption | None, severity: int, seed: int) -> npt.NDArray[np.float64]:
        import torch

        from vaar.baselines.train import SplitFeatures, evaluate
        from vaar.robustness.extract import load_features

        feats = [load_features(self.cache, self.loader, self.layout, ref, c, severity, seed) for ref in self.refs]
        ok = [i for i, f in enumerate(feats) if f is not None]
        k = self.run.model.spec.num_classes
        probs = np.full((len(self.refs), k), 1.0 / k)  # a clip that failed to decode: uniform scores
        if ok:
            data = SplitFeatures(
                refs=[self.refs[i] for i in ok],
                audio=torch.from_numpy(np.stack([feats[i][0] for i in ok])),  # type: ignore[index]  # (N, T, Da)
                video=torch.from_numpy(np.stack([feats[i][1] for i in ok])),  # type: ignore[index]  # (N, T, Dv)
                labels=torch.full((len(ok),), -1, dtype=torch.long),  # no loss: scores only
            )
            _, logits = evaluate(self.run.model, data, self.cfg, torch.device("cpu"))  # (N, K)
            probs[ok] = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
        return probs


class ModelScorer:
    """A model's ``predict(clips)`` on corrupted media files."""

    def __init__(self, predict: PredictFn, root: Path, split: str, wanted: Sequence[str], media_dir: Path,
                 batch_size: int) -> None:  # fmt: skip
        from vaar.robustness.media_cache import MediaCache

        self.predict, self.root, self.split, self.batch_size = predict, root, split, batch_size
        self.wanted = list(wanted)
        self.media = MediaCache(media_dir)
        self.computed = self.cached = 0

    @property
    def clip_ids(self) -> list[str]:
        return self.wanted

    def scores(self, c: Corruption | None, severity: int, seed: int) -> npt.NDArray[np.float64]:
        from vaar.bench.sandbox import iter_media
        from vaar.bench.sandbox_model import as_rows
        from vaar.core.taxonomy import default_taxonomy
        from vaar.robustness.media_cache import corrupt_clip_media

        k = len(default_taxonomy().slugs)
        index = {cid: i for i, cid in enumerate(self.wanted)}
        out = np.full((len(self.wanted), k), 1.0 / k)
        for batch in iter_media(self.root, self.split, self.batch_size):
            batch = [b for b in batch if b.clip_id in index]
            if not batch:
                continue
            if c is not None:
                before = self.media.made
                batch = [replace(b, video=v, audio=a) for b, (v, a) in zip(batch, (
                    corrupt_clip_media(c, severity, seed, self.media, b.video, b.audio, b.video_path, b.audio_path)
                    for b in batch), strict=True)]  # fmt: skip
                self.computed += min(len(batch), self.media.made - before)
                self.cached += len(batch) - min(len(batch), self.media.made - before)
            scores = as_rows(self.predict(batch), len(batch), k)
            for b, row in zip(batch, scores, strict=True):
                out[index[b.clip_id]] = row
        return out


# -------------------------------------------------------------------------------------- scoring


def _score(probs: npt.NDArray[np.float64], ids: Sequence[str], truth: Any, resamples: int, seed: int,
           label: str) -> tuple[dict[str, Any], tuple[float, npt.NDArray[np.float64] | None]]:  # fmt: skip
    """The task's report of ``probs`` (rows in ``ids`` order) and (Macro-F1, its bootstrap samples)."""
    from vaar.bench.tasks import get_task
    from vaar.bench.vaar_tasks import ClipPredictions
    from vaar.core.taxonomy import default_taxonomy
    from vaar.robustness.aggregate import macro_f1_samples

    tax = default_taxonomy()
    pos = {cid: i for i, cid in enumerate(ids)}
    missing = [c for c in truth.clip_ids if c not in pos]
    if missing:
        raise ConfigError(f"{len(missing)} labelled clip(s) of the split have no media (first: {missing[0]})")
    aligned = probs[[pos[c] for c in truth.clip_ids]]  # (N, K) in truth order
    digest = hashlib.sha256(np.ascontiguousarray(aligned).tobytes()).hexdigest()
    yhat = aligned.argmax(axis=1).astype(np.int64)
    preds = ClipPredictions(yhat, aligned, 1.0 - aligned[:, tax.index(tax.normal_class)], digest, label)
    report = get_task(TASK).score(preds, truth, resamples=resamples, seed=seed).to_dict()
    samples = macro_f1_samples(truth.labels, yhat, len(tax.slugs), resamples, seed) if resamples else None
    return report, (float(report["scores"]["macro_f1"]), samples)


def _write_json(path: Path, data: Any) -> None:
    from vaar.core._util.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def run_robustness(
    predict_fn_or_run: PredictFn | str | Path,
    dataset: str | Path,
    out: str | Path,
    *,
    corruptions: Sequence[str] | None = None,
    severities: Sequence[int] = (1, 2, 3, 4, 5),
    seed: int = 0,
    split: str = "test",
    resamples: int = 1000,
    bootstrap_seed: int = 0,
    cache: str | Path | None = None,
    name: str | None = None,
    batch_size: int = 8,
    progress: Progress | None = None,
) -> RobustnessResult:
    """Score a run folder (str / Path) or a ``predict(clips)`` callable under every corruption x
    severity of the test split; write the files of the module docstring and return the summary.

    ``cache``: a run's corrupted features go to its feature cache (or ``cache``); corrupted media
    files to ``cache/media`` (default ``OUT/media``).
    """
    from vaar.robustness.aggregate import summarise
    from vaar.robustness.audio import babble_source
    from vaar.robustness.heatmap import plot_heatmap

    t0 = time.perf_counter()
    root, out_dir = Path(dataset), Path(out)
    names = parse_corruptions(corruptions)
    sevs = sorted({int(s) for s in severities})
    truth = load_truth(root, split)
    media_dir = Path(cache) / "media" if cache is not None else out_dir / "media"
    scorer: RunScorer | ModelScorer
    if isinstance(predict_fn_or_run, (str, Path)):
        scorer = RunScorer(Path(predict_fn_or_run), root, split, Path(cache) if cache else None, media_dir)
        label = name or Path(predict_fn_or_run).name
    else:
        scorer = ModelScorer(predict_fn_or_run, root, split, truth.clip_ids, media_dir, batch_size)
        label = name or str(getattr(predict_fn_or_run, "__qualname__", "model"))
    total = 1 + len(names) * len(sevs)
    done = 0
    if isinstance(scorer, RunScorer):
        conds: list[tuple[Corruption | None, int]] = [(None, 0)]
        conds += [(get_corruption(n), s) for n in names for s in sevs]

        def clip_tick(i: int, n: int, clip_id: str) -> None:
            if progress is not None:
                progress(0, total, f"features: clip {i}/{n}")

        scorer.prepare(conds, seed, clip_tick)

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    clean_report, clean = _score(scorer.scores(None, 0, seed), scorer.clip_ids, truth, resamples,
                                 bootstrap_seed, "clean")  # fmt: skip
    _write_json(out_dir / "clean.json", clean_report)
    tick("clean")
    conditions: dict[tuple[str, int], tuple[float, npt.NDArray[np.float64] | None]] = {}
    groups: dict[str, str] = {}
    for cname in names:
        c = get_corruption(cname)
        groups[cname] = c.group
        reports: dict[str, Any] = {}
        for s in sevs:
            reports[str(s)], conditions[(cname, s)] = _score(
                scorer.scores(c, s, seed), scorer.clip_ids, truth, resamples, bootstrap_seed, f"{cname}-s{s}")
            tick(f"{cname} s{s}")
        _write_json(out_dir / f"{cname}.json", {
            "corruption": c.name, "group": c.group, "stage": c.stage, "touches": list(c.touches),
            "unit": c.unit, "levels": list(c.levels), "description": c.doc, "seed": seed,
            **({"bed": babble_source()} if c.name == "noise_babble" else {}),
            "severities": reports,
        })  # fmt: skip
    summary = summarise(clean, conditions, groups, sevs)
    stats = scorer.stats if isinstance(scorer, RunScorer) else scorer
    computed = stats.computed
    cached = stats.cached
    summary = {
        "task": TASK, "model": label, "split": split, "n": len(truth.clip_ids), "split_sha256": truth.sha256,
        "seed": seed, "bootstrap": {"resamples": resamples, "seed": bootstrap_seed, "level": 0.95},
        **summary,
        "groups_of": groups,
        "babble_bed": babble_source() if "noise_babble" in names else None,
        "clips_computed": computed, "clips_cached": cached,
        "failed": [list(f) for f in getattr(stats, "failed", [])],
        "seconds": round(time.perf_counter() - t0, 2),
    }  # fmt: skip
    plot_heatmap(summary["matrix"], sevs, summary["clean_macro_f1"], out_dir / "heatmap.png", label)
    _write_json(out_dir / "summary.json", summary)
    return RobustnessResult(out_dir, summary, summary["seconds"], computed, cached)
