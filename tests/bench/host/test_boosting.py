"""The boosting attack (Blum & Hardt 2015, section 3) replayed against the server.

600-clip hidden test set (public part about 180 clips). The attacker submits 200 random
labelings, keeps those whose released score looked good, and submits their per-clip majority
vote. Under (a) exact release the vote's released public score climbs far above chance while its
private score stays at chance; under (b) the Ladder most submissions get "no significant
improvement" back, the attacker has nothing to select on, and the vote stays within chance: no
better than the luckiest of the 200 random guesses, where under (a) it is far past it.

Run with ``-s`` to see the numbers (docs/benchmark/host.md quotes them).
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from tests.bench.host.hostkit import SLUGS, make_host  # noqa: E402
from vaar.bench.host.app import create_app  # noqa: E402
from vaar.bench.host.store import add_team  # noqa: E402
from vaar.bench.host.worker import run_worker  # noqa: E402

N_CLIPS, N_SUBS = 600, 200


def _csv(ids: list[str], labels: np.ndarray) -> bytes:
    return ("clip_id,label\n" + "".join(f"{c},{SLUGS[k]}\n" for c, k in zip(ids, labels, strict=True))).encode()


def _attack(tmp: Path, release: str) -> dict[str, Any]:
    h = make_host(tmp, n=N_CLIPS, secret_text="boosting-attack-secret-2015", release=release, daily_quota=1000,
                  total_quota=1000, resamples=0)
    token = add_team(h["root"] / "host.db", "attacker")
    client = TestClient(create_app(h["root"]))
    auth = {"Authorization": f"Bearer {token}"}
    rng = np.random.default_rng(2015)
    subs = rng.integers(0, len(SLUGS), (N_SUBS, N_CLIPS))

    def submit(labels: np.ndarray) -> dict[str, Any]:
        r = client.post("/api/v1/submissions", headers=auth, files={"file": ("p.csv", io.BytesIO(_csv(h["ids"], labels)))},
                        data={"task": "vaar-cls"})
        assert r.status_code == 202, r.text
        run_worker(h["root"], once=True)
        out: dict[str, Any] = client.get(f"/api/v1/submissions/{r.json()['id']}", headers=auth).json()
        return out

    seen = [submit(s) for s in subs]
    released = np.array([s["released"]["macro_f1"] for s in seen])
    if release == "exact":
        keep = released > np.median(released)  # the classic attack: above-median submissions
    else:
        keep = np.array([bool(s["improved"]) for s in seen])  # all the Ladder lets the attacker tell apart
    votes = np.zeros((N_CLIPS, len(SLUGS)))
    for s in subs[keep]:
        votes[np.arange(N_CLIPS), s] += 1
    vote = submit(votes.argmax(axis=1))
    with sqlite3.connect(h["root"] / "host.db") as conn:
        rows = conn.execute("SELECT id, public_score, private_report FROM submissions ORDER BY id").fetchall()
    true_public = np.array([r[1] for r in rows[:-1]])
    private = [json.loads(r[2])["scores"]["macro_f1"] for r in rows]
    return {"released_vote": vote["released"]["macro_f1"], "public_vote": rows[-1][1], "private_vote": private[-1],
            "chance_mean": float(true_public.mean()), "chance_sd": float(true_public.std()),
            "chance_max": float(true_public.max()),
            "private_chance_mean": float(np.mean(private[:-1])), "private_chance_sd": float(np.std(private[:-1])),
            "kept": int(keep.sum()), "counts": h["counts"]}


@pytest.mark.slow
def test_boosting_attack_climbs_under_exact_release_and_not_under_the_ladder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _attack(tmp_path / "a", "exact")
    b = _attack(tmp_path / "b", "ladder")
    for name, r in (("(a) exact release", a), ("(b) Ladder", b)):
        print(f"\n{name}: {r['counts']['public']} public / {r['counts']['private']} private clips; kept {r['kept']} of "
              f"{N_SUBS}; vote released public macro-F1 {100 * r['released_vote']:.1f} (true public "
              f"{100 * r['public_vote']:.1f}), private {100 * r['private_vote']:.1f}; chance public "
              f"{100 * r['chance_mean']:.1f} +- {100 * r['chance_sd']:.1f} (best of {N_SUBS}: {100 * r['chance_max']:.1f}), private {100 * r['private_chance_mean']:.1f} "
              f"+- {100 * r['private_chance_sd']:.1f}")
    # (a) the vote climbs far past the luckiest of the 200 random guesses on the public part ...
    assert a["released_vote"] > a["chance_max"] + 2 * a["chance_sd"]
    assert abs(a["private_vote"] - a["private_chance_mean"]) < 2 * a["private_chance_sd"]  # ... not on the private
    # (b) under the Ladder the vote stays within what chance gives (no better than the luckiest guess)
    assert b["released_vote"] <= b["chance_max"] and b["public_vote"] <= b["chance_max"]
    assert abs(b["private_vote"] - b["private_chance_mean"]) < 2 * b["private_chance_sd"]
    assert b["kept"] < a["kept"] // 4
