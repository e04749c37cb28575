"""The host's store: one SQLite database in WAL mode; the submissions table is the queue.

Every change is one transaction (``BEGIN IMMEDIATE``: SQLite serialises writers, so a quota
check and the insert it allows cannot interleave with another's). A worker *claims* the oldest
queued job and holds a lease it renews (heartbeat); a job whose lease expired goes back to the
queue on the next claim or read (after ``MAX_ATTEMPTS`` claims it fails, free of quota), and a
worker whose lease was taken over cannot write its result (the row names its owner), so a job is
scored once. The ``audit`` table is append-only (triggers refuse UPDATE and DELETE).

Quota: submissions that are queued, running or scored count (per team per UTC day and in
total); failed ones (validation, a crashed model, a dead worker) are free.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaar.core.errors import ConfigError, VaarError

DB_NAME = "host.db"
MAX_ATTEMPTS = 3
SESSION_S = 12 * 3600.0
STATUSES = ("queued", "running", "scored", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teams(
  id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, token_sha256 TEXT UNIQUE NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions(
  sid_sha256 TEXT PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES teams(id), csrf TEXT NOT NULL,
  expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS submissions(
  id INTEGER PRIMARY KEY, team_id INTEGER NOT NULL REFERENCES teams(id), task TEXT NOT NULL,
  kind TEXT NOT NULL, file TEXT NOT NULL, filename TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'scored', 'failed')),
  created REAL NOT NULL, day TEXT NOT NULL, started REAL, finished REAL,
  lease_owner TEXT, lease_until REAL, attempts INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL DEFAULT '', released TEXT, improved INTEGER,
  public_score REAL, public_vector BLOB, private_report TEXT,
  provenance TEXT NOT NULL, selected INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS submissions_queue ON submissions(status, id);
CREATE INDEX IF NOT EXISTS submissions_team ON submissions(team_id, task, day);
CREATE TABLE IF NOT EXISTS ladder(
  team_id INTEGER NOT NULL, task TEXT NOT NULL, best REAL NOT NULL, best_submission INTEGER NOT NULL,
  PRIMARY KEY (team_id, task));
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, event TEXT NOT NULL,
  submission INTEGER, team_id INTEGER, detail TEXT NOT NULL DEFAULT '');
CREATE TRIGGER IF NOT EXISTS audit_append_only_u BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_d BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class QuotaExceeded(VaarError):
    """A team is over its daily or total quota (HTTP 429)."""


class Frozen(VaarError):
    """The host is frozen: no more submissions (HTTP 409)."""


@dataclass(frozen=True)
class Quota:
    daily: int
    total: int


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class Job:
    id: int
    team_id: int
    task: str
    kind: str
    file: str
    attempts: int


def token_hash(token: str) -> str:
    """Tokens are 256-bit random strings, so one sha256 is the right hash (no password stretching)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def connect(db: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, full sync, 30 s busy wait."""
    conn = sqlite3.connect(str(db), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextlib.contextmanager
def opened(db: Path) -> Iterator[sqlite3.Connection]:
    conn = connect(db)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any exception)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def init_db(db: Path) -> None:
    with opened(db) as conn:
        conn.executescript(_SCHEMA)


def audit(conn: sqlite3.Connection, event: str, *, submission: int | None = None, team_id: int | None = None,
          detail: str = "", now: float | None = None) -> None:
    conn.execute("INSERT INTO audit(at, event, submission, team_id, detail) VALUES (?, ?, ?, ?, ?)",
                 (time.time() if now is None else now, event, submission, team_id, detail))


# ── teams and sessions ───────────────────────────────────────────────────────────────────────

def add_team(db: Path, name: str) -> str:
    """Register ``name``; returns its token (shown once; only its hash is stored)."""
    if not 1 <= len(name) <= 60 or not name.isprintable() or not any(c.isalnum() for c in name):
        raise ConfigError(f"team name {name[:60]!r}: 1 to 60 printable characters, with a letter or digit")
    token = secrets.token_urlsafe(32)
    with opened(db) as conn, transaction(conn):
        if conn.execute("SELECT 1 FROM teams WHERE name = ?", (name,)).fetchone():
            raise ConfigError(f"team {name!r} exists; choose another name")
        cur = conn.execute("INSERT INTO teams(name, token_sha256, created) VALUES (?, ?, ?)",
                           (name, token_hash(token), time.time()))
        audit(conn, "team-added", team_id=cur.lastrowid, detail=name)
    return token


def team_for_token(conn: sqlite3.Connection, token: str) -> Team | None:
    row = conn.execute("SELECT id, name FROM teams WHERE token_sha256 = ?", (token_hash(token),)).fetchone()
    return Team(row["id"], row["name"]) if row else None


def new_session(conn: sqlite3.Connection, team: Team) -> tuple[str, str]:
    """A browser session: returns (session id for the cookie, CSRF token); only the id's hash is stored."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = time.time()
    with transaction(conn):
        conn.execute("DELETE FROM sessions WHERE expires < ?", (now,))
        conn.execute("INSERT INTO sessions(sid_sha256, team_id, csrf, expires) VALUES (?, ?, ?, ?)",
                     (token_hash(sid), team.id, csrf, now + SESSION_S))
    return sid, csrf


def session(conn: sqlite3.Connection, sid: str) -> tuple[Team, str] | None:
    row = conn.execute("SELECT t.id, t.name, s.csrf FROM sessions s JOIN teams t ON t.id = s.team_id "
                       "WHERE s.sid_sha256 = ? AND s.expires > ?", (token_hash(sid), time.time())).fetchone()
    return (Team(row["id"], row["name"]), row["csrf"]) if row else None


def end_session(conn: sqlite3.Connection, sid: str) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM sessions WHERE sid_sha256 = ?", (token_hash(sid),))


# ── state ─────────────────────────────────────────────────────────────────────────────────────

def is_frozen(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM state WHERE key = 'frozen'").fetchone() is not None


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


# ── the queue ─────────────────────────────────────────────────────────────────────────────────

def insert_submission(conn: sqlite3.Connection, team: Team, task: str, kind: str, file: str, filename: str,
                      provenance: dict[str, Any], quota: Quota, *, now: float | None = None) -> int:
    """Check the quota and queue the submission in one transaction; raises :class:`QuotaExceeded`."""
    now = time.time() if now is None else now
    day = utc_day(now)
    with transaction(conn):
        if is_frozen(conn):
            raise Frozen("the host is frozen: the final leaderboard is out, submissions are closed")
        counted = "status IN ('queued', 'running', 'scored')"
        today = conn.execute(f"SELECT COUNT(*) FROM submissions WHERE team_id = ? AND day = ? AND {counted}",
                             (team.id, day)).fetchone()[0]
        total = conn.execute(f"SELECT COUNT(*) FROM submissions WHERE team_id = ? AND {counted}",
                             (team.id,)).fetchone()[0]
        if today >= quota.daily or total >= quota.total:
            which = (f"{quota.daily} a day (UTC; next at 00:00 UTC)" if today >= quota.daily
                     else f"{quota.total} in total")
            raise QuotaExceeded(f"team {team.name!r} is over its quota of {which}; "
                                "failed submissions are not counted")
        cur = conn.execute(
            "INSERT INTO submissions(team_id, task, kind, file, filename, status, created, day, provenance) "
            "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (team.id, task, kind, file, filename, now, day, json.dumps(provenance, sort_keys=True)))
        sub_id = int(cur.lastrowid or 0)
        audit(conn, "queued", submission=sub_id, team_id=team.id, detail=f"{task} {kind}", now=now)
    return sub_id


def requeue_expired(conn: sqlite3.Connection, now: float) -> None:
    """Inside a transaction: running jobs past their lease go back to the queue (or fail after
    ``MAX_ATTEMPTS`` claims, free of quota)."""
    rows = conn.execute("SELECT id, team_id, attempts FROM submissions WHERE status = 'running' AND lease_until < ?",
                        (now,)).fetchall()
    for r in rows:
        if r["attempts"] >= MAX_ATTEMPTS:
            conn.execute("UPDATE submissions SET status = 'failed', finished = ?, lease_owner = NULL, "
                         "lease_until = NULL, message = ? WHERE id = ?",
                         (now, f"the worker scoring it stopped {r['attempts']} times; not counted against "
                               "the quota, please submit again", r["id"]))
            audit(conn, "failed", submission=r["id"], team_id=r["team_id"], detail="lease expired, attempts exhausted",
                  now=now)
        else:
            conn.execute("UPDATE submissions SET status = 'queued', lease_owner = NULL, lease_until = NULL "
                         "WHERE id = ?", (r["id"],))
            audit(conn, "requeued", submission=r["id"], team_id=r["team_id"], detail="lease expired", now=now)


def expire_leases(db_conn: sqlite3.Connection) -> None:
    """Requeue expired jobs now (readers call this, so nothing shows "running" past its lease)."""
    now = time.time()
    if db_conn.execute("SELECT 1 FROM submissions WHERE status = 'running' AND lease_until < ? LIMIT 1",
                       (now,)).fetchone():
        with transaction(db_conn):
            requeue_expired(db_conn, now)


def claim(conn: sqlite3.Connection, owner: str, lease_s: float) -> Job | None:
    """Take the oldest queued job (after requeueing expired leases), atomically."""
    now = time.time()
    with transaction(conn):
        requeue_expired(conn, now)
        row = conn.execute("SELECT id, team_id, task, kind, file, attempts FROM submissions "
                           "WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        conn.execute("UPDATE submissions SET status = 'running', started = ?, lease_owner = ?, lease_until = ?, "
                     "attempts = attempts + 1 WHERE id = ?", (now, owner, now + lease_s, row["id"]))
        audit(conn, "running", submission=row["id"], team_id=row["team_id"], detail=owner, now=now)
    return Job(row["id"], row["team_id"], row["task"], row["kind"], row["file"], row["attempts"] + 1)


def heartbeat(conn: sqlite3.Connection, job_id: int, owner: str, lease_s: float) -> bool:
    """Renew the lease; False when the job is no longer this worker's."""
    with transaction(conn):
        cur = conn.execute("UPDATE submissions SET lease_until = ? WHERE id = ? AND status = 'running' "
                           "AND lease_owner = ? AND lease_until >= ?",
                           (time.time() + lease_s, job_id, owner, time.time()))
    return cur.rowcount == 1


def owns(conn: sqlite3.Connection, job_id: int, owner: str) -> bool:
    """Inside a transaction: the job is still running under this worker's unexpired lease."""
    return conn.execute("SELECT 1 FROM submissions WHERE id = ? AND status = 'running' AND lease_owner = ? "
                        "AND lease_until >= ?", (job_id, owner, time.time())).fetchone() is not None


def fail(conn: sqlite3.Connection, job_id: int, owner: str, message: str) -> bool:
    """Mark a job failed (free of quota); False when the lease was lost meanwhile."""
    with transaction(conn):
        if not owns(conn, job_id, owner):
            return False
        row = conn.execute("SELECT team_id FROM submissions WHERE id = ?", (job_id,)).fetchone()
        conn.execute("UPDATE submissions SET status = 'failed', finished = ?, lease_owner = NULL, lease_until = NULL, "
                     "message = ? WHERE id = ?", (time.time(), message, job_id))
        audit(conn, "failed", submission=job_id, team_id=row["team_id"], detail=message[:300])
    return True


def release(conn: sqlite3.Connection, job_id: int, owner: str) -> bool:
    """Give a job back to the queue now (a worker stopped with Ctrl-C), not after its lease."""
    with transaction(conn):
        if not owns(conn, job_id, owner):
            return False
        conn.execute("UPDATE submissions SET status = 'queued', lease_owner = NULL, lease_until = NULL, "
                     "attempts = MAX(attempts - 1, 0) WHERE id = ?", (job_id,))
        audit(conn, "requeued", submission=job_id, detail=f"released by {owner} (stopped)")
    return True


def submission(conn: sqlite3.Connection, sub_id: int) -> sqlite3.Row | None:
    expire_leases(conn)
    row: sqlite3.Row | None = conn.execute("SELECT * FROM submissions WHERE id = ?", (sub_id,)).fetchone()
    return row


def team_submissions(conn: sqlite3.Connection, team_id: int) -> list[sqlite3.Row]:
    expire_leases(conn)
    return list(conn.execute("SELECT * FROM submissions WHERE team_id = ? ORDER BY id DESC", (team_id,)))


def select_final(conn: sqlite3.Connection, team: Team, task: str, ids: list[int], limit: int = 2) -> None:
    """Choose the team's final submissions of ``task`` (at most ``limit``, scored ones only)."""
    if len(set(ids)) > limit:
        raise ConfigError(f"choose at most {limit} final submissions")
    with transaction(conn):
        if is_frozen(conn):
            raise Frozen("the host is frozen: final submissions can no longer change")
        for i in ids:
            r = conn.execute("SELECT status FROM submissions WHERE id = ? AND team_id = ? AND task = ?",
                             (i, team.id, task)).fetchone()
            if r is None or r["status"] != "scored":
                raise ConfigError(f"submission {i} is not a scored {task} submission of team {team.name!r}")
        conn.execute("UPDATE submissions SET selected = 0 WHERE team_id = ? AND task = ?", (team.id, task))
        for i in set(ids):
            conn.execute("UPDATE submissions SET selected = 1 WHERE id = ?", (i,))
        audit(conn, "selected", team_id=team.id, detail=f"{task}: {sorted(set(ids))}")
