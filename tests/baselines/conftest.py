"""Fixtures of the baselines tests: small clips made by ffmpeg, a dataset folder, tiny models.

The dataset fixture mirrors the class signatures of ``vaar build --sample`` (a tone per sound
group, a colour per picture group), at a smaller size so that the tests stay fast.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.datasets import DEMO_FLAGS, signature_dataset

_HF_HOME = tempfile.mkdtemp(prefix="vaar-test-hf-")


@pytest.fixture(scope="session", autouse=True)
def _private_hf_cache() -> Iterator[None]:
    import datasets

    old = datasets.config.HF_DATASETS_CACHE
    datasets.config.HF_DATASETS_CACHE = Path(_HF_HOME) / "datasets"
    yield
    datasets.config.HF_DATASETS_CACHE = old


@pytest.fixture(scope="session", autouse=True)
def _cpu_settings() -> None:
    import torch

    torch.set_flush_denormal(True)
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 train, 1 validation, 2 test clips per class (60 clips of 1 s)."""
    return signature_dataset(
        tmp_path_factory.mktemp("small-ds"), {"train": 3, "validation": 1, "test": 2}
    )


@pytest.fixture(scope="session")
def small_features(small_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hand-crafted features of ``small_dataset`` at T = 8."""
    from vaar.bench.cli import main

    cache = tmp_path_factory.mktemp("small-cache")
    assert main(["features", "--dataset", str(small_dataset), "--out", str(cache), "--segments", "8",
                 "--audio-backbone", "handcrafted-audio", "--video-backbone", "handcrafted-video"]) == 0
    return cache




@pytest.fixture(scope="session")
def demo_runs(small_dataset: Path, small_features: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four baselines trained by the CLI on the signature dataset (hand-crafted features)."""
    from vaar.bench.cli import main

    root = Path(__file__).resolve().parents[2]
    runs = {}
    for name in ("avarnet", "audio_only", "video_only", "late_fusion"):
        out = tmp_path_factory.mktemp(f"run-{name}")
        assert main(["train", "--config", str(root / "baselines" / f"{name}.yaml"), "--dataset",
                     str(small_dataset), "--features", str(small_features), "--out", str(out),
                     *DEMO_FLAGS]) == 0  # fmt: skip
        runs[name] = out
    return runs


@pytest.fixture(scope="session")
def tiny_wav2vec2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised, tiny Wav2Vec2 saved as a local checkpoint folder."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    torch.manual_seed(0)
    cfg = Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(32, 32, 32, 32, 32, 32, 32), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, vocab_size=8,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("tiny-wav2vec2")
    Wav2Vec2Model(cfg).save_pretrained(out)
    Wav2Vec2FeatureExtractor(do_normalize=True, sampling_rate=16000).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_mobilevit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """timm MobileViT-XXS, randomly initialised, saved in timm's folder format."""
    import timm
    import torch
    from timm.models import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model("mobilevit_xxs", pretrained=False)
    out = tmp_path_factory.mktemp("tiny-mobilevit")
    save_for_hf(model, out)
    return out
