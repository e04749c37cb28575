"""XD-Violence: frame ground truth as make_gt.py builds it, AP as auc(precision_recall_curve)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import auc, average_precision_score, precision_recall_curve

from vaar.bench.cli import main
from vaar.bench.truth import xd_frame_truth

VIOLENT = ["Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6", "Riot.2019__#00-01-10_00-02-00_label_B4-0-0",
           "War.Film__#00-10-00_00-11-00_label_B6-0-0"]
NORMAL = ["Quiet.Street__#00-00-00_00-01-00_label_A", "Cooking.Show__#00-05-00_00-06-00_label_A"]


@pytest.fixture
def xd(tmp_path: Path) -> dict[str, object]:
    rng = np.random.default_rng(0)
    ann = tmp_path / "annotations.txt"
    ann.write_text(f"{VIOLENT[0]} 20 100 300 340\n{VIOLENT[1]}.mp4 0 50\n{VIOLENT[2]} 900 2000\n", encoding="utf-8")
    snippets = {v: int(rng.integers(8, 40)) for v in VIOLENT + NORMAL}
    scores = {v: np.round(rng.random(n), 2) for v, n in snippets.items()}
    return {"ann": ann, "scores": scores, "dir": tmp_path}


def expected(xd_: dict[str, object]) -> tuple[float, float]:
    """The official recipe: per-frame gt over 16 x #snippets frames, scores repeated 16 times."""
    ranges = {VIOLENT[0]: [(20, 100), (300, 340)], VIOLENT[1]: [(0, 50)], VIOLENT[2]: [(900, 2000)]}
    gt, pred = [], []
    for v, s in xd_["scores"].items():  # type: ignore[attr-defined]
        g = np.zeros(len(s) * 16)
        for a, b in ranges.get(v, []):
            g[a:b] = 1
        gt.append(g)
        pred.append(np.repeat(s, 16))
    y, p = np.concatenate(gt), np.concatenate(pred)
    pr, rc, _ = precision_recall_curve(y, p)
    return float(auc(rc, pr)), float(average_precision_score(y, p))


def run(capsys, preds: Path, ann: Path) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["score", str(preds), "--task", "xd-violence", "--labels", str(ann), "--json", "--bootstrap", "50"])
    out, err = capsys.readouterr()
    return rc, out, err


def test_frame_truth_clips_to_length() -> None:
    gt = xd_frame_truth(((2, 5), (30, 99)), 32)
    assert gt.tolist() == [0, 0, 1, 1, 1] + [0] * 25 + [1, 1]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_xd_scores_match_official_recipe(xd, capsys, fmt: str) -> None:  # type: ignore[no-untyped-def]
    d: Path = xd["dir"]  # type: ignore[assignment]
    scores: dict[str, np.ndarray] = xd["scores"]  # type: ignore[assignment]
    path = d / f"xd.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"video": v, "scores": s.tolist()}) + "\n" for v, s in scores.items()))
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"video": list(scores), "scores": [s.tolist() for s in scores.values()]}), path)
    else:
        rows = [f"{v},{i},{x}\n" for v, s in scores.items() for i, x in reversed(list(enumerate(s)))]
        path.write_text("video,snippet,score\n" + "".join(rows))
    rc, out, err = run(capsys, path, xd["ann"])
    assert rc == 0, err
    data = json.loads(out)
    pr_auc, ap = expected(xd)
    assert abs(data["scores"]["pr_auc"] - pr_auc) < 1e-9
    assert abs(data["scores"]["ap"] - ap) < 1e-9
    assert data["n"] == 5 and data["main_score"] == "pr_auc"
    assert data["ci95"]["pr_auc"][0] <= pr_auc <= data["ci95"]["pr_auc"][1]


def test_xd_validation(xd, capsys) -> None:  # type: ignore[no-untyped-def]
    d: Path = xd["dir"]  # type: ignore[assignment]
    scores: dict[str, np.ndarray] = xd["scores"]  # type: ignore[assignment]

    def jsonl(items: list[tuple[str, object]]) -> Path:
        p = d / f"bad{len(list(d.glob('bad*.jsonl')))}.jsonl"
        p.write_text("".join(json.dumps({"video": v, "scores": s}) + "\n" for v, s in items))
        return p

    full = [(v, s.tolist()) for v, s in scores.items()]
    cases = [
        (jsonl(full[1:]), "annotated video(s) missing"),
        (jsonl([*full, ("Unknown.Movie_label_B1", [0.1])]), "neither annotated nor normal"),
        (jsonl([*full, full[0]]), "scored twice"),
        (jsonl([(full[0][0], [0.1, "x"]), *full[1:]]), "finite numbers"),
        (jsonl([(full[0][0], []), *full[1:]]), "finite numbers"),
    ]
    for path, needle in cases:
        rc, _, err = run(capsys, path, xd["ann"])
        assert rc == 2 and needle in err, err
    p = d / "gap.csv"
    p.write_text("video,snippet,score\n" + "".join(f"{v},{i * 2},0.5\n" for v, s in scores.items() for i in range(len(s))))
    rc, _, err = run(capsys, p, xd["ann"])
    assert rc == 2 and "0 .. n-1" in err
    p = d / "nan.csv"
    p.write_text("video,snippet,score\n" + "".join(f"{v},{i},nan\n" for v, s in scores.items() for i in range(len(s))))
    rc, _, err = run(capsys, p, xd["ann"])
    assert rc == 2 and "non-finite" in err
    bad_ann = d / "bad_ann.txt"
    bad_ann.write_text("video 10\n")
    rc, _, err = run(capsys, jsonl(full), bad_ann)
    assert rc == 2 and "malformed annotation" in err
