"""The build ledger: one SQLite database in the build folder, one row per clip.

Written by the driver only (workers return results; they never open the database), one
transaction per finished clip, so a run killed at any moment loses at most the clips in flight.
Rerunning the same build reads the ledger and skips what is done; ``--retry-failed`` also
redoes the ``failed`` clips. ``ok`` clips whose media file has gone missing are redone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vaar.core.contracts.manifest_schema import MANIFEST_COLUMNS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clips (
    clip_id     TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    row         TEXT NOT NULL,      -- JSON object with the manifest columns
    fingerprint TEXT,               -- near-duplicate fingerprint as text (ok clips)
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    url         TEXT PRIMARY KEY,
    method      TEXT NOT NULL,      -- index | section | full | cached (vaar.curation.build.download)
    why         TEXT,               -- why the index could not be used (a fallback), else NULL
    fetch       TEXT NOT NULL,      -- JSON: bytes, requests, resolve/download seconds
    updated_at  TEXT NOT NULL
);
"""
_CONFIG_COLUMN = "ALTER TABLE clips ADD COLUMN config TEXT"  # the build settings a clip was made with


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if "config" not in {r[1] for r in self._db.execute("PRAGMA table_info(clips)")}:
            with self._db:
                self._db.execute(_CONFIG_COLUMN)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, row: dict[str, Any], fingerprint: str | None = None, config: str | None = None) -> None:
        """Insert or replace one clip's row (one transaction); ``config``: the fingerprint of the
        build settings it was made with (:func:`vaar.curation.build.pipeline.config_fingerprint`)."""
        clean = {k: row.get(k) for k in MANIFEST_COLUMNS}
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO clips (clip_id, status, row, fingerprint, updated_at, config) "
                "VALUES (?,?,?,?,?,?)",
                (
                    clean["clip_id"],
                    clean["status"],
                    json.dumps(clean, sort_keys=True),
                    fingerprint,
                    now,
                    config,
                ),
            )

    def configs(self) -> dict[str, str | None]:
        """clip_id → the build-settings fingerprint it was made with (None: an older ledger)."""
        return dict(self._db.execute("SELECT clip_id, config FROM clips").fetchall())

    def put_source(self, url: str, fetch: dict[str, Any]) -> None:
        """How one source was fetched (method, the fallback's reason, bytes, requests, seconds)."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO sources (url, method, why, fetch, updated_at) VALUES (?,?,?,?,?)",
                (url, str(fetch.get("method") or "?"), fetch.get("why"), json.dumps(fetch, sort_keys=True), now),
            )

    def sources(self) -> dict[str, dict[str, Any]]:
        rows = self._db.execute("SELECT url, method, why, fetch FROM sources").fetchall()
        return {u: {**json.loads(f), "method": m, "why": w} for u, m, w, f in rows}

    def update_fields(self, updates: dict[str, dict[str, Any]]) -> None:
        """Set some manifest fields of existing rows (e.g. ``dup_group``), in one transaction."""
        with self._db:
            for clip_id, fields in updates.items():
                cur = self._db.execute("SELECT row FROM clips WHERE clip_id=?", (clip_id,)).fetchone()
                if cur is None:
                    continue
                row = json.loads(cur[0])
                row.update(fields)
                self._db.execute(
                    "UPDATE clips SET row=?, status=? WHERE clip_id=?",
                    (json.dumps(row, sort_keys=True), row["status"], clip_id),
                )

    def statuses(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT clip_id, status FROM clips").fetchall())

    def get(self, clip_id: str) -> dict[str, Any] | None:
        cur = self._db.execute("SELECT row FROM clips WHERE clip_id=?", (clip_id,)).fetchone()
        return None if cur is None else dict(json.loads(cur[0]))

    def prune(self, keep: set[str]) -> list[dict[str, Any]]:
        """Forget the rows whose key is not in ``keep`` (``vaar build --prune`` only); returns them.

        A build never calls this on its own: building another list into the same folder keeps
        the other lists' rows (see :meth:`rows` ``ids``).
        """
        gone = [self.get(c) or {"clip_id": c} for c in self.statuses() if c not in keep]
        with self._db:
            self._db.executemany("DELETE FROM clips WHERE clip_id=?", [(r["clip_id"],) for r in gone])
        return gone

    def rows(self, status: str | None = None, ids: set[str] | None = None) -> Iterator[dict[str, Any]]:
        """All rows (or those keyed by ``ids``) ordered by clip_id, streamed (never all in memory)."""
        sql = "SELECT clip_id, row FROM clips" + (" WHERE status=?" if status else "") + " ORDER BY clip_id"
        cur = self._db.execute(sql, (status,) if status else ())
        for clip_id, text in cur:
            if ids is None or clip_id in ids:
                yield json.loads(text)

    def fingerprints(self) -> Iterator[tuple[str, str]]:
        cur = self._db.execute(
            "SELECT clip_id, fingerprint FROM clips WHERE status='ok' AND fingerprint IS NOT NULL ORDER BY clip_id"
        )
        yield from cur
