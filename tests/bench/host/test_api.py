"""The API through Starlette's test client, with the worker run in-process on the real store."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from tests.bench.host.hostkit import make_host, write_preds  # noqa: E402
from vaar.bench.host.app import create_app  # noqa: E402
from vaar.bench.host.config import load_config  # noqa: E402
from vaar.bench.host.store import add_team, opened  # noqa: E402
from vaar.bench.host.worker import run_worker  # noqa: E402


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Any]:
    h = make_host(tmp_path, n=120, daily_quota=3, total_quota=5, max_mb=2.0)
    paths, _ = load_config(h["root"])
    h["token"] = add_team(paths.db, "alpha")
    h["token_b"] = add_team(paths.db, "beta")
    h["client"] = TestClient(create_app(h["root"]))
    return h


def post(h: dict[str, Any], data: bytes, token: str | None = None, task: str = "vaar-cls",
         name: str = "preds.csv") -> Any:
    return h["client"].post("/api/v1/submissions", headers={"Authorization": f"Bearer {token or h['token']}"},
                            files={"file": (name, io.BytesIO(data))}, data={"task": task})


def good(h: dict[str, Any], tmp: Path, labels: list[str] | None = None) -> bytes:
    return write_preds(tmp / "p.csv", h["ids"], labels or h["labels"]).read_bytes()


def test_submit_score_and_release(host: dict[str, Any], tmp_path: Path) -> None:
    r = post(host, good(host, tmp_path))
    assert r.status_code == 202, r.text
    sid = r.json()["id"]
    got = host["client"].get(f"/api/v1/submissions/{sid}", headers={"Authorization": f"Bearer {host['token']}"})
    assert got.json()["status"] == "queued" and got.json()["released"] is None
    summary = run_worker(host["root"], once=True)
    assert summary.scored == 1 and summary.ids == [sid]
    body = host["client"].get(f"/api/v1/submissions/{sid}", headers={"Authorization": f"Bearer {host['token']}"}).json()
    assert body["status"] == "scored" and body["released"] == {"macro_f1": 1.0}, body
    assert body["private"] is None  # nothing of the private part before the freeze
    assert body["provenance"]["predictions_hmac_sha256"].startswith("hmac-sha256:")
    assert body["provenance"]["vaar_version"] and body["provenance"]["python"]
    assert body["provenance"]["split_identity"].startswith("hmac-sha256:")  # the card's, not a plain sha256
    log = host["client"].get(f"/api/v1/submissions/{sid}/log", headers={"Authorization": f"Bearer {host['token']}"})
    assert "scored" in log.text
    board = host["client"].get("/api/v1/leaderboard/vaar-cls").json()
    assert board["public"][0]["team"] == "alpha" and board["public"][0]["macro_f1"] == 1.0


def test_malformed_is_422_with_rows_and_free(host: dict[str, Any], tmp_path: Path) -> None:
    bad = write_preds(tmp_path / "bad.csv", host["ids"][:-1], host["labels"][:-1],
                      extra=[f"{host['ids'][0]},no_such_class"]).read_bytes()
    for _ in range(4):  # more than the daily quota of 3: refusals are free
        r = post(host, bad, name="mine.csv")
        assert r.status_code == 422
        msg = r.json()["error"]
        assert msg.startswith("mine.csv:") and "\n" not in msg and str(host["root"]) not in msg
    assert post(host, good(host, tmp_path)).status_code == 202


def test_auth_quota_size_and_isolation(host: dict[str, Any], tmp_path: Path) -> None:
    data = good(host, tmp_path)
    assert post(host, data, token="wrong").status_code == 401
    assert host["client"].post("/api/v1/submissions", files={"file": ("p.csv", io.BytesIO(data))}).status_code == 401
    codes = [post(host, data).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    assert "quota" in post(host, data).json()["error"]
    # beta cannot see alpha's submission (404, as a missing one)
    r = host["client"].get("/api/v1/submissions/1", headers={"Authorization": f"Bearer {host['token_b']}"})
    assert r.status_code == 404
    huge = b"clip_id,label\n" + b"x" * (3 * 1024 * 1024)
    r = post(host, huge, token=host["token_b"])
    assert r.status_code == 413 and "MB" in r.json()["error"]
    assert post(host, data, token=host["token_b"], task="xd-violence").status_code == 422


def test_failed_scoring_is_free_and_logged(host: dict[str, Any], tmp_path: Path) -> None:
    """A file that passes at upload but is gone at scoring fails with its log; it costs no quota."""
    r = post(host, good(host, tmp_path))
    sid = r.json()["id"]
    paths, _ = load_config(host["root"])
    with opened(paths.db) as conn:
        name = conn.execute("SELECT file FROM submissions WHERE id = ?", (sid,)).fetchone()[0]
    (paths.uploads / name).write_text("clip_id,label\n")
    assert run_worker(host["root"], once=True).failed == 1
    body = host["client"].get(f"/api/v1/submissions/{sid}", headers={"Authorization": f"Bearer {host['token']}"}).json()
    assert body["status"] == "failed" and "submission" in body["message"]
    log = host["client"].get(f"/api/v1/submissions/{sid}/log", headers={"Authorization": f"Bearer {host['token']}"})
    assert "failed" in log.text
    assert [post(host, good(host, tmp_path)).status_code for _ in range(3)] == [202, 202, 202]


def test_ladder_release_and_selection(host: dict[str, Any], tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {host['token']}"}
    half = [lab if i % 2 else "normal" for i, lab in enumerate(host["labels"])]
    first = post(host, good(host, tmp_path, half)).json()["id"]
    run_worker(host["root"], once=True)
    r1 = host["client"].get(f"/api/v1/submissions/{first}", headers=auth).json()
    worse = [lab if i % 3 == 0 else "normal" for i, lab in enumerate(host["labels"])]
    second = post(host, good(host, tmp_path, worse)).json()["id"]
    run_worker(host["root"], once=True)
    r2 = host["client"].get(f"/api/v1/submissions/{second}", headers=auth).json()
    assert r2["released"] == r1["released"] and "no significant improvement" in r2["message"]
    assert r2["improved"] is False and r1["improved"] is True
    again = post(host, good(host, tmp_path, half)).json()["id"]  # the same file again: no improvement
    run_worker(host["root"], once=True)
    r3 = host["client"].get(f"/api/v1/submissions/{again}", headers=auth).json()
    assert r3["improved"] is False and r3["released"] == r1["released"] and "no significant" in r3["message"]
    r = host["client"].post("/api/v1/selections", headers=auth, content=json.dumps({"task": "vaar-cls", "ids": [second]}))
    assert r.status_code == 200 and r.json()["selected"] == [second]
    r = host["client"].post("/api/v1/selections", headers=auth,
                            content=json.dumps({"task": "vaar-cls", "ids": [1, 2, 3]}))
    assert r.status_code == 422
    for ids in (str(second), [True], [float(second)], {"0": second}):  # no coercion: "12" was once [1, 2]
        r = host["client"].post("/api/v1/selections", headers=auth, content=json.dumps({"task": "vaar-cls", "ids": ids}))
        assert r.status_code == 422, ids
    # another team cannot choose (or unchoose) alpha's submissions
    r = host["client"].post("/api/v1/selections", headers={"Authorization": f"Bearer {host['token_b']}"},
                            content=json.dumps({"task": "vaar-cls", "ids": [second]}))
    assert r.status_code == 422 and "of team 'beta'" in r.text
    mine = host["client"].get(f"/api/v1/submissions/{second}", headers=auth).json()
    assert mine.get("selected") in (True, 1), mine


def test_bodies_are_capped_and_headers_hardened(host: dict[str, Any], tmp_path: Path) -> None:
    big = b"x" * (200 * 1024)
    for path in ("/login", "/api/v1/selections", "/select", "/logout"):
        r = host["client"].post(path, content=big, headers={"Authorization": f"Bearer {host['token']}",
                                                            "Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413, path

    def chunks() -> Any:  # no Content-Length: the cap is counted while reading
        for _ in range(10):
            yield b"x" * (32 * 1024)

    r = host["client"].post("/api/v1/selections", content=chunks(), headers={"Authorization": f"Bearer {host['token']}"})
    assert r.status_code == 413

    def upload() -> Any:  # a chunked upload past --max-mb: cut while streaming, nothing kept
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\n\r\n'
        for _ in range(100):
            yield b"x" * (32 * 1024)

    r = host["client"].post("/api/v1/submissions", content=upload(), headers={
        "Authorization": f"Bearer {host['token']}", "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "2 MB" in r.json()["error"]
    assert not [p for p in (host["root"] / "uploads").iterdir()]
    r = host["client"].get("/api/v1/leaderboard/vaar-cls")
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["content-security-policy"].startswith(
        "default-src 'none'")
    bad = write_preds(tmp_path / "b.csv", host["ids"][:3], host["labels"][:3]).read_bytes()
    r = post(host, bad, name="evil\nname\x1b[31m.csv")
    assert r.status_code == 422 and "\n" not in r.json()["error"] and "\x1b" not in r.json()["error"]


def test_secure_cookies_behind_tls(host: dict[str, Any]) -> None:
    import re

    client = TestClient(create_app(host["root"], secure_cookies=True), base_url="https://testserver")
    page = client.get("/")
    assert "secure" in page.headers["set-cookie"].lower() and "samesite=strict" in page.headers["set-cookie"].lower()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"token": host["token"], "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "vaar_session=" in cookie and "secure" in cookie and "httponly" in cookie
    r = client.post("/login", data={"token": host["token"], "csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
