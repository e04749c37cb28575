"""Attacker test: collect every response body and header of a full session and search them for
hidden labels, hidden clip ids, the partition, per-class hidden scores and the secret."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from tests.bench.host.hostkit import SLUGS, make_host, write_preds  # noqa: E402
from vaar.bench.host.app import create_app  # noqa: E402
from vaar.bench.host.board import freeze  # noqa: E402
from vaar.bench.host.config import load_config  # noqa: E402
from vaar.bench.host.scoring import _subset, host_truth  # noqa: E402
from vaar.bench.host.store import add_team  # noqa: E402
from vaar.bench.host.worker import run_worker  # noqa: E402
from vaar.bench.tasks import get_task  # noqa: E402


class Recorder:
    def __init__(self, client: TestClient) -> None:
        self.client, self.seen = client, []  # type: ignore[var-annotated]

    def __call__(self, method: str, url: str, **kw: Any) -> Any:
        r = self.client.request(method, url, **kw)
        self.seen.append(f"{method} {url} {r.status_code}\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
                         + "\n" + r.text)
        return r


def _forms(v: float) -> set[str]:
    return {repr(v), f"{v:.4f}", f"{100 * v:.2f}"}


def _per_class_values(h: dict[str, Any], files: list[Path]) -> set[str]:
    """Every per-class hidden score of every submitted file, as the strings a leak would hold.

    A value that equals one of the file's *overall* scores on either part is left out: those are
    released by design (the public part through the Ladder, the private part at the freeze), and a
    per-class score can coincide with one (an accuracy of 12/144 beside a class's F1 of 1/12)."""
    paths, cfg = load_config(h["root"])
    truth = host_truth(paths, cfg)
    task = get_task("vaar-cls")
    out: set[str] = set()
    released: set[str] = set()
    for f in files:
        preds = task.read_predictions(f, truth.full)
        for idx, part in ((truth.public_index, truth.public), (truth.private_index, truth.private)):
            rep = task.score(_subset(preds, idx), part, resamples=0)
            for v in rep.scores.values():
                if isinstance(v, float):
                    released |= _forms(v)
            for scores in rep.per_class.values():
                for k, v in scores.items():
                    if k != "support" and isinstance(v, float) and 0.0 < v < 1.0:
                        out |= _forms(v)
    return out - released


def test_no_hidden_byte_in_any_response(tmp_path: Path) -> None:
    h = make_host(tmp_path, n=200, resamples=20, secret_text="a fixed secret: the same partition on every run " * 2)
    token = add_team(h["root"] / "host.db", "mallory")
    rec = Recorder(TestClient(create_app(h["root"])))
    auth = {"Authorization": f"Bearer {token}"}
    rng = np.random.default_rng(7)
    files = [write_preds(tmp_path / "good.csv", h["ids"], h["labels"]),
             write_preds(tmp_path / "rand.csv", h["ids"], [SLUGS[k] for k in rng.integers(0, 10, len(h["ids"]))])]
    bad = write_preds(tmp_path / "bad.csv", ["zz-not-a-clip", *h["ids"][1:]], ["nope", *h["labels"][1:]])
    ids = []
    for f in [*files, bad]:
        r = rec("POST", "/api/v1/submissions", headers=auth, files={"file": (f.name, io.BytesIO(f.read_bytes()))},
                data={"task": "vaar-cls"})
        if r.status_code == 202:
            ids.append(r.json()["id"])
    assert len(ids) == 2
    run_worker(h["root"], once=True)
    for i in ids:
        rec("GET", f"/api/v1/submissions/{i}", headers=auth)
        rec("GET", f"/api/v1/submissions/{i}/log", headers=auth)
    rec("GET", "/api/v1/submissions", headers=auth)
    rec("GET", "/api/v1/leaderboard/vaar-cls")
    rec("GET", "/api/v1/leaderboard/vaar-binary")
    rec("POST", "/api/v1/selections", headers=auth, content=json.dumps({"task": "vaar-cls", "ids": ids}))
    page = rec("GET", "/")  # the browser side: login, page, upload (bad and good), log, board
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    rec("POST", "/login", data={"token": token, "csrf": csrf}, follow_redirects=True)
    home = rec("GET", "/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)  # type: ignore[union-attr]
    rec("POST", "/submit", data={"csrf": csrf, "task": "vaar-cls"},
        files={"file": ("bad.csv", io.BytesIO(bad.read_bytes()))})
    rec("GET", f"/submissions/{ids[0]}/log")
    rec("GET", "/leaderboard")
    freeze(h["root"])
    rec("GET", "/leaderboard")
    rec("GET", "/api/v1/leaderboard/vaar-cls")
    rec("GET", f"/api/v1/submissions/{ids[1]}", headers=auth)
    text = "\n".join(rec.seen)
    assert "zz-not-a-clip" in text  # the submitter's own bad row is echoed: the search does see messages
    leaks = [c for c in h["ids"] if c in text]
    assert not leaks, f"hidden clip ids in responses: {leaks[:3]}"
    assert h["secret"].read_text().strip() not in text
    values = _per_class_values(h, files)
    found = sorted(v for v in values if len(v) >= 5 and re.search(rf"(?<![0-9.]){re.escape(v)}(?![0-9.])", text))
    assert not found, f"per-class hidden scores in responses: {found[:5]}"
    assert '"support"' not in text and '"per_class": {"' not in text and '"precision":' not in text
    labels_bytes = h["labels_file"].read_text()
    assert labels_bytes[:200] not in text
