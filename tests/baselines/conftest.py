"""Fixtures of the baselines tests: small clips made by ffmpeg, a dataset folder, tiny models.

The dataset fixture mirrors the class signatures of ``vaar build --sample`` (a tone per sound
group, a colour per picture group), at a smaller size so that the tests stay fast.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

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


def make_clip(
    path: Path,
    colour: tuple[int, int, int],
    freq: float,
    seconds: float = 1.0,
    size: tuple[int, int] = (64, 48),
    fps: int = 10,
    audio: bool = True,
    seed: int = 0,
) -> Path:
    r, g, b = colour
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"color=c=0x{r:02x}{g:02x}{b:02x}:s={size[0]}x{size[1]}:r={fps}:d={seconds},"
           f"noise=alls=10:allf=t:all_seed={seed}"]  # fmt: skip
    if audio:
        cmd += ["-f", "lavfi", "-i",
                f"aevalsrc='0.3*sin(2*PI*{freq:.1f}*t)+0.02*(random({seed})-0.5)':s=16000:d={seconds}",
                "-c:a", "aac", "-shortest"]  # fmt: skip
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(fps), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def write_dataset(root: Path, splits: dict[str, list[dict]], class_names: list[str]) -> Path:
    """A published-style folder: data/<split>-00000-of-00001.parquet + README with configs."""
    import datasets

    from vaar.schema import dataset_features

    feats = dataset_features(class_names)
    (root / "data").mkdir(parents=True, exist_ok=True)
    for split, rows in splits.items():
        cols: dict[str, list] = {k: [] for k in feats}
        for row in rows:
            for k in feats:
                cols[k].append(row.get(k))
        datasets.Dataset.from_dict(cols, features=feats).to_parquet(
            str(root / "data" / f"{split}-00000-of-00001.parquet")
        )
    files = "".join(
        f"      - split: {s}\n        path: data/{s}-*.parquet\n" for s in splits
    )
    (root / "README.md").write_text(
        f"---\nconfigs:\n  - config_name: default\n    data_files:\n{files}---\n# test dataset\n",
        encoding="utf-8",
    )
    return root


def signature_dataset(
    root: Path, per_split: dict[str, int], seconds: float = 1.0, seed: int = 0
) -> Path:
    """Ten classes with the sample's sound / picture pairing; ``per_split`` clips per class."""
    import hashlib

    from vaar.curation.sample import COLOURS, TONES_HZ, signature
    from vaar.taxonomy import default_taxonomy

    slugs = list(default_taxonomy().slugs)
    rng = random.Random(seed)
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    jobs, splits = [], {}
    for split, n in per_split.items():
        rows = splits.setdefault(split, [])
        for ci, slug in enumerate(slugs):
            s, p = signature(slug)
            for k in range(n):
                clip_id = f"{split}-{slug}-{k}"
                colour = tuple(max(0, min(255, c + rng.randint(-15, 15))) for c in COLOURS[p])
                freq = TONES_HZ[s] * rng.uniform(0.98, 1.02)
                path = media / f"{clip_id}.mp4"
                jobs.append((path, colour, freq, rng.randint(0, 1000)))
                rows.append({"clip_id": clip_id, "label": ci, "path": path, "source_id": clip_id})

    def run(job: tuple) -> None:
        make_clip(job[0], job[1], job[2], seconds=seconds, seed=job[3])

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run, jobs))
    for rows in splits.values():
        for row in rows:
            data = row.pop("path").read_bytes()
            row["video"] = {"bytes": data, "path": f"{row['clip_id']}.mp4"}
            row["audio"] = {"bytes": data, "path": f"{row['clip_id']}.mp4"}
            row["video_sha256"] = hashlib.sha256(data).hexdigest()
            row["duration"] = seconds
    return write_dataset(root, splits, slugs)


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


DEMO_FLAGS = ["--epochs", "25", "--batch-size", "8", "--lr", "0.003", "--seeds", "0"]


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
