"""The Ladder: what a submission's released public score may say (Blum & Hardt, ICML 2015).

"The Ladder: A Reliable Leaderboard for Machine Learning Competitions", parameter-free variant:
a team's new submission releases its public score only when it beats the team's best released
score by more than the standard error of the paired per-clip differences,

    d_i = correct_new(i) - correct_best(i)   over the public part's n clips
    released = round(score_new)              if score_new > best + std(d) / sqrt(n)
             = best, "no significant improvement"   otherwise

so a stream of random guesses (the *boosting attack*: submit random labelings, keep those that
scored above chance, take their majority vote) sees the same number again and again and learns
next to nothing about the hidden labels, while a real improvement shows. The score is the task's
main score (macro-F1 for ``vaar-cls``); the per-clip differences are of 0/1 correctness, the
loss the paper's analysis uses. Released scores are rounded to ``ROUND_TO``.

Policies (``host.json`` ``release``): ``ladder`` (the default), or ``exact`` -- every
submission gets its exact public score back, as most platforms do; only for measuring what the
Ladder prevents (``tests/bench/host/test_boosting.py``), never for a real competition.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vaar.bench.host.store import audit, owns, transaction

Release = Literal["ladder", "exact"]
ROUND_TO = 0.001
NO_IMPROVEMENT = "no significant improvement: this is the team's best released score, not this submission's"


@dataclass(frozen=True)
class Scored:
    """A worker's result: the public part's main score and per-clip correctness, the private report."""

    public_score: float | None
    public_correct: bytes  # (n,) uint8 0/1, public clips in a fixed order
    private_report: dict[str, Any]
    message: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)  # merged into the row's provenance


@dataclass(frozen=True)
class Decision:
    released: float | None
    improved: bool
    message: str


def _round(x: float) -> float:
    return round(round(x / ROUND_TO) * ROUND_TO, 6)


@dataclass(frozen=True)
class Best:
    """The team's best so far: the score released for it, its exact score, its per-clip correctness."""

    released: float
    score: float
    correct: bytes


def step(score: float | None, correct: bytes, best: Best | None, policy: Release = "ladder") -> Decision:
    """One rung: what to release for ``score`` given the team's best so far (compared exactly, not
    rounded, so that the same file submitted twice is no improvement)."""
    if score is None:
        return Decision(None if best is None else best.released, False,
                        "the main score is undefined for these predictions")
    if best is None:
        return Decision(_round(score), True, "")
    if policy == "exact":
        return Decision(_round(score), score > best.score, "")
    new = np.frombuffer(correct, dtype=np.uint8).astype(np.float64)
    old = np.frombuffer(best.correct, dtype=np.uint8).astype(np.float64)
    d = new - old
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    if score > best.score + se:
        return Decision(_round(score), True, "")
    return Decision(best.released, False, NO_IMPROVEMENT)


def record(conn: sqlite3.Connection, job_id: int, owner: str, result: Scored, policy: Release,
           main: str) -> bool:
    """Store a scored job and move its team's ladder, in one transaction; False when the lease was lost."""
    now = time.time()
    with transaction(conn):
        if not owns(conn, job_id, owner):
            return False
        sub = conn.execute("SELECT team_id, task, provenance FROM submissions WHERE id = ?", (job_id,)).fetchone()
        provenance = {**json.loads(sub["provenance"]), **result.provenance}
        rung = conn.execute("SELECT l.best, s.public_score, s.public_vector FROM ladder l "
                            "JOIN submissions s ON s.id = l.best_submission WHERE l.team_id = ? AND l.task = ?",
                            (sub["team_id"], sub["task"])).fetchone()
        best = None if rung is None else Best(float(rung["best"]), float(rung["public_score"]),
                                              bytes(rung["public_vector"]))
        d = step(result.public_score, result.public_correct, best, policy)
        released = None if d.released is None else json.dumps({main: d.released})
        message = "; ".join(m for m in (result.message, d.message) if m)
        conn.execute("UPDATE submissions SET status = 'scored', finished = ?, lease_owner = NULL, lease_until = NULL, "
                     "released = ?, improved = ?, public_score = ?, public_vector = ?, private_report = ?, "
                     "message = ?, provenance = ? WHERE id = ?",
                     (now, released, int(d.improved), result.public_score, result.public_correct,
                      json.dumps(result.private_report, allow_nan=False), message,
                      json.dumps(provenance, sort_keys=True), job_id))
        if d.improved and d.released is not None:
            conn.execute("INSERT INTO ladder(team_id, task, best, best_submission) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT(team_id, task) DO UPDATE SET best = excluded.best, "
                         "best_submission = excluded.best_submission",
                         (sub["team_id"], sub["task"], d.released, job_id))
        audit(conn, "scored", submission=job_id, team_id=sub["team_id"],
              detail=f"released {d.released} improved {d.improved}", now=now)
    return True
