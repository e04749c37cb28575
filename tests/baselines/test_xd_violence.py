from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vaar.baselines.xd_violence import parse_codes, read_layout, resample, top_k
from vaar.core.errors import ConfigError, ManifestError


@pytest.mark.parametrize(
    ("stem", "codes"),
    [
        ("A.Beautiful.Mind.2001__#00-01-45_00-02-50_label_A", ("A",)),
        ("Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6", ("G", "B2", "B6")),
        ("v=8cTqh9tMz_I__#1_label_B1-0-0", ("B1",)),
        ("v=abc__#00-00-00_00-01-00_label_B4-B5-0", ("B4", "B5")),
    ],
)
def test_release_names(stem: str, codes: tuple[str, ...]) -> None:
    assert parse_codes(stem) == codes


@pytest.mark.parametrize("stem", ["movie_label_B3", "movie_label_A-B1", "movie.mp4", "x_label_B1-B2-B4-B5"])
def test_bad_names(stem: str) -> None:
    with pytest.raises(ManifestError):
        parse_codes(stem)


def test_resample_and_top_k() -> None:
    import torch

    x = torch.arange(10.0)[:, None]
    assert resample(x, 5)[:, 0].tolist() == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert resample(torch.ones(2, 3), 4).shape == (4, 3)
    assert (top_k(32), top_k(8)) == (3, 1)


def _video(path: Path, violent_ranges: list[tuple[int, int]], frames: int = 64, fps: int = 16) -> None:
    """Grey video with a quiet hum; inside the ranges: red picture and a loud 2 kHz tone."""
    on_v = "+".join(f"between(n,{a},{b})" for a, b in violent_ranges) or "0"
    on_a = "+".join(f"between(t,{a / fps:.3f},{b / fps:.3f})" for a, b in violent_ranges) or "0"
    secs = frames / fps
    subprocess.run([
        "ffmpeg", "-nostdin", "-v", "error", "-y",
        "-f", "lavfi", "-i", f"color=c=gray:s=64x48:r={fps}:d={secs},"
        f"drawbox=x=0:y=0:w=iw:h=ih:color=red:t=fill:enable='{on_v}'",
        "-f", "lavfi", "-i", f"aevalsrc='0.05*sin(2*PI*200*t)+0.5*({on_a})*sin(2*PI*2000*t)':s=16000:d={secs}",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "16", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-shortest", str(path),
    ], check=True, capture_output=True)  # fmt: skip


@pytest.fixture(scope="module")
def xd_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xd")
    (root / "train").mkdir()
    (root / "test").mkdir()
    for i in range(3):
        _video(root / "train" / f"v=normal{i}__#1_label_A.mp4", [])
        _video(root / "train" / f"Movie.{i}.2001__#00-00-0{i}_00-00-1{i}_label_B1-B2-0.mp4", [(16 + 8 * i, 40 + 8 * i)])
    _video(root / "test" / "v=t0__#1_label_A.mp4", [])
    _video(root / "test" / "Film.2010__#00-01-00_00-01-04_label_G-0-0.mp4", [(32, 63)])
    _video(root / "test" / "v=t2__#1_label_B6-B4-B5.mp4", [(0, 15)])
    (root / "annotations.txt").write_text(
        "Film.2010__#00-01-00_00-01-04_label_G-0-0 32 63\nv=t2__#1_label_B6-B4-B5 0 15\n"
    )
    return root


def test_layout_reader(xd_root: Path, tmp_path: Path) -> None:
    layout = read_layout(xd_root)
    assert len(layout.train) == 6 and len(layout.test) == 3
    assert sum(v.violent for v in layout.train) == 3
    with pytest.raises(ConfigError, match="annotations.txt"):
        read_layout(tmp_path)


def test_train_xd_end_to_end(xd_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaar.bench.cli import main

    run = tmp_path / "run"
    args = ["train-xd", "--root", str(xd_root), "--features", str(tmp_path / "cache"), "--out", str(run),
            "--audio-backbone", "handcrafted-audio", "--video-backbone", "handcrafted-video",
            "--segments", "4", "--epochs", "30", "--batch-size", "6", "--lr", "0.003", "--seeds", "0",
            "--num-layers", "3", "--num-stages", "2", "--val-fraction", "0"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "XD-Violence avarnet" in out
    lines = [json.loads(x) for x in (run / "scores.jsonl").read_text().splitlines()]
    assert {x["video"] for x in lines} == {v.name for v in read_layout(xd_root).test}
    assert all(len(x["scores"]) == 3 for x in lines)  # 64 frames: (64 - 1) // 16 = 3 whole snippets
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["mean_ap"] > 0.6, metrics  # chance is about 0.3 (violent frames of 144)
    assert metrics["selection"]["rule"].startswith("first seed of the config")  # no validation asked
    # the official scorer reads the same file
    from vaar.bench.truth import load_xd_annotations
    from vaar.bench.xd_task import read_video_scores

    vs = read_video_scores(run / "scores.jsonl", load_xd_annotations(xd_root / "annotations.txt"))
    assert len(vs.videos) == 3 and np.all((vs.scores[0] >= 0) & (vs.scores[0] <= 1))
    # second run: features all cached
    assert main(args) == 0
    assert "0 computed, 6 cached" in capsys.readouterr().out


def test_seed_selection_never_reads_test_labels(xd_root: Path, tmp_path: Path) -> None:
    """Issue 10 item 12: train-xd chose the seed by test AP. Now it chooses on a validation split
    held out from train: permuting the test annotations leaves the choice unchanged."""
    import shutil

    from vaar.bench.cli import main

    permuted = tmp_path / "xd_permuted"
    shutil.copytree(xd_root, permuted)
    (permuted / "annotations.txt").write_text(  # the ranges moved to other test videos
        "Film.2010__#00-01-00_00-01-04_label_G-0-0 0 15\nv=t2__#1_label_B6-B4-B5 32 63\n")
    cache = tmp_path / "cache"
    selections = []
    for i, root in enumerate((xd_root, permuted)):
        run = tmp_path / f"run{i}"
        args = ["train-xd", "--root", str(root), "--features", str(cache), "--out", str(run),
                "--audio-backbone", "handcrafted-audio", "--video-backbone", "handcrafted-video",
                "--segments", "4", "--epochs", "8", "--batch-size", "6", "--lr", "0.003", "--seeds", "0,1,2",
                "--num-layers", "2", "--num-stages", "1"]  # fmt: skip
        assert main(args) == 0
        sel = json.loads((run / "selection.json").read_text())
        assert json.loads((run / "metrics.json").read_text())["selection"] == sel
        selections.append(sel)
        test_aps = [r["ap"] for r in json.loads((run / "metrics.json").read_text())["per_seed"]]
        assert len(test_aps) == 3  # test AP is reported per seed, never used to choose
    assert selections[0] == selections[1]
    sel = selections[0]
    assert sel["rule"].startswith("best video-level validation AP") and sel["epoch"] == 8
    assert len(sel["validation_videos"]) == 2 and sel["seed"] in (0, 1, 2)
    assert not any(v in sel["validation_videos"] for v in (x.name for x in read_layout(xd_root).test))


def test_xd_frames_writes_the_host_frame_counts(xd_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vaar.bench.cli import main
    from vaar.bench.truth import xd_snippet_count

    out = tmp_path / "frames.csv"
    assert main(["xd-frames", "--root", str(xd_root), "--out", str(out)]) == 1  # not the official test set
    rows = out.read_text().splitlines()
    assert rows[0] == "video,frames" and len(rows) == 4
    assert all(r.endswith(",64") for r in rows[1:]) and xd_snippet_count(64) == 3
    assert "800 official test video(s) not in" in capsys.readouterr().out  # fixture names are not official
