"""``submit --model``: the model runs in its own process, without the labels, under limits.

Each model below is a real module written to disk and imported by the model's process; the
attackers are what a submitter could send.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.benchdata import SLUGS, make_dataset, make_truth, write_labels
from vaar.bench.cli import main

HONEST = '''
import numpy as np
SLUGS = {slugs!r}

class Model:
    batch_size = 4
    def parameters(self):          # self-reported: must be ignored
        return 1234
    def predict(self, batch):
        out = np.zeros((len(batch), len(SLUGS)))
        for i, clip in enumerate(batch):
            assert clip.video.startswith(b"MP4") and clip.audio.startswith(b"WAV")
            with open(clip.video_path, "rb") as f:      # an openable path, with the stored suffix
                assert f.read() == clip.video and clip.video_path.endswith(".mp4")
            assert clip.audio_path.endswith(".wav") and clip.video_name == clip.clip_id + ".mp4"
            print("a model may print; it must not break the protocol")
            out[i, SLUGS.index(clip.video[4:].decode())] = 1.0
        return out

def factory():
    return Model()
'''

# walks the scorer's frames and every object of its process for a LabelSet (clip_ids + labels)
THIEF = '''
import gc, sys
import numpy as np
SLUGS = {slugs!r}

def steal():
    f = sys._getframe(1)
    while f is not None:
        for v in list(f.f_locals.values()):
            if hasattr(v, "clip_ids") and hasattr(v, "labels"):
                return v
        f = f.f_back
    for o in gc.get_objects():
        try:
            if not isinstance(o, type) and hasattr(o, "clip_ids") and hasattr(o, "labels"):
                return o
        except Exception:
            pass
    return None

class Model:
    def predict(self, batch):
        import os
        if any("SECRET" in k for k in os.environ):
            raise RuntimeError("saw the host's secret")
        truth = steal()
        out = np.zeros((len(batch), len(SLUGS)))
        if truth is None:
            out[:, 0] = 1.0
            return out
        index = dict(zip(truth.clip_ids, truth.labels))
        for i, clip in enumerate(batch):
            out[i, int(index[clip.clip_id])] = 1.0
        return out

def factory():
    return Model()
'''

TORCH = '''
import torch
SLUGS = {slugs!r}

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, len(SLUGS))       # 8*10 + 10 = 90 parameters
    def parameters(self, recurse=True):                 # lies: "no parameters"
        return iter(())
    def num_parameters(self):
        return 1
    def predict(self, batch):
        return self.fc(torch.zeros(len(batch), 8))

def factory():
    return Net()
'''

SLEEPER = '''
import time
class Model:
    def predict(self, batch):
        while True:
            time.sleep(3600)

def factory():
    return Model()
'''

HOG = '''
class Model:
    def predict(self, batch):
        self.blocks = [bytearray(256 << 20) for _ in range(64)]   # 16 GB
        return [[0.0] * 10 for _ in batch]

def factory():
    return Model()
'''


def media_dataset(tmp_path: Path, n: int = 24, *, labelled: bool = True, encode_label: bool = True) -> tuple[Path, list[str], object]:
    """A published dataset folder with two Parquet shards of (fake) media and a label column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids, y = make_truth(n)
    root = make_dataset(tmp_path / "ds", ids, y, unlabelled=not labelled)
    (root / "data").mkdir()
    media = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    video = [b"MP4:" + (SLUGS[c].encode() if encode_label else b"x") for c in y]
    table = pa.table({
        "clip_id": ids,
        "label": pa.array(y if labelled else [-1] * n, pa.int64()),
        "video": pa.array([{"bytes": v, "path": f"{i}.mp4"} for i, v in zip(ids, video, strict=True)], media),
        "audio": pa.array([{"bytes": b"WAV", "path": f"{i}.wav"} for i in ids], media),
    })
    pq.write_table(table.slice(0, 10), root / "data/test-00000-of-00002.parquet")
    pq.write_table(table.slice(10), root / "data/test-00001-of-00002.parquet")
    return root, ids, y


def model_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str) -> None:
    """The model's code in a folder other users may read (the model runs as its own user; the
    labels stay in ``tmp_path``, which only the scorer's user can open)."""
    pkg = code_dir(monkeypatch)
    (pkg / f"{name}.py").write_text(textwrap.dedent(source).format(slugs=list(SLUGS)))
    monkeypatch.syspath_prepend(str(pkg))


_CODE: list[Path] = []


@pytest.fixture(autouse=True)
def _public_code_dir() -> Iterator[None]:
    """A world-readable folder for this test's model code (the model runs as its own user), removed after."""
    path = Path(tempfile.mkdtemp(prefix="vaar-model-code-"))
    path.chmod(0o755)
    _CODE.append(path)
    yield
    _CODE.remove(path)
    shutil.rmtree(path, ignore_errors=True)


def code_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    return _CODE[-1]


def submit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["submit", *args, "--bootstrap", "20"])
    out, err = capsys.readouterr()
    return rc, out, err


def test_honest_model_scored_cost_measured_not_reported(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = media_dataset(tmp_path)
    model_module(tmp_path, monkeypatch, "toy_model", HONEST)
    board = tmp_path / "board"
    rc, out, err = submit(capsys, "--model", "toy_model:factory", "--name", "toy", "--dataset", str(root),
                          "--leaderboard", str(board), "--save-predictions", str(tmp_path / "toy.csv"))
    assert rc == 0, err
    entry = json.loads((board / "entries/vaar-cls/toy.json").read_text())
    assert entry["scores"]["accuracy"] == 1.0 and entry["scores"]["mean_ap"] == 1.0
    cost = entry["cost"]
    assert cost["measured"] is True and cost["device"] == "cpu"
    assert cost["parameters"] is None  # its own parameters() said 1234: ignored, no torch module: not measured
    assert "not measured" in out
    assert cost["latency_ms_per_clip"] > 0 and cost["latency_clips"] == 24  # every scored clip is timed
    record = cost["measurement"]
    assert record["single_clip_requests"] == 16 and record["batch_size"] == 4 and record["requests"] == 16 + 3  # shards of 10 and 14 clips
    assert set(record["sandbox"]) == {"user", "processes", "memory", "network"}
    assert entry["dataset"]["split"] == "test" and entry["dataset"]["version"] == "1.0.0"
    assert (tmp_path / "toy.csv").read_text().startswith("clip_id,label,score_abuse")
    rc, _, err = submit(capsys, "--model", "toy_model:nope", "--name", "t2", "--dataset", str(root), "--leaderboard", str(board))
    assert rc == 2 and "no callable nope" in err and len(err.strip().splitlines()) == 1
    assert len(list((board / "entries/vaar-cls").iterdir())) == 1


def test_model_cannot_find_the_labels(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, _, y = media_dataset(tmp_path, encode_label=False)
    model_module(tmp_path, monkeypatch, "thief", THIEF)
    monkeypatch.setenv("VAAR_SPLIT_SECRET", "host-only")  # not passed to the model's process
    board = tmp_path / "board"
    rc, _, err = submit(capsys, "--model", "thief:factory", "--name", "thief", "--dataset", str(root),
                        "--leaderboard", str(board))
    assert rc == 0, err
    entry = json.loads((board / "entries/vaar-cls/thief.json").read_text())
    assert entry["scores"]["accuracy"] < 0.5  # it found nothing and predicted class 0 everywhere
    assert entry["scores"]["accuracy"] == pytest.approx(float((y == 0).mean()))


def test_parameters_counted_from_torch_modules(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = media_dataset(tmp_path, n=12)
    model_module(tmp_path, monkeypatch, "torch_model", TORCH)
    board = tmp_path / "board"
    rc, _, err = submit(capsys, "--model", "torch_model:factory", "--name", "net", "--dataset", str(root),
                        "--leaderboard", str(board), "--latency-clips", "2")
    assert rc == 0, err
    cost = json.loads((board / "entries/vaar-cls/net.json").read_text())["cost"]
    assert cost["parameters"] == 90 and cost["latency_clips"] == 12 and cost["measurement"]["single_clip_requests"] == 2


def test_model_that_never_returns_is_killed(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = media_dataset(tmp_path, n=12)
    model_module(tmp_path, monkeypatch, "sleeper", SLEEPER)
    board = tmp_path / "board"
    rc, out, err = submit(capsys, "--model", "sleeper:factory", "--name", "zz", "--dataset", str(root),
                          "--leaderboard", str(board), "--model-timeout", "3")
    lines = [x for x in err.splitlines() if "predicted" not in x and x.strip()]
    assert rc == 2 and lines == ["vaar-bench submit: error: --model sleeper:factory: still running after 3 s; "
                                 "killed (raise --model-timeout if the model is just slow)"]
    assert not (board / "entries").exists()


def test_memory_hog_is_stopped(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = media_dataset(tmp_path, n=12)
    model_module(tmp_path, monkeypatch, "hog", HOG)
    rc, _, err = submit(capsys, "--model", "hog:factory", "--name", "hog", "--dataset", str(root),
                        "--leaderboard", str(tmp_path / "board"), "--model-memory-mb", "1024")
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1 and "memory" in lines[0] and "1024 MB" in lines[0], err


def test_model_with_private_labels(capsys, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    root, ids, y = media_dataset(tmp_path, labelled=False)
    labels = write_labels(tmp_path / "host" / "private.csv" if (tmp_path / "host").mkdir() is None else tmp_path, ids, y)
    model_module(tmp_path, monkeypatch, "toy_model", HONEST)
    board = tmp_path / "board"
    rc, out, err = submit(capsys, "--model", "toy_model:factory", "--name", "toy", "--dataset", str(root),
                          "--labels", str(labels), "--leaderboard", str(board))
    assert rc == 0, err
    entry = json.loads((board / "entries/vaar-cls/toy.json").read_text())
    assert entry["scores"]["accuracy"] == 1.0
    assert entry["dataset"]["private"] is True and entry["per_class"] == {}  # no per-class detail leaves the host
