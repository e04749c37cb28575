"""The store on real SQLite: atomic quota, claims, leases, the append-only audit log; the Ladder's rule."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.bench.host.hostkit import make_host
from vaar.bench.host import store
from vaar.bench.host.config import load_config
from vaar.bench.host.ladder import NO_IMPROVEMENT, Best, step


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "host.db"
    store.init_db(db)
    store.add_team(db, "t")
    return db


def test_quota_insert_is_atomic_across_threads(tmp_path: Path) -> None:
    db = _db(tmp_path)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def go() -> None:
        with store.opened(db) as conn:
            barrier.wait()
            try:
                store.insert_submission(conn, store.Team(1, "t"), "vaar-cls", "predictions", "f", "f", {},
                                        store.Quota(daily=4, total=10))
                results.append("ok")
            except store.QuotaExceeded:
                results.append("quota")

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 4 and results.count("quota") == 16


def test_failed_submissions_are_free_and_total_quota(tmp_path: Path) -> None:
    db = _db(tmp_path)
    team, quota = store.Team(1, "t"), store.Quota(daily=2, total=3)
    with store.opened(db) as conn:
        a = store.insert_submission(conn, team, "vaar-cls", "predictions", "f", "f", {}, quota)
        store.insert_submission(conn, team, "vaar-cls", "predictions", "f", "f", {}, quota)
        with pytest.raises(store.QuotaExceeded, match="2 a day"):
            store.insert_submission(conn, team, "vaar-cls", "predictions", "f", "f", {}, quota)
        job = store.claim(conn, "w", 30)
        assert job is not None and job.id == a
        assert store.fail(conn, a, "w", "broken")
        store.insert_submission(conn, team, "vaar-cls", "predictions", "f", "f", {}, quota)  # the failure was free
        tomorrow = time.time() + 86400
        store.insert_submission(conn, team, "vaar-cls", "predictions", "f", "f", {}, quota, now=tomorrow)
        with pytest.raises(store.QuotaExceeded, match="3 in total"):
            store.insert_submission(conn, team, "vaar-cls", "predictions", "f", "f", {}, quota, now=tomorrow)


def test_claims_are_exclusive_and_expired_leases_requeue_then_fail(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with store.opened(db) as conn:
        for _ in range(30):
            store.insert_submission(conn, store.Team(1, "t"), "vaar-cls", "predictions", "f", "f", {},
                                    store.Quota(100, 100))
    claimed: list[int] = []

    def worker(name: str) -> None:
        with store.opened(db) as conn:
            while (job := store.claim(conn, name, 60)) is not None:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == list(range(1, 31))  # each job once
    with store.opened(db) as conn:
        conn.execute("UPDATE submissions SET status = 'queued', lease_owner = NULL, lease_until = NULL, attempts = 0")
        for attempt in range(1, store.MAX_ATTEMPTS + 1):
            job = store.claim(conn, f"dead{attempt}", 0.01)
            assert job is not None and job.id == 1 and job.attempts == attempt
            assert not store.heartbeat(conn, 1, "someone-else", 60)
            time.sleep(0.02)
            assert store.submission(conn, 1)["status"] in ("queued", "failed")  # type: ignore[index]
        row = store.submission(conn, 1)
        assert row is not None and row["status"] == "failed" and "not counted" in row["message"]
        assert not store.fail(conn, 1, "dead3", "late")  # a lost lease cannot write


def test_team_names_and_tokens(tmp_path: Path) -> None:
    from vaar.core.errors import ConfigError

    db = _db(tmp_path)
    for bad in ("", "!!!", "a\x1b[2Jb", "x" * 61):
        with pytest.raises(ConfigError, match="team name"):
            store.add_team(db, bad)
    with pytest.raises(ConfigError, match="exists"):
        store.add_team(db, "t")
    token = store.add_team(db, "<b>lab | one</b>")
    with store.opened(db) as conn:
        team = store.team_for_token(conn, token)
        assert team is not None and team.name == "<b>lab | one</b>"
        assert store.team_for_token(conn, token + "x") is None
        assert token not in str(list(conn.execute("SELECT * FROM teams")))


def test_audit_log_is_append_only(tmp_path: Path) -> None:
    db = _db(tmp_path)
    with store.opened(db) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit SET event = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_ladder_rule() -> None:
    rng = np.random.default_rng(0)
    base = (rng.random(200) < 0.5).astype(np.uint8)
    first = step(0.5, base.tobytes(), None)
    assert first.improved and first.released == 0.5
    b = Best(0.5, 0.5, base.tobytes())
    same = step(0.6052, base.tobytes(), Best(0.605, 0.6052, base.tobytes()))
    assert not same.improved  # the same file again: compared with the exact best, not the rounded one
    noise = base.copy()
    noise[:40] ^= 1  # 40 flips: se of the paired differences ~ 0.03 > the 0.02 gain
    d = step(0.52, noise.tobytes(), b)
    assert not d.improved and d.released == 0.5 and d.message == NO_IMPROVEMENT
    better = base.copy()
    better = np.where(np.arange(200) < 120, 1, base).astype(np.uint8)
    d = step(0.8, better.tobytes(), b)
    assert d.improved and d.released == 0.8
    assert step(0.52, noise.tobytes(), b, "exact").released == 0.52
    assert step(0.123456, base.tobytes(), None).released == 0.123  # rounded


def test_init_refuses_one_sided_partitions_and_reused_folders(tmp_path: Path) -> None:
    from vaar.core.errors import ConfigError

    with pytest.raises(ConfigError, match="public-fraction"):
        make_host(tmp_path, n=50, public_fraction=0.99)
    h = make_host(tmp_path / "ok", n=50)
    paths, cfg = load_config(h["root"])
    assert cfg.public_fraction == 0.3 and 0 < h["counts"]["public"] < 50
    assert h["labels_file"].read_bytes() == paths.labels.read_bytes()
