"""Training under ``torchrun`` with two CPU processes (gloo): same run folder, same learning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.datasets import DEMO_FLAGS

BIN = Path(sys.executable).parent


def test_two_process_ddp_matches_one_process(small_dataset: Path, small_features: Path, tmp_path: Path) -> None:
    from vaar.bench.cli import main

    root = Path(__file__).resolve().parents[2]
    flags = ["train", "--config", str(root / "baselines" / "avarnet.yaml"), "--dataset", str(small_dataset),
             "--features", str(small_features), *DEMO_FLAGS, "--epochs", "4", "--dropout", "0",
             "--threads", "1"]  # fmt: skip
    assert main([*flags, "--out", str(tmp_path / "one")]) == 0
    torchrun = BIN / "torchrun"
    if not torchrun.exists():
        pytest.skip("torchrun not installed next to this Python")
    cmd = [str(torchrun), "--standalone", "--nproc-per-node", "2", "--no-python", str(BIN / "vaar-bench"),
           *flags, "--out", str(tmp_path / "two")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = json.loads((tmp_path / "one" / "seed_0" / "history.json").read_text())
    two = json.loads((tmp_path / "two" / "seed_0" / "history.json").read_text())
    assert len(one) == len(two) == 4
    for a, b in zip(one, two, strict=True):  # the same global batches: equal up to float order
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    assert proc.stdout.count("MFLOPs per clip") == 1  # only rank 0 reports
