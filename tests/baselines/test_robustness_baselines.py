"""The robustness track on the trained baselines of the signature dataset (hand-crafted features).

By construction of the sample (each sound and each picture is shared by two classes), blanking the
picture leaves video-only with nothing to go on and audio-only untouched, while AVAR-Net still hears
which sound group a clip belongs to. And a second model on the same backbones computes no feature
again.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaar.bench.cli import main
from vaar.robustness.corruptions import get_corruption
from vaar.robustness.scoring import RunScorer, load_truth, run_robustness


def _sound_group(label: int) -> int:
    from vaar.core.taxonomy import default_taxonomy
    from vaar.curation.build.sample import signature

    return signature(default_taxonomy().slugs[label])[0]


def test_video_only_collapses_and_avarnet_keeps_its_sound_groups(
    demo_runs: dict[str, Path], small_dataset: Path, small_features: Path, tmp_path: Path
) -> None:
    vm = get_corruption("video_missing")
    truth = load_truth(small_dataset, "test")
    y = np.array(truth.labels)
    out = {}
    for name in ("video_only", "avarnet", "audio_only"):
        scorer = RunScorer(demo_runs[name], small_dataset, "test", tmp_path / "cache", tmp_path / "media")
        scorer.prepare([(None, 0), (vm, 5)], 0)
        order = [scorer.clip_ids.index(c) for c in truth.clip_ids]
        out[name] = {k: scorer.scores(c, s, 0)[order].argmax(1) for k, (c, s) in {"clean": (None, 0), "vm": (vm, 5)}.items()}
    # video-only: every clip gets the same answer once the picture is black (chance or below)
    assert len(set(out["video_only"]["vm"].tolist())) == 1
    assert (out["video_only"]["vm"] == y).mean() <= 0.1 < (out["video_only"]["clean"] == y).mean()
    # audio-only: untouched by a video corruption (its features are bit-identical)
    assert np.array_equal(out["audio_only"]["vm"], out["audio_only"]["clean"])
    # AVAR-Net: it still hears the clip's sound group above chance (1 in 5). On the demo sample it keeps
    # all of them (baselines/RESULTS.md); on this smaller fixture (1 s clips, 3 per class) about 40%.
    groups = np.array([_sound_group(int(p)) == _sound_group(int(t)) for p, t in zip(out["avarnet"]["vm"], y, strict=True)])
    assert groups.mean() > 0.2


def test_second_model_on_the_same_backbones_extracts_nothing(
    demo_runs: dict[str, Path], small_dataset: Path, tmp_path: Path
) -> None:
    kw = {"corruptions": ["fog", "noise_white", "av_shift"], "severities": [1, 5], "resamples": 50,
          "cache": tmp_path / "cache"}  # fmt: skip
    first = run_robustness(demo_runs["avarnet"], small_dataset, tmp_path / "a", **kw)  # type: ignore[arg-type]
    assert first.computed == 20 and first.cached == 0
    second = run_robustness(demo_runs["late_fusion"], small_dataset, tmp_path / "b", **kw)  # type: ignore[arg-type]
    assert second.computed == 0 and second.cached == 20
    s = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert set(s["matrix"]) == {"fog", "noise_white", "av_shift"} and s["clips_computed"] == 0
    assert (tmp_path / "b" / "heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fog = json.loads((tmp_path / "b" / "fog.json").read_text())
    assert set(fog["severities"]) == {"1", "5"} and fog["severities"]["5"]["main_score"] == "macro_f1"
    assert s["mcf1"] == pytest.approx(np.mean([v for row in s["matrix"].values() for v in row.values()]))
    assert s["difference"] == pytest.approx(s["mcf1"] - s["clean_macro_f1"])
    assert s["rpc"] == pytest.approx(s["mcf1"] / s["clean_macro_f1"])
    groups = [s["groups"][g] for g in ("video", "audio", "modality")]
    assert s["mcf1_balanced"] == pytest.approx(np.mean(groups))
    assert s["weights"] == pytest.approx({"video": 2 / 6, "audio": 2 / 6, "modality": 2 / 6})
    lo, hi = s["ci95"]
    assert lo <= hi


def test_cli_scores_a_run_and_reports_bad_input(
    demo_runs: dict[str, Path], small_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["robustness", "--run", str(demo_runs["audio_only"]), "--dataset", str(small_dataset),
                 "--corruptions", "noise_white", "--severities", "5", "--bootstrap", "50",
                 "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "mCF1" in out and "clean Macro-F1" in out
    assert main(["robustness", "--run", str(demo_runs["audio_only"]), "--dataset", str(small_dataset),
                 "--corruptions", "fogg", "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "unknown corruption 'fogg'; valid: low_light" in err and "Traceback" not in err
    assert main(["robustness", "--dataset", str(small_dataset), "--out", str(tmp_path / "o")]) == 2
    assert main(["robustness", "--run", str(tmp_path), "--dataset", str(small_dataset), "--out", str(tmp_path / "o")]) == 2
    assert "not a training run" in capsys.readouterr().err
    assert main(["robustness", "--run", str(demo_runs["audio_only"]), "--dataset", str(small_dataset),
                 "--out", str(tmp_path / "o"), "--batch-size", "0"]) == 2  # fmt: skip
    assert "--batch-size must be in [1, 256]" in capsys.readouterr().err


def test_modality_dropout_zeroes_one_modality(small_dataset: Path, small_features: Path, tmp_path: Path) -> None:
    import torch

    from vaar.baselines.config import resolve_config
    from vaar.baselines.train import drop_modality
    from vaar.core.errors import ConfigError

    a, v = torch.ones(400, 4, 3), torch.ones(400, 4, 2)
    a2, v2 = drop_modality(a, v, 0.5, torch.Generator().manual_seed(0))
    a_off, v_off = (a2.sum(dim=(1, 2)) == 0), (v2.sum(dim=(1, 2)) == 0)
    assert not (a_off & v_off).any()  # never both
    assert 0.4 < float((a_off | v_off).float().mean()) < 0.6 and a_off.any() and v_off.any()
    assert drop_modality(a, v, 0.0, torch.Generator())[0] is a
    assert resolve_config(None, {"modality_dropout": "0.3"}).modality_dropout == 0.3
    with pytest.raises(ConfigError, match="modality_dropout must be between 0 and 1"):
        resolve_config(None, {"modality_dropout": "1.5"})


def test_model_submission_robustness_lands_on_the_leaderboard(
    demo_runs: dict[str, Path], small_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The --model path (corrupted media files, the submit hook) on two conditions, then the page."""
    monkeypatch.setenv("VAAR_ROBUSTNESS_CACHE", str(tmp_path / "persistent"))
    from vaar.baselines.serve import from_run
    from vaar.robustness.submit_track import robustness_for_entry

    predict = from_run(str(demo_runs["video_only"])).predict
    block = robustness_for_entry(predict, small_dataset, "test", tmp_path / "lb", "vaar-cls", "video-only",
                                 resamples=50, corruptions=["video_missing", "noise_white"], severities=[5])  # fmt: skip
    assert block["matrix"]["video_missing"]["5"] <= 0.1 < block["clean_macro_f1"]
    assert block["matrix"]["noise_white"]["5"] == pytest.approx(block["clean_macro_f1"])  # audio noise: no effect
    assert (tmp_path / "lb" / "robustness" / "vaar-cls" / "video-only.png").is_file()
    # the run's feature path agrees with the model's media path on the clean score
    res = run_robustness(demo_runs["video_only"], small_dataset, tmp_path / "run", corruptions=["noise_white"],
                         severities=[5], resamples=50, cache=tmp_path / "c")  # fmt: skip
    assert res.summary["clean_macro_f1"] == pytest.approx(block["clean_macro_f1"])
    assert main(["submit", "preds.csv", "--name", "x", "--dataset", str(small_dataset), "--robustness"]) == 2
