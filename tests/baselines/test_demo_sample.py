"""The demo on the real ``vaar build --sample`` output (slow: builds the sample, ~5 min on 2 cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.datasets import DEMO_FLAGS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_on_the_sample_build(tmp_path: Path) -> None:
    from vaar.bench.cli import main as bench
    from vaar.cli import main as vaar

    assert vaar(["build", "--sample", "--out", str(tmp_path / "build")]) == 0
    dataset = tmp_path / "build" / "dataset"
    cache = tmp_path / "cache"
    assert bench(["features", "--dataset", str(dataset), "--out", str(cache), "--segments", "16",
                  "--audio-backbone", "handcrafted-audio", "--video-backbone", "handcrafted-video"]) == 0  # fmt: skip
    acc = {}
    for name in ("avarnet", "audio_only", "video_only", "late_fusion"):
        run = tmp_path / name
        assert bench(["train", "--config", str(ROOT / "baselines" / f"{name}.yaml"), "--dataset", str(dataset),
                      "--features", str(cache), "--out", str(run), *DEMO_FLAGS]) == 0  # fmt: skip
        assert bench(["predict", "--run", str(run), "--dataset", str(dataset), "--out", str(run / "p.csv")]) == 0
        acc[name] = json.loads((run / "metrics.json").read_text())["mean"]["test_accuracy"]
    single = max(acc["audio_only"], acc["video_only"])
    assert acc["avarnet"] >= single + 0.20, acc
