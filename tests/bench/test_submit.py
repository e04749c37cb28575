"""Submissions: dataset folders, --replace, the lock, crash safety, metadata and --model."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import vaar._util.atomic as atomic
from tests.bench.benchdata import SLUGS, make_dataset, make_truth, write_predictions
from vaar.bench.cli import main


def submit(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["submit", *args, "--bootstrap", "50"])
    out, err = capsys.readouterr()
    return rc, out, err


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_submit_writes_entry_and_pages(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    meta = tmp_path / "m.yaml"
    meta.write_text("url: https://example.org/model\nmodalities: [audio, video]\nnotes: tiny\n")
    rc, out, err = submit(capsys, str(small["preds"]), "--name", "My Model v1", "--labels", str(small["labels"]),
                          "--leaderboard", str(board), "--meta", str(meta))
    assert rc == 0, err
    entry = json.loads((board / "entries" / "vaar-cls" / "my-model-v1.json").read_text())
    assert entry["schema"] == "vaar-bench/entry" and entry["schema_version"] == 1
    assert entry["model"] == {"name": "My Model v1", "url": "https://example.org/model", "modalities": ["audio", "video"],
                              "paper": None, "code": None, "notes": "tiny"}
    assert entry["dataset"]["split_sha256"] == hashlib.sha256(small["labels"].read_bytes()).hexdigest()
    assert entry["predictions_sha256"] == hashlib.sha256(small["preds"].read_bytes()).hexdigest()
    assert entry["cost"]["measured"] is False and entry["cost"]["parameters"] is None
    assert entry["n"] == 200 and entry["main_score"] == "macro_f1" and "per_class" in entry
    assert "My Model v1" in (board / "LEADERBOARD.md").read_text()
    assert "My Model v1" in (board / "index.html").read_text()


def test_replace_is_required(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    args = [str(small["preds"]), "--name", "m", "--labels", str(small["labels"]), "--leaderboard", str(board)]
    assert submit(capsys, *args)[0] == 0
    before = snapshot(board)
    rc, _, err = submit(capsys, *args)
    assert rc == 2 and "--replace" in err
    assert snapshot(board) == before
    rc, _, _ = submit(capsys, *args, "--seed", "3", "--replace")
    assert rc == 0
    assert json.loads((board / "entries/vaar-cls/m.json").read_text())["bootstrap"]["seed"] == 3


def test_invalid_submission_leaves_leaderboard_untouched(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    assert submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    before = snapshot(board)
    bad = tmp_path / "bad.csv"
    bad.write_text(small["preds"].read_text().replace("clip00001", "clip00000"))
    rc, _, err = submit(capsys, str(bad), "--name", "b", "--labels", str(small["labels"]), "--leaderboard", str(board))
    assert rc == 2 and "duplicate" in err
    assert snapshot(board) == before


def test_crash_mid_write_keeps_previous_files(small, capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    assert submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]), "--leaderboard", str(board))[0] == 0
    before = snapshot(board)
    real = os.replace
    calls = []

    def crash(src, dst):  # type: ignore[no-untyped-def]
        calls.append(dst)
        if str(dst).endswith("LEADERBOARD.md"):
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash)  # every atomic write renames through it
    with pytest.raises(OSError):
        main(["submit", str(small["preds"]), "--name", "b", "--labels", str(small["labels"]),
              "--leaderboard", str(board), "--bootstrap", "10"])
    after = snapshot(board)
    assert after["LEADERBOARD.md"] == before["LEADERBOARD.md"] and after["index.html"] == before["index.html"]
    assert not list(board.rglob("*.tmp*"))


def test_meta_cannot_self_report_cost(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    meta = tmp_path / "m.yaml"
    meta.write_text("parameters: 12\n")
    rc, _, err = submit(capsys, str(small["preds"]), "--name", "a", "--labels", str(small["labels"]),
                        "--leaderboard", str(tmp_path / "b"), "--meta", str(meta))
    assert rc == 2 and "measured" in err


def test_concurrent_submits_both_land(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    board = tmp_path / "board"
    procs = [
        subprocess.Popen([sys.executable, "-m", "vaar.bench.cli", "submit", str(small["preds"]), "--name", f"model-{i}",
                          "--labels", str(small["labels"]), "--leaderboard", str(board), "--bootstrap", "200"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert sorted(p.name for p in (board / "entries" / "vaar-cls").iterdir()) == [f"model-{i}.json" for i in range(4)]
    md = (board / "LEADERBOARD.md").read_text()
    assert all(f"model-{i}" in md for i in range(4))


def test_dataset_folder(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids, y = make_truth(60)
    root = make_dataset(tmp_path / "ds", ids, y)
    preds = write_predictions(tmp_path / "p.csv", ids, None, [SLUGS[c] for c in y])
    rc = main(["score", str(preds), "--dataset", str(root), "--split", "test", "--json", "--bootstrap", "10"])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert json.loads(out)["split_sha256"] == hashlib.sha256((root / "splits/test.csv").read_bytes()).hexdigest()
    (root / "splits/test.csv").write_text((root / "splits/test.csv").read_text().replace("abuse", "crash", 1))
    rc = main(["score", str(preds), "--dataset", str(root), "--bootstrap", "10"])
    assert rc == 2 and "SHA256SUMS" in capsys.readouterr().err


def test_private_test_labels(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids, y = make_truth(30)
    root = make_dataset(tmp_path / "ds", ids, y, unlabelled=True)
    preds = write_predictions(tmp_path / "p.csv", ids, None, [SLUGS[c] for c in y])
    rc = main(["score", str(preds), "--dataset", str(root), "--bootstrap", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and "--labels" in err and "without labels" in err


MODEL = textwrap.dedent('''
    import numpy as np
    SLUGS = {slugs!r}

    class Model:
        batch_size = 4
        def parameters(self):
            return 1234
        def predict(self, batch):
            out = np.zeros((len(batch), len(SLUGS)))
            for i, clip in enumerate(batch):
                assert clip.video.startswith(b"MP4") and clip.audio.startswith(b"WAV")
                out[i, SLUGS.index(clip.video[4:].decode())] = 1.0
            return out

    def factory():
        return Model()
''')


def test_submit_model(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    ids, y = make_truth(24)
    root = make_dataset(tmp_path / "ds", ids, y)
    (root / "data").mkdir()
    media = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "clip_id": ids,
        "label": pa.array(y, pa.int64()),
        "video": pa.array([{"bytes": b"MP4:" + SLUGS[c].encode(), "path": f"{i}.mp4"} for i, c in zip(ids, y, strict=True)], media),
        "audio": pa.array([{"bytes": b"WAV", "path": f"{i}.wav"} for i in ids], media),
    })
    pq.write_table(table.slice(0, 10), root / "data/test-00000-of-00002.parquet")
    pq.write_table(table.slice(10), root / "data/test-00001-of-00002.parquet")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "toy_model.py").write_text(MODEL.format(slugs=list(SLUGS)))
    monkeypatch.syspath_prepend(str(pkg))
    board = tmp_path / "board"
    rc, out, err = submit(capsys, "--model", "toy_model:factory", "--name", "toy", "--dataset", str(root),
                          "--leaderboard", str(board), "--save-predictions", str(tmp_path / "toy.csv"))
    assert rc == 0, err
    entry = json.loads((board / "entries/vaar-cls/toy.json").read_text())
    assert entry["scores"]["accuracy"] == 1.0 and entry["scores"]["mean_ap"] == 1.0
    cost = entry["cost"]
    assert cost["measured"] is True and cost["parameters"] == 1234 and cost["device"] == "cpu"
    assert cost["latency_ms_per_clip"] > 0 and cost["latency_clips"] == 16
    assert entry["dataset"]["split"] == "test" and entry["dataset"]["version"] == "1.0.0"
    assert (tmp_path / "toy.csv").read_text().startswith("clip_id,label,score_abuse")
    rc, _, err = submit(capsys, "--model", "toy_model:nope", "--name", "t2", "--dataset", str(root), "--leaderboard", str(board))
    assert rc == 2 and "no callable nope" in err
    np.testing.assert_equal(len(list((board / "entries/vaar-cls").iterdir())), 1)
