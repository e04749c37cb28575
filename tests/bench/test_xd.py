"""XD-Violence: frame ground truth as make_gt.py builds it, AP as auc(precision_recall_curve)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import auc, average_precision_score, precision_recall_curve

from vaar.bench.cli import main
from vaar.bench.truth import xd_frame_truth, xd_official_test_videos

OFFICIAL = xd_official_test_videos()
VIOLENT = [v for v in OFFICIAL if "label_A" not in v]
NORMAL = [v for v in OFFICIAL if "label_A" in v]


def write_host_truth(folder: Path, seed: int = 0) -> tuple[Path, dict[str, int], dict[str, list[tuple[int, int]]]]:
    """The host's files for all 800 official test videos: annotations.txt and frames.csv."""
    rng = np.random.default_rng(seed)
    frames = {v: int(rng.integers(100, 500)) for v in OFFICIAL}
    ranges: dict[str, list[tuple[int, int]]] = {}
    for v in VIOLENT:
        a = int(rng.integers(0, frames[v] - 40))
        ranges[v] = [(a, a + int(rng.integers(16, 120)))]
    ann = folder / "annotations.txt"
    ann.write_text("".join(f"{v} " + " ".join(f"{a} {b}" for a, b in r) + "\n" for v, r in ranges.items()),
                   encoding="utf-8")
    (folder / "frames.csv").write_text("video,frames\n" + "".join(f"{v},{n}\n" for v, n in frames.items()))
    return ann, frames, ranges


@pytest.fixture
def xd(tmp_path: Path) -> dict[str, object]:
    ann, frames, ranges = write_host_truth(tmp_path)
    rng = np.random.default_rng(1)
    scores = {}
    for v in OFFICIAL:
        n = (frames[v] - 1) // 16
        gt = xd_frame_truth(tuple(ranges.get(v, ())), n * 16).reshape(-1, 16).mean(axis=1)
        scores[v] = np.round(np.clip(0.35 * gt + rng.random(n) * 0.8, 0, 1), 2)  # informative, noisy
    return {"ann": ann, "scores": scores, "dir": tmp_path, "frames": frames, "ranges": ranges}


def official_ap(scores: dict[str, np.ndarray], ranges: dict[str, list[tuple[int, int]]]) -> tuple[float, float]:
    """The official recipe: per-frame gt over 16 x #snippets frames, scores repeated 16 times."""
    gt, pred = [], []
    for v, s in scores.items():
        g = np.zeros(len(s) * 16)
        for a, b in ranges.get(v, []):
            g[a:b] = 1
        gt.append(g)
        pred.append(np.repeat(s, 16))
    y, p = np.concatenate(gt), np.concatenate(pred)
    pr, rc, _ = precision_recall_curve(y, p)
    return float(auc(rc, pr)), float(average_precision_score(y, p))


def expected(xd_: dict[str, object]) -> tuple[float, float]:
    return official_ap(xd_["scores"], xd_["ranges"])  # type: ignore[arg-type]


def run(capsys, preds: Path, ann: Path) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    rc = main(["score", str(preds), "--task", "xd-violence", "--labels", str(ann), "--json", "--bootstrap", "50"])
    out, err = capsys.readouterr()
    return rc, out, err


def jsonl(path: Path, items: list[tuple[str, object]]) -> Path:
    path.write_text("".join(json.dumps({"video": v, "scores": s}) + "\n" for v, s in items))
    return path


def test_official_test_list_is_shipped() -> None:
    assert len(OFFICIAL) == 800 and len(set(OFFICIAL)) == 800
    assert (len(VIOLENT), len(NORMAL)) == (500, 300)
    assert OFFICIAL[0] == "Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6"


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
    assert data["n"] == 800 and data["main_score"] == "pr_auc"
    assert data["ci95"]["pr_auc"][0] <= pr_auc <= data["ci95"]["pr_auc"][1]


def test_xd_validation(xd, capsys) -> None:  # type: ignore[no-untyped-def]
    d: Path = xd["dir"]  # type: ignore[assignment]
    scores: dict[str, np.ndarray] = xd["scores"]  # type: ignore[assignment]
    full = [(v, s.tolist()) for v, s in scores.items()]
    short = [(v, s[:-1]) if i == 3 else (v, s) for i, (v, s) in enumerate(full)]
    cases = [
        (full[1:], "test video(s) missing"),
        ([*full, ("Unknown.Movie_label_B1", [0.1])], "not in the XD-Violence test set"),
        ([*full, full[0]], "scored twice"),
        ([(full[0][0], [0.1, "x"]), *full[1:]], "finite numbers"),
        (short, f"{full[3][0]}: expected {len(full[3][1])}, got {len(full[3][1]) - 1}"),
    ]
    for i, (items, needle) in enumerate(cases):
        rc, _, err = run(capsys, jsonl(d / f"bad{i}.jsonl", items), xd["ann"])
        assert rc == 2 and needle in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    p = d / "gap.csv"
    p.write_text("video,snippet,score\n" + "".join(f"{v},{i * 2},0.5\n" for v, s in scores.items() for i in range(len(s))))
    rc, _, err = run(capsys, p, xd["ann"])
    assert rc == 2 and "0 .. n-1" in err
    p = d / "nan.csv"
    p.write_text("video,snippet,score\n" + "".join(f"{v},{i},nan\n" for v, s in scores.items() for i in range(len(s))))
    rc, _, err = run(capsys, p, xd["ann"])
    assert rc == 2 and "non-finite" in err
    bad_ann = d / "bad" / "annotations.txt"
    bad_ann.parent.mkdir()
    bad_ann.write_text("video 10\n")
    (bad_ann.parent / "frames.csv").write_bytes((d / "frames.csv").read_bytes())
    rc, _, err = run(capsys, jsonl(d / "ok.jsonl", full), bad_ann)
    assert rc == 2 and "malformed annotation" in err


def test_truncating_and_dropping_normals_is_refused(xd, capsys) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 11: the truth's length came from the scores sent and normal videos were
    optional; cutting each violent video after its last violent snippet and leaving out the
    normal videos raised AP. Now the host's frame counts fix the truth and the attack is refused."""
    d: Path = xd["dir"]  # type: ignore[assignment]
    scores: dict[str, np.ndarray] = xd["scores"]  # type: ignore[assignment]
    ranges: dict[str, list[tuple[int, int]]] = xd["ranges"]  # type: ignore[assignment]
    cut = {v: s[: -(-max(b for _, b in ranges[v]) // 16)] for v, s in scores.items() if v in ranges}
    honest, _ = official_ap(scores, ranges)
    cheat, _ = official_ap(cut, ranges)  # what the old scorer computed for the cut file
    assert cheat > honest + 0.1, (honest, cheat)  # 0.585 -> 0.713 with these files
    rc, out, err = run(capsys, jsonl(d / "honest.jsonl", [(v, s.tolist()) for v, s in scores.items()]), xd["ann"])
    assert rc == 0 and abs(json.loads(out)["scores"]["pr_auc"] - honest) < 1e-9
    rc, _, err = run(capsys, jsonl(d / "cut.jsonl", [(v, s.tolist()) for v, s in cut.items()]), xd["ann"])
    assert rc == 2 and "300 test video(s) missing" in err, err
    normals = [(v, scores[v].tolist()) for v in NORMAL]
    rc, _, err = run(capsys, jsonl(d / "cut2.jsonl", [*((v, s.tolist()) for v, s in cut.items()), *normals]), xd["ann"])
    assert rc == 2 and "wrong number of snippet scores" in err and "expected" in err, err


def test_host_files_are_checked(xd, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d: Path = xd["dir"]  # type: ignore[assignment]
    ok = jsonl(d / "ok.jsonl", [(v, s.tolist()) for v, s in xd["scores"].items()])  # type: ignore[attr-defined]
    frames = (d / "frames.csv").read_text().splitlines()
    for name, text, needle in [
        ("missing", None, "frame counts"),
        ("short", "\n".join(frames[:-1]) + "\n", "1 test video(s) missing"),
        ("bad", "\n".join([*frames, "x,y"]) + "\n", "malformed or duplicate rows"),
    ]:
        host = tmp_path / name
        host.mkdir()
        (host / "annotations.txt").write_bytes(xd["ann"].read_bytes())  # type: ignore[attr-defined]
        if text is not None:
            (host / "frames.csv").write_text(text)
        rc, _, err = run(capsys, ok, host)  # --labels also takes the folder
        assert rc == 2 and needle in err, err


def test_reported_citations() -> None:
    """Issue 10 item 14: the XD-Violence results cite their own papers and say what differs."""
    from vaar.bench.reported import reported_for

    rep = {r.model: r for r in reported_for("xd-violence")}
    assert rep["HyperVD"].citation.startswith("Peng et al.") and "2305.18797" in rep["HyperVD"].url
    assert rep["MAVD"].citation.startswith("Jin et al.") and "2501.07496" in rep["MAVD"].url
    assert "RGB, audio and optical flow" in rep["MAVD"].citation
    assert rep["CFA"].value == 0.8634 and "2412.20455" in rep["CFA"].url
    assert "unverified" in rep["AVAR-Net"].citation and "unverified" not in reported_for("vaar-cls")[0].citation
