"""The host's boards: the live public board (Ladder-released scores) and the final one (``host freeze``).

Before the freeze, a team's row is its best *released* public score (what the Ladder let out)
and its count of scored submissions; nothing of the private part is shown. ``vaar-bench host
freeze`` closes submissions, takes each team's selected submissions (at most 2; its best public
one if it selected none), ranks the teams by their best private-part score with its bootstrap
interval, and writes one leaderboard entry a team (the existing contract,
:mod:`vaar.core.contracts.entry`, with the host's provenance in ``details.host``) to
``HOSTDIR/leaderboard/``, rendered by :mod:`vaar.bench.render` as ``LEADERBOARD.md`` and
``index.html`` -- the same page the static leaderboard is.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from vaar.bench.host import store
from vaar.bench.host.config import HOST_TASKS, load_config
from vaar.core.errors import ConfigError


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_board(conn: sqlite3.Connection, task: str) -> dict[str, Any]:
    """The public board as JSON (``GET /api/v1/leaderboard/{task}``)."""
    from vaar.bench.tasks import get_task

    if task not in HOST_TASKS:
        raise ConfigError(f"task {task[:40]!r} is not hosted here; use one of {', '.join(HOST_TASKS)}")
    main = get_task(task).main_score
    rows = conn.execute(
        "SELECT t.name, l.best, l.best_submission, "
        "(SELECT COUNT(*) FROM submissions s WHERE s.team_id = t.id AND s.task = l.task AND s.status = 'scored') AS n, "
        "(SELECT MAX(finished) FROM submissions s WHERE s.team_id = t.id AND s.task = l.task "
        " AND s.status = 'scored') AS last "
        "FROM ladder l JOIN teams t ON t.id = l.team_id WHERE l.task = ? ORDER BY l.best DESC, t.name", (task,))
    out: dict[str, Any] = {
        "task": task, "main_score": main, "frozen": store.is_frozen(conn),
        "public": [{"rank": i + 1, "team": r["name"], main: r["best"], "submissions": r["n"], "last": _iso(r["last"])}
                   for i, r in enumerate(rows)],
    }
    final = conn.execute("SELECT value FROM state WHERE key = ?", (f"final:{task}",)).fetchone()
    if final is not None:
        out["final"] = json.loads(final["value"])
    return out


def _candidates(conn: sqlite3.Connection, task: str) -> dict[int, list[sqlite3.Row]]:
    """Each team's final submissions: its selected ones, else its best public one."""
    out: dict[int, list[sqlite3.Row]] = {}
    teams = [r["team_id"] for r in conn.execute(
        "SELECT DISTINCT team_id FROM submissions WHERE task = ? AND status = 'scored'", (task,))]
    for team_id in teams:
        chosen = list(conn.execute("SELECT * FROM submissions WHERE team_id = ? AND task = ? AND status = 'scored' "
                                   "AND selected = 1 ORDER BY id LIMIT 2", (team_id, task)))
        if not chosen:
            chosen = list(conn.execute(
                "SELECT s.* FROM submissions s LEFT JOIN ladder l ON l.best_submission = s.id "
                "WHERE s.team_id = ? AND s.task = ? AND s.status = 'scored' "
                "ORDER BY l.best_submission IS NULL, s.public_score IS NULL, s.public_score DESC, s.id LIMIT 1",
                (team_id, task)))
        out[team_id] = chosen
    return out


def _entry(task: str, team: str, row: sqlite3.Row, report: dict[str, Any]) -> dict[str, Any]:
    from vaar.bench.make_entry import Cost, DatasetRef, Entry, ModelMeta, slugify
    from vaar.bench.tasks import ScoreReport

    prov = json.loads(row["provenance"])
    meta = prov.get("meta", {})
    model = ModelMeta(name=f"{team} (#{row['id']})"[:100], url=meta.get("url"), code=meta.get("code"),
                      paper=meta.get("paper"), notes=meta.get("notes"), modalities=tuple(meta.get("modalities", ())))
    boot = report["bootstrap"]
    rep = ScoreReport(task=task, n=report["n"], split_sha256=report["split_sha256"], main_score=report["main_score"],
                      scores=report["scores"], ci95=report["ci95"], per_class={}, resamples=boot["resamples"],
                      seed=boot["seed"])
    released = json.loads(row["released"]) if row["released"] else {}
    host = {"team": team[:200], "submission": row["id"], "submitted": _iso(row["created"]),
            "scored": _iso(row["finished"]), "released_public": released.get(report["main_score"]),
            "vaar_commit": prov.get("vaar_commit"), "python": prov.get("python"),
            **{f"pkg_{k}": v for k, v in sorted(prov.get("packages", {}).items())[:10]}}
    entry = Entry(slug=f"{slugify(team)[:50]}-{row['id']}", model=model, report=rep,
                  dataset=DatasetRef(source="hidden test set, private part", split="private",
                                     split_sha256=report["split_sha256"], private=True),
                  predictions_sha256=prov["predictions_hmac_sha256"], cost=Cost(),
                  vaar_version=prov.get("vaar_version", "0"))
    data = entry.to_dict()
    data["details"] = {"host": host}
    return data


def freeze(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Close submissions, rank the teams on the private part, write and render the final board."""
    from vaar.bench.leaderboard import rerender, submit_entry

    paths, _ = load_config(root)
    results: dict[str, list[dict[str, Any]]] = {}
    with store.opened(paths.db) as conn:
        store.expire_leases(conn)
        with store.transaction(conn):
            busy = conn.execute("SELECT COUNT(*) FROM submissions WHERE status IN ('queued', 'running')").fetchone()[0]
            if busy:
                raise ConfigError(f"{busy} submissions are still queued or running; let `vaar-bench worker "
                                  f"{root} --once` finish them, then freeze")
            conn.execute("INSERT OR IGNORE INTO state(key, value) VALUES ('frozen', ?)", (_iso(time.time()),))
            store.audit(conn, "frozen")
        teams = {r["id"]: r["name"] for r in conn.execute("SELECT id, name FROM teams")}
        for task in HOST_TASKS:
            rows = []
            for team_id, chosen in _candidates(conn, task).items():
                scored = [(json.loads(r["private_report"]), r) for r in chosen]
                main = scored[0][0]["main_score"]
                report, row = max(scored, key=lambda sr: (sr[0]["scores"][main] is not None,
                                                          sr[0]["scores"][main] or 0.0))
                entry = _entry(task, teams[team_id], row, report)
                submit_entry(paths.leaderboard, entry, replace=True)
                rows.append({"team": teams[team_id], "submission": row["id"], "score_name": main,
                             "score": report["scores"][main], "ci95": report["ci95"][main],
                             "selected": [r["id"] for r in chosen]})
            rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["team"]))
            for i, r in enumerate(rows):
                r["rank"] = i + 1
            results[task] = rows
            with store.transaction(conn):
                conn.execute("INSERT OR REPLACE INTO state(key, value) VALUES (?, ?)",
                             (f"final:{task}", json.dumps(rows, sort_keys=True)))
                store.audit(conn, "final-board", detail=f"{task}: {len(rows)} teams")
    rerender(paths.leaderboard)
    return results
