"""``vaar-bench init-model`` and ``--model`` from the current folder: the researcher's first submission.

The template is written by the real command, then submitted by a process started the way the
``vaar-bench`` console script is (its ``sys.path[0]`` is the script's folder, not the current one),
from the template's folder, over a published-style dataset of real MP4 clips made by ffmpeg.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.benchdata import write_labels
from tests.fixtures.datasets import signature_dataset
from vaar.bench.cli import main

ROOT = Path(__file__).resolve().parents[2]


def vaar_bench(cwd: Path, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """Run ``vaar-bench`` as its console script would: from a script file in another folder."""
    script = tmp / "bin" / "vaar-bench"
    script.parent.mkdir(exist_ok=True)
    script.write_text("import sys\nfrom vaar.bench.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten real 1 s clips (one a class) in published shards, with the split file `vaar build` writes."""
    import hashlib

    import numpy as np
    import pyarrow.parquet as pq

    root = signature_dataset(tmp_path_factory.mktemp("ds") / "sample", {"test": 1}, seconds=1.0)
    t = pq.read_table(root / "data/test-00000-of-00001.parquet", columns=["clip_id", "label"]).to_pydict()
    (root / "splits").mkdir()
    path = write_labels(root / "splits/test.csv", t["clip_id"], np.array(t["label"]))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (root / "splits/SHA256SUMS").write_text(f"{digest}  test.csv\n", encoding="utf-8")
    return root


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder other users may read: the model runs as its own user where the machine allows it,
    and pytest's own temporary folders are private to root."""
    path = Path(tempfile.mkdtemp(prefix="vaar-init-model-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_init_model_writes_a_template_that_submits_from_its_folder(dataset: Path, tmp_path: Path,
                                                                     public_dir: Path) -> None:
    folder = public_dir / "my model"
    assert main(["init-model", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == ["SUBMIT.md", "model.yaml", "mymodel.py"]
    board = tmp_path / "board"
    proc = vaar_bench(folder, "submit", "--model", "mymodel:factory", "--name", "template", "--meta", "model.yaml",
                      "--dataset", str(dataset), "--split", "test", "--leaderboard", str(board),
                      "--bootstrap", "20", "--latency-clips", "2", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((board / "entries/vaar-cls/template.json").read_text())
    assert entry["n"] == 10
    # the latency covers every scored request (issue 19): all 10 clips, the first 2 sent one at a time
    assert entry["cost"]["measured"] is True and entry["cost"]["latency_clips"] == 10
    assert entry["cost"]["measurement"]
    assert entry["model"]["modalities"] == ["audio", "video"]


def test_template_decodes_the_clip_files(dataset: Path, tmp_path: Path) -> None:
    """The template's features come from decoding the paths it is given (not constant)."""
    assert main(["init-model", str(tmp_path / "m")]) == 0
    sys.path.insert(0, str(tmp_path / "m"))
    try:
        import mymodel  # type: ignore[import-not-found]

        from vaar.bench.sandbox import _to_files, iter_media

        batch = next(iter_media(dataset, "test", 10))
        files = _to_files(batch, tmp_path)
        clips = [type(c)(c.clip_id, c.video, c.audio, f["video"], f["audio"], f["video_path"], f["audio_path"])
                 for c, f in zip(batch, files, strict=True)]
        decoded = mymodel.decode_batch(clips)  # one ffmpeg process for the batch
        assert all(len(w) >= 15_000 and f.shape[1:] == (8, 8, 3) and len(f) >= 1 for w, f in decoded)
        feats = [mymodel.features(w, f) for w, f in decoded]
        assert all(f[8:11].sum() > 0 and f[:8].sum() > 0 for f in feats)  # colour and audio bands decoded
        assert len({round(float(f[:8].sum()), 3) for f in feats}) > 1  # clips differ
        assert mymodel.factory().predict(clips).shape == (10, 10)
    finally:
        sys.path.remove(str(tmp_path / "m"))
        sys.modules.pop("mymodel", None)


def test_init_model_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "mymodel.py").write_text("mine\n")
    assert main(["init-model", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already has mymodel.py" in err[0]
    assert (folder / "mymodel.py").read_text() == "mine\n" and not (folder / "model.yaml").exists()


def test_missing_module_says_where_it_was_looked_up(dataset: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = vaar_bench(elsewhere, "submit", "--model", "mymodel:factory", "--name", "x", "--dataset", str(dataset),
                      "--leaderboard", str(tmp_path / "board"), tmp=tmp_path)
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "No module named 'mymodel'" in lines[0] and str(elsewhere) in lines[0] and "cd to the folder" in lines[0]


def test_temporary_media_names_take_only_a_known_suffix() -> None:
    from vaar.bench.sandbox import _suffix

    assert _suffix("clip.MP4", ".mp4") == ".mp4" and _suffix("a.flac", ".bin") == ".flac"
    for hostile in ("../../x.sh", "x.mp4/../../y", "a.py", "a.mp4\x00.sh", None, ""):
        assert _suffix(hostile, ".mp4") == ".mp4"
