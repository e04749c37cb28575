"""``run_robustness``: score a trained run or a model on every corruption x severity.

Outputs in ``OUT`` (each written atomically)::

    OUT/clean.json              the clean score report (the task's metrics, 95% bootstrap intervals)
    OUT/<corruption>.json       one report per severity, with the corruption's definition
    OUT/summary.json            mCF1, balanced mCF1, rPC, difference, group means, the matrix (:mod:`.summary`)
    OUT/predictions.csv         condition,clip_id,label,failed: every label scored (``--rescore`` input)
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
        """Fill the feature cache for every condition, one clip (decoded once) at a time; the
        corrupted media those features need are made first, one process per usable CPU."""
        from vaar.core._util.cpus import usable_cpus
        from vaar.robustness.extract import fill_clip, media_clips, missing_features
        from vaar.robustness.media_cache import fill_clips

        need: list[int] = []  # clips with a corrupted condition to extract
        wanted: set[tuple[str, int]] = set()
        for i, ref in enumerate(self.refs):
            todo = {(c.name, s) for c, s, *_ in missing_features(self.cache, self.loader, self.layout, ref,
                                                                  conditions, seed) if c is not None}  # fmt: skip
            if todo:
                need.append(i)
                wanted |= todo
        if need:
            conds = [(c.name, s) for c, s in conditions if c is not None and (c.name, s) in wanted]
            clips = media_clips([self.refs[i] for i in need], [self.sources[i] for i in need])
            tick = None if progress is None else (lambda k, _cid: progress(k, len(need), "corrupting media"))  # noqa: E731
            fill_clips(clips, self.media.root, conds, seed, max(1, min(len(need), usable_cpus())), tick)
        for i, (ref, src) in enumerate(zip(self.refs, self.sources, strict=True)):
            fill_clip(self.cache, self.loader, self.layout, self.segments, ref, src, conditions, seed,
                      self.media, self.stats)  # fmt: skip
            if progress is not None:
                progress(i + 1, len(self.refs), "features")

    def scores(self, c: Corruption | None, severity: int, seed: int) -> npt.NDArray[np.float64]:
        import torch

        from vaar.baselines.train import SplitFeatures, evaluate
        from vaar.robustness.extract import load_features

        feats = [load_features(self.cache, self.loader, self.layout, ref, c, severity, seed) for ref in self.refs]
        ok = [i for i, f in enumerate(feats) if f is not None]
        k = self.run.model.spec.num_classes
        probs = np.full((len(self.refs), k), np.nan)  # a clip that failed: NaN, scored as a failure
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
    """A model's ``predict(clips)`` on corrupted media files.

    A corrupted clip is a new clip to the model: it gets a fresh opaque id and file names (an
    HMAC of the clip id, corruption, severity and seed under a key drawn for this run), mapped
    back to the clip only here, so a model cannot recognise a test clip it has seen clean and
    repeat its clean answer (issue 19, item 4; ``tests/bench/test_robustness_protocol.py``)."""

    def __init__(self, predict: PredictFn, root: Path, split: str, wanted: Sequence[str], media_dir: Path,
                 batch_size: int) -> None:  # fmt: skip
        import os

        from vaar.robustness.media_cache import MediaCache

        self.predict, self.root, self.split, self.batch_size = predict, root, split, batch_size
        self.wanted = list(wanted)
        self.media = MediaCache(media_dir)
        self.computed = self.cached = 0
        self.failed: list[tuple[str, str]] = []
        self.prepared: set[tuple[str, str, int]] = set()  # (clip id, corruption, severity) made by prepare()
        self._key = os.urandom(32)
        self.severities: list[int] = []
        self._shas: dict[str, str] = {}

    @property
    def clip_ids(self) -> list[str]:
        return self.wanted

    def prepare(self, names: Sequence[str], severities: Sequence[int], seed: int, workers: int | None = None,
                progress: Callable[[int, int, str], None] | None = None) -> None:  # fmt: skip
        """Make the corrupted files the cache lacks before the model sees any, ``workers`` processes
        at once (default: one per usable CPU), every severity of a corruption in one pass; the
        model then gets them condition after condition from the cache."""
        from vaar.bench.sandbox import iter_media
        from vaar.core._util.cpus import usable_cpus
        from vaar.robustness.media_cache import fill_clips, grid, missing_conditions

        self.severities = sorted(severities)
        wanted = set(self.wanted)
        need = {b.clip_id for batch in iter_media(self.root, self.split, 16) for b in batch if b.clip_id in wanted
                and missing_conditions(self.media, grid(names, severities), seed, b.video, b.video_path, self._sha(b))}  # fmt: skip
        if not need:
            return
        todo = (b for batch in iter_media(self.root, self.split, 16) for b in batch if b.clip_id in need)  # lazily
        workers = max(1, min(len(need), workers or usable_cpus()))
        tick = None if progress is None else (lambda i, _cid: progress(i, len(need), "corrupting media"))  # noqa: E731
        self.prepared = fill_clips(todo, self.media.root, grid(names, severities), seed, workers, tick).made

    def opaque_id(self, clip_id: str, c: Corruption, severity: int, seed: int) -> str:
        import hmac

        msg = f"{clip_id}\0{c.name}\0{severity}\0{seed}".encode()
        return "x" + hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:24]

    def _in_cache(self, b: Any, c: Corruption, severity: int, seed: int) -> bool:
        from vaar.robustness.media_cache import missing_conditions

        return not missing_conditions(self.media, [(c.name, severity)], seed, b.video, b.video_path, self._sha(b))

    def _sha(self, b: Any) -> str:
        """The sha256 of a clip's video (hashed once a run, not once a condition)."""
        if b.clip_id not in self._shas:
            self._shas[b.clip_id] = hashlib.sha256(b.video).hexdigest()
        return self._shas[b.clip_id]

    def _corrupt(self, b: Any, c: Corruption, severity: int, seed: int) -> Any:
        from vaar.robustness.media_cache import corrupt_clip_media

        v, a = corrupt_clip_media(c, severity, seed, self.media, b.video, b.audio, b.video_path, b.audio_path,
                                  self.severities, key=self._sha(b))  # fmt: skip
        new = self.opaque_id(b.clip_id, c, severity, seed)
        vs = Path(b.video_path or "c.mp4").suffix or ".mp4"
        as_ = Path(b.audio_path or "c.flac").suffix or ".flac"
        return replace(b, clip_id=new, video=v, audio=a, video_path=f"{new}{vs}",
                       audio_path=f"{new}{as_}" if b.audio is not None else None)  # fmt: skip

    def scores(self, c: Corruption | None, severity: int, seed: int) -> npt.NDArray[np.float64]:
        """(N, K) scores in ``clip_ids`` order; NaN rows for clips that could not be corrupted."""
        from vaar.bench.sandbox import iter_media
        from vaar.bench.sandbox_model import as_rows
        from vaar.core.taxonomy import default_taxonomy

        k = len(default_taxonomy().slugs)
        index = {cid: i for i, cid in enumerate(self.wanted)}
        out = np.full((len(self.wanted), k), np.nan)
        for batch in iter_media(self.root, self.split, self.batch_size):
            batch = [b for b in batch if b.clip_id in index]
            if not batch:
                continue
            rows = [index[b.clip_id] for b in batch]
            if c is not None:
                sent, kept = [], []
                for b, i in zip(batch, rows, strict=True):
                    fresh = (b.clip_id, c.name, severity) in self.prepared or not self._in_cache(b, c, severity, seed)
                    try:
                        sent.append(self._corrupt(b, c, severity, seed))
                        kept.append(i)
                    except Exception as exc:  # noqa: BLE001 - a clip that cannot be corrupted is a failure
                        self.failed.append((b.clip_id, f"{c.name} s{severity}: {type(exc).__name__}: {exc}"[:200]))
                        continue
                    self.computed += fresh
                    self.cached += not fresh
                batch, rows = sent, kept
                if not batch:
                    continue
            scores = as_rows(self.predict(batch), len(batch), k)
            for i, row in zip(rows, scores, strict=True):
                out[i] = row
        return out


# -------------------------------------------------------------------------------------- scoring


def _score(probs: npt.NDArray[np.float64], ids: Sequence[str], truth: Any, resamples: int, seed: int,
           label: str, rows: list[str] | None = None) -> tuple[dict[str, Any], tuple[float, npt.NDArray[np.float64] | None]]:  # fmt: skip
    """The task's report of ``probs`` (rows in ``ids`` order) and (Macro-F1, its bootstrap samples);
    ``rows`` collects the predictions file's lines (``condition,clip_id,label,failed``)."""
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
    aligned, failed = wrong_for_failures(aligned, truth.labels, tax.index(tax.normal_class))
    digest = hashlib.sha256(np.ascontiguousarray(aligned).tobytes()).hexdigest()
    yhat = aligned.argmax(axis=1).astype(np.int64)
    if rows is not None:
        rows += [f"{label},{cid},{tax.slugs[int(p)]},{int(f)}\n" for cid, p, f in zip(truth.clip_ids, yhat, failed, strict=True)]
    preds = ClipPredictions(yhat, aligned, 1.0 - aligned[:, tax.index(tax.normal_class)], digest, label)
    report = get_task(TASK).score(preds, truth, resamples=resamples, seed=seed).to_dict()
    report["failed_clips"] = int(failed.sum())
    from vaar.bench.vaar_tasks import bootstrap_unit

    samples = macro_f1_samples(truth.labels, yhat, len(tax.slugs), resamples, seed, bootstrap_unit(truth)) \
        if resamples else None  # fmt: skip
    return report, (float(report["scores"]["macro_f1"]), samples)


def wrong_for_failures(probs: npt.NDArray[np.float64], labels: npt.NDArray[np.int64],
                       normal: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:  # fmt: skip
    """Rows of clips that failed (NaN: not decoded, not corrupted, no answer) scored as wrong for
    every class: score 0 for the clip's own class and 1 for every other (a miss in its class's
    ranking, a false alarm in every other), so its label is another class (``normal`` for an
    anomaly, the first anomaly class for a normal clip) and its anomaly score the wrong end.
    Never a guess that could be right by chance (the old uniform scores argmax'ed to class 0)."""
    failed: npt.NDArray[np.bool_] = np.asarray(~np.isfinite(probs).all(axis=1))
    if not failed.any():
        return probs, failed
    out = probs.copy()
    k = probs.shape[1]
    for i in np.flatnonzero(failed):
        y = int(labels[i])
        row = np.ones(k)
        row[y] = 0.0
        other = normal if y != normal else (1 if normal == 0 else 0)
        row[other] = 2.0  # the label, so argmax picks a wrong class deterministically
        out[i] = row / row.sum()
    return out, failed


def _write_json(path: Path, data: Any) -> None:
    from vaar.core._util.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def _prepare(scorer: RunScorer | ModelScorer, names: list[str], sevs: list[int], seed: int,
             say: Callable[[str], None]) -> None:  # fmt: skip
    """Compute what the caches lack before scoring: the corrupted media files (in parallel), then
    a run's features (every condition, a clip at a time)."""
    if isinstance(scorer, ModelScorer):
        if names:
            scorer.prepare(names, sevs, seed, progress=lambda i, n, stage: say(f"{stage}: clip {i}/{n}"))
        return
    conds: list[tuple[Corruption | None, int]] = [(None, 0)]
    conds += [(get_corruption(n), s) for n in names for s in sevs]
    scorer.prepare(conds, seed, lambda i, n, stage: say(f"{stage}: clip {i}/{n}"))


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
    truth: Any = None,
) -> RobustnessResult:
    """Score a run folder (str / Path) or a ``predict(clips)`` callable under every corruption x
    severity of the test split; write the files of the module docstring and return the summary.

    ``cache``: a run's corrupted features go to its feature cache (or ``cache``); corrupted media
    files to ``cache/media`` (default: the persistent :func:`.media.default_media_cache`, shared by
    ``--run``, ``--model`` and ``submit --robustness``).
    """
    from vaar.robustness.aggregate import summarise
    from vaar.robustness.audio import babble_source
    from vaar.robustness.heatmap import plot_heatmap
    from vaar.robustness.media_cache import default_media_cache

    t0 = time.perf_counter()
    root, out_dir = Path(dataset), Path(out)
    names = parse_corruptions(corruptions)
    sevs = sorted({int(s) for s in severities})
    truth = truth if truth is not None else load_truth(root, split)  # a submission's own labels when given
    media_dir = Path(cache) / "media" if cache is not None else default_media_cache()
    scorer: RunScorer | ModelScorer
    if isinstance(predict_fn_or_run, (str, Path)):
        scorer = RunScorer(Path(predict_fn_or_run), root, split, Path(cache) if cache else None, media_dir)
        label = name or Path(predict_fn_or_run).name
    else:
        scorer = ModelScorer(predict_fn_or_run, root, split, truth.clip_ids, media_dir, batch_size)
        label = name or str(getattr(predict_fn_or_run, "__qualname__", "model"))
    total = 1 + len(names) * len(sevs)
    done = 0
    if progress is not None:  # what it will do, before it starts (the CLIs show it)
        from vaar.robustness.plan import plan

        progress(0, total, "plan: " + plan(root, split, names, sevs, seed, media_dir).describe())
    _prepare(scorer, names, sevs, seed, lambda what: progress(0, total, what) if progress is not None else None)

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    failed_counts: dict[str, int] = {}
    pred_rows: list[str] = ["condition,clip_id,label,failed\n"]
    clean_report, clean = _score(scorer.scores(None, 0, seed), scorer.clip_ids, truth, resamples,
                                 bootstrap_seed, "clean", pred_rows)  # fmt: skip
    failed_counts["clean"] = clean_report["failed_clips"]
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
                scorer.scores(c, s, seed), scorer.clip_ids, truth, resamples, bootstrap_seed, f"{cname} s{s}", pred_rows)
            failed_counts[f"{cname} s{s}"] = reports[str(s)]["failed_clips"]
            tick(f"{cname} s{s}")
        _write_json(out_dir / f"{cname}.json", {
            "corruption": c.name, "group": c.group, "stage": c.stage, "touches": list(c.touches),
            "unit": c.unit, "levels": list(c.levels), "description": c.doc, "seed": seed,
            **({"bed": babble_source()} if c.name == "noise_babble" else {}),
            "severities": reports,
        })  # fmt: skip
    summary = summarise(clean, conditions, groups, sevs)
    from vaar.core._util.atomic import atomic_write_text

    preds_text = "".join(pred_rows)
    atomic_write_text(out_dir / "predictions.csv", preds_text)
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
        "failed_by_condition": {k: v for k, v in failed_counts.items() if v},
        "predictions_sha256": hashlib.sha256(preds_text.encode()).hexdigest(),
        "seconds": round(time.perf_counter() - t0, 2),
    }  # fmt: skip
    plot_heatmap(summary["matrix"], sevs, summary["clean_macro_f1"], out_dir / "heatmap.png", label)
    _write_json(out_dir / "summary.json", summary)
    return RobustnessResult(out_dir, summary, summary["seconds"], computed, cached)
