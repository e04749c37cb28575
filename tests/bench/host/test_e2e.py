"""End to end on loopback: a real uvicorn (`vaar-bench serve`), real worker processes, the CLI."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("multipart")

from tests.bench.host.hostkit import cli, env, make_host, uvicorn_server, write_labels, write_preds  # noqa: E402
from vaar.bench.host.client import _multipart  # noqa: E402


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), env=env(), capture_output=True, text=True, timeout=timeout, check=False)


def test_init_serve_worker_submit_from_the_cli(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "dataset" / "splits").mkdir(parents=True)
    ids, labels = write_labels(src / "labels.csv", 150)
    (src / "secret").write_text("s" * 32)
    root = tmp_path / "host"
    r = run("host", "init", str(root), "--dataset", str(src / "dataset"), "--private-test-labels",
            str(src / "labels.csv"), "--host-secret-file", str(src / "secret"), "--bootstrap", "100")
    assert r.returncode == 0, r.stderr
    assert "150 hidden test clips" in r.stdout
    assert oct(os.stat(root / "private").st_mode & 0o777) == "0o700"
    assert oct(os.stat(root / "private" / "labels.csv").st_mode & 0o777) == "0o600"
    r = run("host", "team", "add", str(root), "Team A")
    assert r.returncode == 0
    token = r.stdout.strip().splitlines()[-1]
    (tmp_path / "token").write_text(token + "\n")
    assert token not in (root / "host.db").read_bytes().decode("latin-1")  # only the hash is stored
    again = run("host", "init", str(root), "--dataset", str(src / "dataset"), "--private-test-labels",
                str(src / "labels.csv"), "--host-secret-file", str(src / "secret"))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "already a host folder" in again.stderr
    preds = write_preds(tmp_path / "preds.csv", ids, labels)
    bad = write_preds(tmp_path / "bad.csv", ids[:10], labels[:10])
    with uvicorn_server(root) as url:
        worker = subprocess.Popen(cli("worker", str(root), "--poll", "0.2"), env=env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            r = run("submit", str(preds), "--remote", url, "--token-file", str(tmp_path / "token"), "--wait", "60")
            assert r.returncode == 0, r.stdout + r.stderr
            assert "scored; public score macro_f1 100.0" in r.stdout
            r = run("submit", str(bad), "--remote", url, "--token-file", str(tmp_path / "token"))
            assert r.returncode == 2 and r.stderr.count("\n") == 1
            assert "HTTP 422" in r.stderr and "bad.csv" in r.stderr and "Traceback" not in r.stderr
            (tmp_path / "wrong").write_text("nope")
            r = run("submit", str(preds), "--remote", url, "--token-file", str(tmp_path / "wrong"))
            assert r.returncode == 2 and "HTTP 401" in r.stderr
            r = run("submit", str(preds), "--remote", "http://example.org", "--token-file", str(tmp_path / "token"))
            assert r.returncode == 2 and "https" in r.stderr
        finally:
            worker.send_signal(signal.SIGINT)
            worker.wait(20)
    board = run("host", "freeze", str(root))
    assert board.returncode == 0, board.stderr
    assert "1. Team A  macro_f1 100.00" in board.stdout
    assert (root / "leaderboard" / "index.html").exists() and (root / "leaderboard" / "LEADERBOARD.md").exists()


def _post(url: str, token: str, data: bytes) -> int:
    body, ctype = _multipart({"task": "vaar-cls"}, {"file": ("p.csv", data)})
    req = urllib.request.Request(url + "/api/v1/submissions", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:  # noqa: S310 (loopback)
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_quota_race_twenty_threads_get_exactly_the_quota(tmp_path: Path) -> None:
    h = make_host(tmp_path, n=100, daily_quota=7, total_quota=50)
    from vaar.bench.host.store import add_team

    token = add_team(h["root"] / "host.db", "racers")
    data = write_preds(tmp_path / "p.csv", h["ids"], h["labels"]).read_bytes()
    codes: list[int] = []
    barrier = threading.Barrier(20)

    def go() -> None:
        barrier.wait()
        codes.append(_post(url, token, data))

    with uvicorn_server(h["root"]) as url:
        threads = [threading.Thread(target=go) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
    assert sorted(codes) == [202] * 7 + [429] * 13
    with sqlite3.connect(h["root"] / "host.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] == 7
        # every accepted file is on disk, every file on disk has its row
        files = {r[0] for r in conn.execute("SELECT file FROM submissions")}
    assert files == {p.name for p in (h["root"] / "uploads").iterdir()}


def _row(root: Path, sid: int) -> dict[str, Any]:
    with sqlite3.connect(root / "host.db") as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM submissions WHERE id = ?", (sid,)).fetchone())


def test_worker_killed_mid_job_is_scored_once_by_another(tmp_path: Path) -> None:
    h = make_host(tmp_path, n=3000, resamples=100_000, lease_s=5.0)
    from vaar.bench.host.config import load_config
    from vaar.bench.host.store import Quota, Team, add_team, insert_submission, opened

    paths, _ = load_config(h["root"])
    add_team(paths.db, "t")
    (paths.uploads / "p.csv").write_bytes(write_preds(tmp_path / "p.csv", h["ids"], h["labels"]).read_bytes())
    with opened(paths.db) as conn:
        sid = insert_submission(conn, Team(1, "t"), "vaar-cls", "predictions", "p.csv", "p.csv", {}, Quota(5, 5))
    a = subprocess.Popen(cli("worker", str(h["root"]), "--poll", "0.1"), env=env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _row(h["root"], sid)["status"] != "running":
            assert time.monotonic() < deadline and a.poll() is None
            time.sleep(0.05)
        os.kill(a.pid, signal.SIGKILL)  # mid-job: 100,000 resamples on 3,000 clips take seconds
        a.wait(10)
    finally:
        if a.poll() is None:
            a.kill()
    assert _row(h["root"], sid)["status"] == "running"
    r = run("worker", str(h["root"]), "--once")  # nothing to claim while the dead worker's lease holds
    assert r.returncode == 0 and "0 scored" in r.stdout
    while _row(h["root"], sid)["lease_until"] > time.time():
        time.sleep(0.2)
    # a reader never sees "running" past the lease
    from vaar.bench.host.store import submission

    with opened(paths.db) as conn:
        assert submission(conn, sid)["status"] == "queued"  # type: ignore[index]
    r = run("worker", str(h["root"]), "--once", timeout=300)
    assert r.returncode == 0 and "1 scored" in r.stdout, r.stdout + r.stderr
    row = _row(h["root"], sid)
    assert row["status"] == "scored" and row["attempts"] == 2 and json.loads(row["released"]) == {"macro_f1": 1.0}
    with sqlite3.connect(paths.db) as conn:
        events = [e for (e,) in conn.execute("SELECT event FROM audit WHERE submission = ? ORDER BY seq", (sid,))]
        assert conn.execute("SELECT COUNT(*) FROM ladder").fetchone()[0] == 1
    assert events == ["queued", "running", "requeued", "running", "scored"]
    assert not io.StringIO().getvalue()


def test_server_killed_mid_uploads_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL the server while 20 uploads are in flight: every 202 has its row and its complete
    file, every row has its file, and a restarted server serves them all."""
    import hashlib

    from tests.bench.host.hostkit import start_server
    from vaar.bench.host.store import add_team

    h = make_host(tmp_path, n=3000, daily_quota=100, total_quota=100)
    token = add_team(h["root"] / "host.db", "t")
    data = write_preds(tmp_path / "p.csv", h["ids"], h["labels"]).read_bytes()
    server, url = start_server(h["root"])
    try:
        codes: list[int] = []

        def go() -> None:
            try:
                codes.append(_post(url, token, data))
            except OSError:
                codes.append(-1)  # the connection died with the server

        threads = [threading.Thread(target=go) for _ in range(20)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while True:  # kill once a few are committed, with the others still in flight
            with sqlite3.connect(h["root"] / "host.db") as conn:
                if conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0] >= 3:
                    break
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        for t in threads:
            t.join(60)
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(10)
    accepted = codes.count(202)
    print(f"accepted before the kill: {accepted}, connections cut: {codes.count(-1)}")
    with sqlite3.connect(h["root"] / "host.db") as conn:
        rows = conn.execute("SELECT id, file FROM submissions").fetchall()
    assert len(rows) >= accepted  # every 202 was committed before it was sent
    digest = hashlib.sha256(data).hexdigest()
    for _, name in rows:
        assert hashlib.sha256((h["root"] / "uploads" / name).read_bytes()).hexdigest() == digest
    assert -1 in codes  # some uploads were cut by the kill
    with uvicorn_server(h["root"]) as url2:
        assert _post(url2, token, data) in (202, 429)
    assert run("worker", str(h["root"]), "--once", timeout=300).returncode == 0
    with sqlite3.connect(h["root"] / "host.db") as conn:
        statuses = {s for (s,) in conn.execute("SELECT status FROM submissions")}
    assert statuses == {"scored"}


def test_worker_stopped_with_ctrl_c_gives_its_job_back_at_once(tmp_path: Path) -> None:
    h = make_host(tmp_path, n=3000, resamples=100_000, lease_s=600.0)
    from vaar.bench.host.config import load_config
    from vaar.bench.host.store import Quota, Team, add_team, insert_submission, opened

    paths, _ = load_config(h["root"])
    add_team(paths.db, "t")
    (paths.uploads / "p.csv").write_bytes(write_preds(tmp_path / "p.csv", h["ids"], h["labels"]).read_bytes())
    with opened(paths.db) as conn:
        sid = insert_submission(conn, Team(1, "t"), "vaar-cls", "predictions", "p.csv", "p.csv", {}, Quota(5, 5))
    w = subprocess.Popen(cli("worker", str(h["root"]), "--poll", "0.1"), env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _row(h["root"], sid)["status"] != "running":
            assert time.monotonic() < deadline and w.poll() is None
            time.sleep(0.05)
        w.send_signal(signal.SIGINT)
        _, err = w.communicate(timeout=60)
    finally:
        if w.poll() is None:
            w.kill()
    assert w.returncode == 130 and "interrupted" in err and "Traceback" not in err, f"rc {w.returncode}: {err[-3000:]}"
    row = _row(h["root"], sid)
    assert row["status"] == "queued" and row["lease_owner"] is None and row["attempts"] == 0  # not after 600 s
