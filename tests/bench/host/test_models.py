"""Model submissions (``kind=model``): the module runs in vaar.bench.sandbox over the dataset's
media, never given the labels; its predictions are scored like an uploaded file."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from tests.bench.benchdata import SLUGS, write_labels  # noqa: E402
from tests.bench.test_sandbox import HONEST, THIEF, media_dataset  # noqa: E402
from tests.bench.test_sandbox_contain import needs_user  # noqa: E402
from vaar.bench.host.app import create_app  # noqa: E402
from vaar.bench.host.config import HostConfig, init_host  # noqa: E402
from vaar.bench.host.store import add_team  # noqa: E402
from vaar.bench.host.worker import run_worker  # noqa: E402

RAISES = '''
def factory():
    raise RuntimeError("weights not found")
'''

# what a submitter who learnt HOSTDIR (the worker's command line in /proc names it) would try
READS_LABELS = '''
import numpy as np
SLUGS = {slugs!r}
PATH = {path!r}

class Model:
    def __init__(self):
        rows = open(PATH).read().splitlines()[1:]
        self.truth = {{r.split(",")[0]: SLUGS.index(r.split(",")[1]) for r in rows}}
    def predict(self, batch):
        out = np.zeros((len(batch), len(SLUGS)))
        for i, clip in enumerate(batch):
            out[i, self.truth[clip.clip_id]] = 1.0
        return out

def factory():
    return Model()
'''


def _host(tmp_path: Path, models: bool = True) -> dict[str, Any]:
    ds, ids, y = media_dataset(tmp_path, n=40, labelled=False, encode_label=True)
    labels = write_labels(tmp_path / "private.csv", ids, y)
    (tmp_path / "secret").write_text("m" * 32)
    root = tmp_path / "host"
    init_host(root, labels=labels, secret_file=tmp_path / "secret", dataset=ds,
              cfg=HostConfig(dataset=None, models=models, resamples=20, lease_s=30, model_timeout_s=120,
                             model_memory_mb=4096))
    token = add_team(root / "host.db", "modellers")
    return {"root": root, "client": TestClient(create_app(root)), "auth": {"Authorization": f"Bearer {token}"}}


def _post(h: dict[str, Any], source: str, factory: str = "factory") -> Any:
    text = textwrap.dedent(source).format(slugs=list(SLUGS), path=str(h["root"] / "private" / "labels.csv"))
    return h["client"].post("/api/v1/submissions", headers=h["auth"], files={"file": ("model.py", io.BytesIO(text.encode()))},
                            data={"task": "vaar-cls", "kind": "model", "factory": factory})


def _scored(h: dict[str, Any], sid: int) -> dict[str, Any]:
    run_worker(h["root"], once=True)
    out: dict[str, Any] = h["client"].get(f"/api/v1/submissions/{sid}", headers=h["auth"]).json()
    return out


def test_model_runs_in_the_sandbox_and_is_scored(tmp_path: Path) -> None:
    h = _host(tmp_path)
    r = _post(h, HONEST)
    assert r.status_code == 202, r.text
    body = _scored(h, r.json()["id"])
    assert body["status"] == "scored" and body["released"] == {"macro_f1": 1.0}, body
    cost = body["provenance"]["cost"]
    assert cost["latency_ms_per_clip"] > 0 and cost["device"] == "cpu" and body["provenance"]["factory"] == "factory"
    thief = _scored(h, _post(h, THIEF).json()["id"])  # walks frames and gc for a LabelSet: finds none
    assert thief["status"] == "scored" and thief["improved"] is False


def test_model_refusals_and_failures_are_free(tmp_path: Path) -> None:
    h = _host(tmp_path)
    r = _post(h, "def factory(:\n")
    assert r.status_code == 422 and "not a UTF-8 Python module (SyntaxError at line 1)" in r.json()["error"]
    r = _post(h, HONEST, factory="make")
    assert r.status_code == 422 and "defines no make" in r.json()["error"]
    body = _scored(h, _post(h, RAISES).json()["id"])
    assert body["status"] == "failed" and "RuntimeError" in body["message"]
    off = _host(tmp_path / "off", models=False)
    r = _post(off, HONEST)
    assert r.status_code == 422 and "does not accept model submissions" in r.json()["error"]


@needs_user  # without root the model runs as the host's user (recorded "same user"): models stay off then
def test_model_cannot_read_the_hidden_labels_file(tmp_path: Path) -> None:
    h = _host(tmp_path)
    body = _scored(h, _post(h, READS_LABELS).json()["id"])
    assert body["status"] == "failed" or body["released"] != {"macro_f1": 1.0}
