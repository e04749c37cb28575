from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from vaar.baselines.config import TrainConfig, resolve_config
from vaar.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_config_precedence_defaults_yaml_cli(tmp_path: Path) -> None:
    cfg = resolve_config(ROOT / "baselines" / "avarnet.yaml", {"epochs": "3", "seeds": "0,1,2", "lr": "1e-3"})
    assert isinstance(cfg, TrainConfig)
    assert (cfg.model, cfg.epochs, cfg.seeds, cfg.lr, cfg.num_stages) == ("avarnet", 3, (0, 1, 2), 0.001, 4)
    for name in ("audio_only", "video_only", "late_fusion"):
        assert resolve_config(ROOT / "baselines" / f"{name}.yaml").model == name
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: avarnet\nepoch: 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'epoch'"):
        resolve_config(bad)
    with pytest.raises(ConfigError, match="device must be one of"):
        resolve_config(None, {"device": "tpu"})
    with pytest.raises(ConfigError, match="epochs must be int"):
        resolve_config(None, {"epochs": "many"})
    with pytest.raises(ConfigError, match="no such config file"):
        resolve_config(tmp_path / "none.yaml")


def test_unknown_model_lists_valid_ones() -> None:
    from vaar.baselines.avarnet import HeadSpec, create_model

    with pytest.raises(ConfigError, match="unknown model 'avarnett'; valid: audio_only, avarnet, late_fusion, video_only"):
        create_model("avarnett", HeadSpec(4, 4, 2))


def test_run_folder_contents(demo_runs: dict[str, Path]) -> None:
    run = demo_runs["avarnet"]
    for f in ("config.yaml", "run.json", "metrics.json", "learning_curve.png", "confusion_matrix.png",
              "seed_0/model.safetensors", "seed_0/history.json"):  # fmt: skip
        assert (run / f).is_file(), f
    cfg = resolve_config(run / "config.yaml")  # the resolved config is loadable as a config
    assert (cfg.audio_backbone, cfg.video_backbone, cfg.segments, cfg.epochs) == (
        "handcrafted-audio", "handcrafted-video", 8, 25)
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["mean"]) >= {"validation_accuracy", "test_accuracy", "test_macro_f1"}
    assert metrics["per_seed"][0]["seed"] == 0
    assert (run / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_writes_the_contract(demo_runs: dict[str, Path], small_dataset: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from vaar.bench.cli import main
    from vaar.core.taxonomy import default_taxonomy

    out = tmp_path / "pred.csv"
    assert main(["predict", "--run", str(demo_runs["late_fusion"]), "--dataset", str(small_dataset),
                 "--split", "test", "--out", str(out)]) == 0  # fmt: skip
    assert "wrote 20 predictions" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    slugs = default_taxonomy().slugs
    assert list(rows[0]) == ["clip_id", "label", *(f"score_{s}" for s in slugs)]
    assert len(rows) == 20 and len({r["clip_id"] for r in rows}) == 20
    for r in rows:
        p = np.array([float(r[f"score_{s}"]) for s in slugs])
        assert abs(p.sum() - 1) < 1e-4 and r["label"] == slugs[int(p.argmax())]


def test_train_reports_clear_errors(small_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaar.bench.cli import main

    assert main(["train", "--dataset", str(small_dataset), "--features", str(tmp_path / "nocache"),
                 "--out", str(tmp_path / "run")]) == 2  # fmt: skip
    assert "run `vaar-bench features` first" in capsys.readouterr().err
    assert main(["predict", "--run", str(tmp_path), "--dataset", str(small_dataset), "--out", "x.csv"]) == 2
    assert "not a training run" in capsys.readouterr().err


def test_demo_fusion_beats_each_modality_by_20_points(demo_runs: dict[str, Path]) -> None:
    """Issue point 6: each modality alone confuses pairs of classes; fusion separates all ten."""
    acc = {k: json.loads((v / "metrics.json").read_text())["mean"]["test_accuracy"] for k, v in demo_runs.items()}
    single = max(acc["audio_only"], acc["video_only"])
    assert acc["avarnet"] >= single + 0.20, acc
    assert acc["late_fusion"] >= single + 0.20, acc


def test_serve_factory_matches_predict(demo_runs: dict[str, Path], small_dataset: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import pyarrow.parquet as pq

    from vaar.baselines.predict import predict_split
    from vaar.baselines.serve import from_run

    run = demo_runs["avarnet"]
    predict_split(run, small_dataset, "test", tmp_path / "p.csv")
    expected = {r["clip_id"]: r for r in csv.DictReader((tmp_path / "p.csv").open())}
    monkeypatch.setenv("VAAR_BASELINE_RUN", str(run))
    model = from_run()
    table = pq.read_table(next((small_dataset / "data").glob("test-*.parquet"))).to_pylist()[:3]

    class Clip:
        def __init__(self, row: dict) -> None:
            self.clip_id, self.video, self.audio = row["clip_id"], row["video"]["bytes"], row["audio"]["bytes"]

    scores = model.predict([Clip(r) for r in table]).numpy()
    assert scores.shape == (3, 10)
    for row, s in zip(table, scores, strict=True):
        want = [float(v) for k, v in expected[row["clip_id"]].items() if k.startswith("score_")]
        assert np.allclose(s, want, atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_train_several_configs_in_one_process(small_dataset: Path, small_features: Path, tmp_path: Path) -> None:
    """Repeated --config trains each model into OUT/<config name>, as a separate call would."""
    from vaar.bench.cli import main

    root = Path(__file__).resolve().parents[2]
    flags = ["--dataset", str(small_dataset), "--features", str(small_features),
             "--epochs", "2", "--batch-size", "8", "--seeds", "0", "--threads", "1"]  # fmt: skip
    cfgs = [str(root / "baselines" / f"{m}.yaml") for m in ("audio_only", "video_only")]
    assert main(["train", "--config", cfgs[0], "--config", cfgs[1], "--out", str(tmp_path / "both"), *flags]) == 0
    assert main(["train", "--config", cfgs[1], "--out", str(tmp_path / "alone"), *flags]) == 0
    for m in ("audio_only", "video_only"):
        assert json.loads((tmp_path / "both" / m / "run.json").read_text())["model"] == m
    together = json.loads((tmp_path / "both" / "video_only" / "metrics.json").read_text())["mean"]
    alone = json.loads((tmp_path / "alone" / "metrics.json").read_text())["mean"]
    assert together == alone


def test_train_rejects_configs_whose_runs_collide(small_dataset: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from vaar.bench.cli import main

    a, b = tmp_path / "a" / "m.yaml", tmp_path / "b" / "m.yaml"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text("model: audio_only\n")
    rc = main(["train", "--config", str(a), "--config", str(b), "--dataset", str(small_dataset),
               "--features", str(tmp_path), "--out", str(tmp_path / "out")])  # fmt: skip
    assert rc != 0
    assert "share a name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
