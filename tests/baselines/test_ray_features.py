"""`vaar-bench features --backend ray`: the same cache, array for array, as the local path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.ray_local import local_ray
from vaar.baselines.features import extract_dataset

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    with local_ray() as address:
        yield address


def arrays(cache: Path) -> dict[str, bytes]:
    return {str(p.relative_to(cache)): p.read_bytes() for p in sorted(cache.rglob("*.npy"))}


def test_ray_features_equal_local_features(
    small_dataset: Path, tiny_wav2vec2: Path, tiny_mobilevit: Path, tmp_path: Path, ray_cluster: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import torch

    from vaar.bench.cli import main

    torch.set_num_threads(1)  # the actors run one thread each: same kernels, same arrays
    common = {"segments": 4, "splits": ["validation"], "audio_backbone": str(tiny_wav2vec2),
              "video_backbone": str(tiny_mobilevit)}  # fmt: skip
    local = extract_dataset(small_dataset, tmp_path / "local", **common)  # type: ignore[arg-type]
    args = ["features", "--dataset", str(small_dataset), "--out", str(tmp_path / "ray"), "--segments", "4",
            "--split", "validation", "--audio-backbone", str(tiny_wav2vec2),
            "--video-backbone", str(tiny_mobilevit), "--backend", "ray", "--actors", "2"]  # fmt: skip
    assert main(args) == 0
    assert "computed" in capsys.readouterr().out
    a, b = arrays(tmp_path / "local"), arrays(tmp_path / "ray")
    assert len(a) == 2 * local.splits["validation"].computed == 20
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []
    ea = json.loads((tmp_path / "local" / "features.json").read_text())["extractions"]
    eb = json.loads((tmp_path / "ray" / "features.json").read_text())["extractions"]
    assert ea == eb
    # a second run computes nothing: every clip is a cache hit in the driver
    from vaar.baselines.ray_features import extract_dataset_ray

    again = extract_dataset_ray(small_dataset, tmp_path / "ray", **common)  # type: ignore[arg-type]
    assert (again.splits["validation"].computed, again.splits["validation"].cached) == (0, 10)
