"""`host freeze`: final submissions ranked on the private part with intervals, the board rendered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from tests.bench.host.hostkit import make_host, write_preds  # noqa: E402
from vaar.bench.host.app import create_app  # noqa: E402
from vaar.bench.host.board import freeze  # noqa: E402
from vaar.bench.host.store import add_team  # noqa: E402
from vaar.bench.host.worker import run_worker  # noqa: E402
from vaar.bench.leaderboard import load_board  # noqa: E402
from vaar.bench.render import CSP as STATIC_CSP  # noqa: E402
from vaar.core.errors import ConfigError  # noqa: E402


def test_freeze_ranks_selected_submissions_on_the_private_part(tmp_path: Path) -> None:
    h = make_host(tmp_path, n=200, resamples=200)
    db = h["root"] / "host.db"
    tokens = {"alpha": add_team(db, "alpha"), "beta": add_team(db, "beta")}
    client = TestClient(create_app(h["root"]))

    def submit(team: str, keep_every: int) -> int:
        labels = [lab if i % keep_every == 0 else "normal" for i, lab in enumerate(h["labels"])]
        data = write_preds(tmp_path / "p.csv", h["ids"], labels).read_bytes()
        r = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {tokens[team]}"},
                        files={"file": ("p.csv", io.BytesIO(data))}, data={"task": "vaar-cls"})
        assert r.status_code == 202
        return int(r.json()["id"])

    a_good, a_bad = submit("alpha", 1), submit("alpha", 5)
    b_mid = submit("beta", 2)
    run_worker(h["root"], once=True)
    r = client.post("/api/v1/selections", headers={"Authorization": f"Bearer {tokens['alpha']}"},
                    content=json.dumps({"task": "vaar-cls", "ids": [a_bad]}))
    assert r.status_code == 200
    pending = submit("beta", 10)  # far below b_mid on any partition (at 3 it overtook b_mid on 1 in 60 secrets)
    with pytest.raises(ConfigError, match="still queued"):
        freeze(h["root"])
    run_worker(h["root"], once=True)
    results = freeze(h["root"])["vaar-cls"]
    by_team = {r["team"]: r for r in results}
    assert by_team["alpha"]["submission"] == a_bad  # its own choice, not its best
    assert by_team["beta"]["submission"] == b_mid  # no choice: its best public submission
    assert [r["team"] for r in results] == ["beta", "alpha"] and results[0]["rank"] == 1
    lo, hi = by_team["beta"]["ci95"]
    assert lo <= by_team["beta"]["score"] <= hi
    assert a_good not in by_team["alpha"]["selected"] and pending
    seen = client.get(f"/api/v1/submissions/{b_mid}", headers={"Authorization": f"Bearer {tokens['beta']}"}).json()
    assert seen["private"]["scores"]["macro_f1"] == by_team["beta"]["score"] and "per_class" not in seen["private"]
    board = load_board(h["root"] / "leaderboard")
    assert not board.skipped and len(board.entries) == 2
    for e in board.entries:
        assert e["dataset"]["private"] and e["per_class"] == {} and e["details"]["host"]["team"] in tokens
        assert e["predictions_sha256"].startswith("hmac-sha256:")
    md = (h["root"] / "leaderboard" / "LEADERBOARD.md").read_text()
    assert "beta (#3)" in md and "alpha (#2)" in md
    page = client.get("/leaderboard")
    assert page.headers["content-security-policy"] == STATIC_CSP and "beta (#3)" in page.text
    api = client.get("/api/v1/leaderboard/vaar-cls").json()
    assert api["frozen"] and api["final"][0]["team"] == "beta"
    r = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {tokens['beta']}"},
                    files={"file": ("p.csv", io.BytesIO(b"clip_id,label\n"))}, data={"task": "vaar-cls"})
    assert r.status_code == 409 and "frozen" in r.json()["error"]
    r = client.post("/api/v1/selections", headers={"Authorization": f"Bearer {tokens['alpha']}"},
                    content=json.dumps({"task": "vaar-cls", "ids": [a_good]}))
    assert r.status_code == 409
