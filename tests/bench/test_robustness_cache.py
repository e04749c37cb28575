"""The corrupted-media cache made fast (issue 24, item 5): the severities of a corruption made in
one pass are the bytes made one at a time; clips are corrupted ahead of the model, in parallel,
with the same files as in one process; a model's robustness run counts what it made and what it
found, and asks the model for batches of its own size."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.fixtures.media import make_source
from vaar.robustness.corruptions import corruption_names, get_corruption
from vaar.robustness.media_cache import (
    MediaCache,
    corrupt_clip_media,
    fill_clips,
    grid,
    missing_conditions,
)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, bytes]:
    """Two 2 s clips (H.264 + AAC, different pictures) and the first one's 16 kHz mono FLAC."""
    folder = tmp_path_factory.mktemp("rcache")
    a = make_source(folder / "a.mp4", duration=2.0, fps=25)
    b = make_source(folder / "b.mp4", duration=2.0, fps=25, variant=1)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(a), "-vn", "-ac", "1", "-ar", "16000",
                    str(folder / "a.flac")], check=True)  # fmt: skip
    return a.read_bytes(), b.read_bytes(), (folder / "a.flac").read_bytes()


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 1 s test clip per class (a published folder with its splits)."""
    from tests.fixtures.datasets import signature_dataset

    return signature_dataset(tmp_path_factory.mktemp("tiny-ds"), {"train": 1, "test": 1})


def _same_alone_and_together(name: str, media: tuple[bytes, bytes, bytes], tmp_path: Path, sevs: Sequence[int]) -> None:
    video, _, audio = media
    c = get_corruption(name)
    together, alone = MediaCache(tmp_path / "together"), MediaCache(tmp_path / "alone")
    for s in sevs:
        got = corrupt_clip_media(c, s, 0, together, video, audio, "a.mp4", "a.flac", sevs)
        want = corrupt_clip_media(c, s, 0, alone, video, audio, "a.mp4", "a.flac")
        assert got == want, f"{name} s{s}: made with {list(sevs)} differs from made alone"
    files = 2 if "audio" in c.touches else 1
    assert together.made == alone.made == files * len(sevs)


@pytest.mark.parametrize("name", ["fog", "noise_white", "compression"])  # one per stage: frames, samples, media
def test_severities_made_together_are_the_bytes_made_alone(
    name: str, media: tuple[bytes, bytes, bytes], tmp_path: Path
) -> None:
    _same_alone_and_together(name, media, tmp_path, [2, 5])


@pytest.mark.slow
@pytest.mark.parametrize("name", corruption_names())
def test_every_corruption_made_together_is_the_bytes_made_alone(
    name: str, media: tuple[bytes, bytes, bytes], tmp_path: Path
) -> None:
    """Also: no corruption function changes the frames or samples it is given (the severities of
    one pass share them)."""
    _same_alone_and_together(name, media, tmp_path, [1, 3, 5])


def test_a_pass_makes_only_the_missing_severities(media: tuple[bytes, bytes, bytes], tmp_path: Path) -> None:
    video = media[0]
    cache = MediaCache(tmp_path)
    c = get_corruption("fog")
    first = corrupt_clip_media(c, 3, 0, cache, video, None, "a.mp4", None)
    assert cache.made == 1
    assert missing_conditions(cache, grid(["fog"], [1, 3, 5]), 0, video, "a.mp4") == [("fog", 1), ("fog", 5)]
    again = corrupt_clip_media(c, 1, 0, cache, video, None, "a.mp4", None, [1, 3, 5])
    assert cache.made == 3 and not missing_conditions(cache, grid(["fog"], [1, 3, 5]), 0, video, "a.mp4")
    assert corrupt_clip_media(c, 3, 0, cache, video, None, "a.mp4", None) == first and again != first
    assert not list(tmp_path.rglob(".tmp-*")) and not list(tmp_path.rglob("*.f32"))  # nothing left behind


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_clips_corrupted_in_parallel_are_the_files_of_one_process(
    media: tuple[bytes, bytes, bytes], tmp_path: Path
) -> None:
    a, b, flac = media
    clips = [SimpleNamespace(clip_id="a", video=a, audio=flac, video_path="a.mp4", audio_path="a.flac"),
             SimpleNamespace(clip_id="b", video=b, audio=None, video_path="b.mp4", audio_path=None),
             SimpleNamespace(clip_id="broken", video=b"not a video", audio=None, video_path="x.mp4", audio_path=None)]  # fmt: skip
    names, sevs = ["fog", "noise_white"], [2, 4]
    ticks: list[tuple[int, str]] = []
    one = fill_clips(clips, tmp_path / "one", grid(names, sevs), 0, workers=1, progress=lambda i, cid: ticks.append((i, cid)))
    two = fill_clips(clips, tmp_path / "two", grid(names, sevs), 0, workers=2)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two") and len(_tree(tmp_path / "one")) == 6 + 4  # a: 2 fog + 2x2 noise (MP4 and FLAC); b: 2 + 2
    assert one.made == two.made == {(cid, n, s) for cid in "ab" for n in names for s in sevs}
    assert [cid for cid, _ in one.failed] == ["broken", "broken"] and sorted(two.failed) == sorted(one.failed)
    assert [i for i, _ in ticks] == [1, 2, 3]
    again = fill_clips(clips[:2], tmp_path / "one", grid(names, sevs), 0, workers=2)
    assert not again.made and not again.failed  # all cached: nothing made, nothing spawned to make it
    only = fill_clips(clips[:1], tmp_path / "three", [("fog", 2), ("noise_white", 4)], 0, workers=1)
    assert only.made == {("a", "fog", 2), ("a", "noise_white", 4)}  # the pairs asked for, not their grid
    assert len(_tree(tmp_path / "three")) == 3


def test_model_run_prepares_counts_and_uses_the_models_batch_size(tiny_dataset: Path, tmp_path: Path) -> None:
    """A --model run corrupts every clip before the model sees any, counts the conditions it made
    (first run) and found (second run), and asks for the model's own batch size."""
    from vaar.robustness.scoring import run_robustness
    from vaar.robustness.submit_track import _batch_size

    sizes: list[int] = []

    def predict(clips: Sequence[Any]) -> np.ndarray:
        sizes.append(len(clips))
        return np.tile(np.arange(10.0), (len(clips), 1))

    kw: dict[str, Any] = {"corruptions": ["video_missing", "audio_missing"], "severities": [2, 5], "resamples": 20,
                          "cache": tmp_path / "cache", "batch_size": 3}  # fmt: skip
    first = run_robustness(predict, tiny_dataset, tmp_path / "a", **kw)
    n = first.summary["n"]
    assert (first.computed, first.cached) == (4 * n, 0) and not first.summary["failed"]
    assert max(sizes) == 3 and sum(sizes) == 5 * n  # the clean pass and four conditions, 3 clips at a time
    second = run_robustness(predict, tiny_dataset, tmp_path / "b", **kw)
    assert (second.computed, second.cached) == (0, 4 * n)
    assert second.summary["matrix"] == first.summary["matrix"]
    assert _batch_size(SimpleNamespace(batch_size=lambda: 5)) == 5 and _batch_size(predict) == 8


CACHE_THIEF = '''
import os
ROOT = CACHE_ROOT_HERE

class Model:
    def predict(self, batch):
        # the attack: find the cached file with the bytes it was given; its name is the clean clip's sha256
        found = [f for _, _, files in os.walk(ROOT) for f in files]
        return [[float(len(found))] + [0.0] * 9 for _ in batch]

def factory():
    return Model()
'''


def test_a_sandboxed_model_cannot_read_the_corrupted_media_cache(
    media: tuple[bytes, bytes, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache names each corrupted file by its clean source's sha256; a model that could list it
    would map what it is given back to the clean clip. The cache's root is 0700 and the model runs
    as its own user, so it finds nothing — even where the cache sits in a folder anyone may enter."""
    import shutil
    import tempfile

    from tests.bench.test_sandbox_contain import MECH
    from vaar.bench.sandbox import Clip, SandboxedPredict

    if MECH["user"] == "same user":
        pytest.skip("needs root: the model's own user")
    shared = Path(tempfile.mkdtemp(prefix="vaar-open-"))
    try:
        shared.chmod(0o755)  # e.g. $VAAR_ROBUSTNESS_CACHE under a world-readable folder
        cache = MediaCache(shared / "cache")
        corrupt_clip_media(get_corruption("fog"), 2, 0, cache, media[0], None, "a.mp4", None)
        assert cache.made == 1 and (shared / "cache").stat().st_mode & 0o777 == 0o700
        (shared / "cache_thief.py").write_text(CACHE_THIEF.replace("CACHE_ROOT_HERE", repr(str(shared / "cache"))))
        monkeypatch.chdir(shared)  # the --model module is looked up in the current folder
        with SandboxedPredict("cache_thief:factory") as predict:
            rows = predict([Clip("x1", media[0], None, "x1.mp4", None)])
        assert rows[0][0] == 0.0, "the sandboxed model listed the corrupted-media cache"
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_the_track_scores_the_labels_the_submission_was_scored_on(tiny_dataset: Path, tmp_path: Path) -> None:
    """``submit --labels`` scores the clean run on the host's labels; the robustness track takes the same
    ones (it reloaded the split's own, so a private split failed after the clean run or scored other clips)."""
    from dataclasses import replace

    from vaar.robustness.scoring import load_truth, run_robustness

    def predict(clips: Sequence[Any]) -> np.ndarray:
        return np.tile(np.arange(10.0), (len(clips), 1))

    full = load_truth(tiny_dataset, "test")
    host = replace(full, clip_ids=full.clip_ids[:4], labels=full.labels[:4], sha256="host-labels")
    res = run_robustness(predict, tiny_dataset, tmp_path / "o", corruptions=["video_missing"], severities=[5],
                         resamples=0, cache=tmp_path / "c", truth=host)  # fmt: skip
    assert res.summary["n"] == 4 and res.summary["split_sha256"] == "host-labels" and res.computed == 4
