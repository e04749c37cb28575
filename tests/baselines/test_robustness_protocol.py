"""The robustness protocol (issue 23; issue 19 item 4): one corruption path for ``--run`` and
``--model``, corrupted clips that are new clips to the model, and failures counted as failures."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vaar.robustness.corruptions import get_corruption
from vaar.robustness.scoring import (
    ModelScorer,
    RunScorer,
    load_truth,
    run_robustness,
    wrong_for_failures,
)

CONDS = [("fog", 3), ("noise_white", 4), ("video_missing", 2)]


class Recorder:
    """A model that records every clip it is given and answers uniformly."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, clips: list[Any]) -> np.ndarray:
        self.seen += clips
        return np.full((len(clips), 10), 0.1)


def test_run_and_model_paths_feed_bit_identical_corrupted_inputs(
    demo_runs: dict[str, Path], small_dataset: Path, tmp_path: Path
) -> None:
    """--model writes its corrupted files into one cache, --run into another, independently: the
    files are the same bytes, so both paths score the very same corrupted frames and samples."""
    from vaar.baselines.features import FeatureCache, LazyBackbones, clip_bounds, extract_clip

    truth = load_truth(small_dataset, "test")
    rec = Recorder()
    model = ModelScorer(rec, small_dataset, "test", truth.clip_ids, tmp_path / "m-media", 4)
    run = RunScorer(demo_runs["avarnet"], small_dataset, "test", tmp_path / "feat", tmp_path / "r-media")
    conds = [(get_corruption(n), s) for n, s in CONDS]
    for c, s in conds:
        model.scores(c, s, 0)
    run.prepare([(None, 0), *conds], 0)
    assert not model.failed and not run.stats.failed

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    m, r = tree(tmp_path / "m-media"), tree(tmp_path / "r-media")
    assert m and m.keys() == r.keys() and all(m[k] == r[k] for k in m)
    assert {hashlib.sha256(c.video).hexdigest() for c in rec.seen} <= {hashlib.sha256(b).hexdigest() for b in m.values()}
    # and the run's cached features are those of exactly the bytes the model was given
    fc, loader = FeatureCache(tmp_path / "feat"), LazyBackbones("handcrafted-audio", "handcrafted-video", "cpu")
    from vaar.robustness.extract import load_features

    c, s = conds[0]
    first = rec.seen[0]  # the first clip of the first condition (fog s3)
    ref = next(ref for ref in run.refs if model.opaque_id(ref.clip_id, c, s, 0) == first.clip_id)
    a, v = extract_clip(first.video, first.audio, clip_bounds(first.video, run.segments, None),
                        loader.audio(), loader.video())  # fmt: skip
    got = load_features(fc, loader, run.layout, ref, c, s, 0)
    assert got is not None and a is not None and v is not None
    assert np.array_equal(got[1], v.numpy())


def test_corrupted_clips_are_new_clips_to_the_model(small_dataset: Path, tmp_path: Path) -> None:
    """Fresh opaque ids and file names per clip, corruption, severity and seed; nothing of the clip id."""
    truth = load_truth(small_dataset, "test")
    rec = Recorder()
    scorer = ModelScorer(rec, small_dataset, "test", truth.clip_ids, tmp_path / "media", 8)
    scorer.scores(None, 0, 0)
    clean_ids = [c.clip_id for c in rec.seen]
    assert sorted(clean_ids) == sorted(truth.clip_ids)
    rec.seen.clear()
    for n, s in [("fog", 1), ("fog", 2), ("noise_white", 1)]:
        scorer.scores(get_corruption(n), s, 0)
    ids = [c.clip_id for c in rec.seen]
    assert len(set(ids)) == len(ids) == 3 * len(clean_ids)  # unique per condition
    for clip in rec.seen:
        assert clip.clip_id not in clean_ids
        assert not any(cid in (clip.video_path or "") + (clip.audio_path or "") for cid in clean_ids)
        assert (clip.video_path or "").startswith(clip.clip_id)
    # another run draws another key: ids cannot be learnt across submissions
    other = ModelScorer(rec, small_dataset, "test", truth.clip_ids, tmp_path / "media", 8)
    c = get_corruption("fog")
    assert other.opaque_id(truth.clip_ids[0], c, 1, 0) != scorer.opaque_id(truth.clip_ids[0], c, 1, 0)


class Memoriser:
    """The attacker: it recognises the clean test media it was tuned on (a table from a media hash
    to the answer, standing in for any model fitted to the public test media) and, to look robust,
    repeats its clean answer whenever it sees a clip id again. On corrupted media it is blind."""

    def __init__(self, answers: dict[str, int]) -> None:
        self.answers, self.by_id = answers, {}

    def __call__(self, clips: list[Any]) -> np.ndarray:
        out = np.zeros((len(clips), 10))
        for i, c in enumerate(clips):
            label = self.answers.get(hashlib.sha256(c.video).hexdigest())
            if label is None:
                label = self.by_id.get(c.clip_id, 0)  # seen clean: repeat the answer
            self.by_id[c.clip_id] = label
            out[i, label] = 1.0
        return out


def test_a_memorising_model_gets_its_honest_robustness_score(small_dataset: Path, tmp_path: Path) -> None:
    """On the old main (clip ids passed through) this model scored mCF1 == clean (100)."""
    from vaar.bench.sandbox import iter_media

    truth = load_truth(small_dataset, "test")
    label = dict(zip(truth.clip_ids, truth.labels.tolist(), strict=True))
    answers = {hashlib.sha256(c.video).hexdigest(): label[c.clip_id]
               for batch in iter_media(small_dataset, "test", 8) for c in batch}  # fmt: skip
    res = run_robustness(Memoriser(answers), small_dataset, tmp_path / "out", corruptions=["fog", "noise_white"],
                         severities=[2], resamples=0, cache=tmp_path / "cache")  # fmt: skip
    s = res.summary
    assert s["clean_macro_f1"] == 1.0
    assert s["mcf1"] < 0.2  # blind on every corrupted clip: class 0 for all of them


def test_a_failed_clip_is_scored_wrong_for_every_class() -> None:
    labels = np.array([0, 3, 5])
    probs = np.array([[np.nan] * 10, np.full(10, 0.1), [np.nan] * 10])
    out, failed = wrong_for_failures(probs, labels, normal=0)
    assert failed.tolist() == [True, False, True]
    assert out[1].tolist() == probs[1].tolist()
    for i in (0, 2):
        y = labels[i]
        assert out[i].argmax() != y  # never right by chance (uniform scores argmax'ed to class 0 were)
        assert out[i][y] == out[i].min() and (np.delete(out[i], y) > out[i][y]).all()
    assert out[2].argmax() == 0 and out[0].argmax() == 1  # an anomaly -> normal; a normal clip -> an anomaly


def test_failures_are_counted_per_condition(small_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clip whose corrupted copy cannot be made (its video truncated, as the scorer reads it) is
    reported and scored wrong, not guessed: made ahead in parallel, then retried when scored."""
    import vaar.bench.sandbox as sandbox

    real = sandbox.iter_media
    truth = load_truth(small_dataset, "test")
    broken = truth.clip_ids[0]

    def iter_media(root: Path, split: str, batch_size: int) -> Any:
        for batch in real(root, split, batch_size):
            yield [replace(b, video=b.video[: len(b.video) // 3]) if b.clip_id == broken else b for b in batch]

    monkeypatch.setattr(sandbox, "iter_media", iter_media)

    def oracle(clips: list[Any]) -> np.ndarray:  # right on every clip it is given
        return np.full((len(clips), 10), 0.1)

    res = run_robustness(oracle, small_dataset, tmp_path / "out", corruptions=["fog"], severities=[1],
                         resamples=0, cache=tmp_path / "cache")  # fmt: skip
    assert res.summary["failed_by_condition"] == {"fog s1": 1}
    assert res.summary["failed"][0][0] == broken


def test_rescore_recomputes_the_matrix_from_the_saved_predictions(small_dataset: Path, tmp_path: Path) -> None:
    from vaar.bench.rescore import index_predictions
    from vaar.robustness.board import entry_block
    from vaar.robustness.rescore import rescore_block

    truth = load_truth(small_dataset, "test")
    res = run_robustness(Recorder(), small_dataset, tmp_path / "out", corruptions=["fog"], severities=[1, 2],
                         resamples=0, cache=tmp_path / "cache")  # fmt: skip
    block = entry_block(res.summary)
    files = index_predictions(tmp_path / "out")
    assert rescore_block(block, truth, files)[0] == "ok"
    forged = {**block, "matrix": {"fog": {**block["matrix"]["fog"], "2": 0.99}}}
    status, detail = rescore_block(forged, truth, files)
    assert status == "DIFFERS" and "fog s2" in detail
    assert rescore_block({**block, "predictions_sha256": "0" * 64}, truth, files)[0] == "missing"
    hostile = tmp_path / "h" / "p.csv"
    hostile.parent.mkdir()
    hostile.write_text("condition,clip_id,label,failed\nclean,\x1b[2J<script>,normal,0\n")
    from vaar.core._util.hashing import sha256_file

    status, detail = rescore_block({**block, "predictions_sha256": sha256_file(hostile)}, truth,
                                   index_predictions(hostile.parent))  # fmt: skip
    assert status == "invalid" and "\x1b" not in detail and "<script>" not in detail


def test_the_plan_is_reported_first_and_the_cache_is_shared(small_dataset: Path, tmp_path: Path) -> None:
    """The run says what it will make before starting; a second run makes nothing."""
    seen: list[str] = []

    def progress(done: int, total: int, text: str) -> None:
        seen.append(text)

    kw: dict[str, Any] = {"corruptions": ["occlusion"], "severities": [1, 2], "resamples": 0,
                          "cache": tmp_path / "cache", "progress": progress}  # fmt: skip
    first = run_robustness(Recorder(), small_dataset, tmp_path / "a", **kw)
    assert seen[0].startswith("plan: 20 clips x 2 conditions: 0 corrupted files cached, 40 to make")
    assert first.computed == 40
    seen.clear()
    second = run_robustness(Recorder(), small_dataset, tmp_path / "b", **kw)
    assert seen[0].startswith("plan: 20 clips x 2 conditions: 40 corrupted files cached, 0 to make")
    assert second.computed == 0 and second.cached == 40
