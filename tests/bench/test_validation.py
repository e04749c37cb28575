"""Untrusted predictions: every malformed file is refused with one clear line and exit code 2."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.bench.benchdata import SCORE_COLS, SLUGS, write_predictions
from vaar.bench.cli import main


def score(capsys: pytest.CaptureFixture[str], preds: Path, labels: Path, *extra: str) -> tuple[int, str, str]:
    rc = main(["score", str(preds), "--labels", str(labels), "--bootstrap", "20", *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def rewrite(src: Path, dst: Path, fn) -> Path:  # type: ignore[no-untyped-def]
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    dst.write_text("".join(fn(lines)), encoding="utf-8")
    return dst


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_all_formats_score_the_same(small, capsys, fmt: str) -> None:  # type: ignore[no-untyped-def]
    d = small["dir"]
    path = write_predictions(d / f"p.{fmt}", small["ids"], small["scores"])
    rc, out, _ = score(capsys, path, small["labels"], "--json")
    assert rc == 0
    data = json.loads(out)
    assert data["task"] == "vaar-cls" and data["n"] == 200 and len(data["split_sha256"]) == 64
    assert set(data["scores"]) == {"accuracy", "macro_f1", "mean_ap", "anomaly_ap", "anomaly_pr_auc"}
    assert set(data["per_class"]) == set(SLUGS)
    assert all(len(v) == 2 for v in data["ci95"].values())
    ref = json.loads(score(capsys, small["preds"], small["labels"], "--json")[1])
    assert data["scores"] == ref["scores"]


def _expect(capsys, preds: Path, labels: Path, *needles: str) -> str:  # type: ignore[no-untyped-def]
    rc, out, err = score(capsys, preds, labels)
    assert rc == 2, (out, err)
    assert err.count("\n") == 1, err  # one line
    assert str(preds) in err
    for needle in needles:
        assert needle in err, err
    return err


def test_missing_clips(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = rewrite(small["preds"], small["dir"] / "m.csv", lambda ls: ls[:-7])
    _expect(capsys, p, small["labels"], "7 clip(s) of the split missing", "clip00193", "and 2 more")


def test_extra_clips(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = rewrite(small["preds"], small["dir"] / "x.csv", lambda ls: ls + [ls[1].replace("clip00000", "ghost")])
    _expect(capsys, p, small["labels"], "not in the split", "ghost")


def test_duplicates(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = rewrite(small["preds"], small["dir"] / "d.csv", lambda ls: ls + [ls[3]])
    _expect(capsys, p, small["labels"], "duplicate clip_id", "clip00002")


def test_label_outside_taxonomy(small, capsys) -> None:  # type: ignore[no-untyped-def]
    labels = [SLUGS[0]] * 200
    labels[4] = "fight"
    p = write_predictions(small["dir"] / "l.csv", small["ids"], small["scores"], labels)
    _expect(capsys, p, small["labels"], "outside the taxonomy", "line 6: 'fight'")


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_scores(small, capsys, bad: str) -> None:  # type: ignore[no-untyped-def]
    s = small["scores"].copy()
    s[2, 1] = float(bad)
    p = write_predictions(small["dir"] / "n.csv", small["ids"], s, [SLUGS[0]] * 200)
    _expect(capsys, p, small["labels"], "non-finite", "score_baby_cry", "line 4")


def test_non_numeric_scores(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = rewrite(small["preds"], small["dir"] / "t.csv",
                lambda ls: ls[:2] + [ls[2].replace(ls[2].split(",")[3], "high", 1)] + ls[3:])
    _expect(capsys, p, small["labels"], "non-numeric", "line 3: 'high'")


def test_wrong_column_names(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = rewrite(small["preds"], small["dir"] / "c.csv", lambda ls: [ls[0].replace("clip_id", "id", 1)] + ls[1:])
    _expect(capsys, p, small["labels"], "missing column(s)", "clip_id")
    p = rewrite(small["preds"], small["dir"] / "c2.csv", lambda ls: [ls[0].replace("score_pain", "score_hurt")] + ls[1:])
    _expect(capsys, p, small["labels"], "unexpected column(s)", "score_hurt")


def test_partial_score_columns(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import csv

    p = tmp_path / "partial.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip_id", "label", *SCORE_COLS[:3]])
        for cid in small["ids"]:
            w.writerow([cid, "normal", 0.1, 0.2, 0.3])
    _expect(capsys, p, small["labels"], "every class or none", "score_explosion")


def test_empty_and_header_only(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = small["dir"] / "e.csv"
    p.write_bytes(b"")
    _expect(capsys, p, small["labels"], "file is empty")
    p.write_text("clip_id,label\n")
    _expect(capsys, p, small["labels"], "no rows")


def test_wrong_encoding(small, capsys) -> None:  # type: ignore[no-untyped-def]
    p = small["dir"] / "enc.csv"
    p.write_bytes(small["preds"].read_bytes().replace(b"clip00003", "clip0000\u00e9".encode("latin-1")))
    _expect(capsys, p, small["labels"], "not UTF-8", "line 5", "re-save")


def test_size_limit(small, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = score(capsys, small["preds"], small["labels"], "--max-mb", "0.001")
    assert rc == 2 and "over the" in err and "limit" in err


def test_pickles_are_never_loaded(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (marker.write_text, ("x",))

    for name in ("p.pkl", "p.csv", "p.parquet"):
        p = tmp_path / name
        p.write_bytes(pickle.dumps(Evil()))
        rc, _, err = score(capsys, p, small["labels"])
        assert rc == 2 and "pickle" in err, err
    assert not marker.exists()


def test_unreadable_formats(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "p.xlsx"
    p.write_bytes(b"PK\x03\x04junk")
    _expect(capsys, p, small["labels"], "unsupported format")
    p = tmp_path / "p.parquet"
    p.write_bytes(b"PAR1 this is not parquet PAR1")
    _expect(capsys, p, small["labels"], "cannot be read as Parquet")
    p = tmp_path / "p.jsonl"
    p.write_text('{"clip_id": "a", "label": "normal"}\nnot json\n')
    _expect(capsys, p, small["labels"], "not JSON objects", "line 2")
    p = tmp_path / "ragged.csv"
    p.write_text("clip_id,label\nclip00000,normal,extra\n")
    _expect(capsys, p, small["labels"], "field count", "line 2")


def test_missing_file(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _expect(capsys, tmp_path / "nope.csv", small["labels"], "cannot open")


def test_unknown_task_lists_valid(small, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = score(capsys, small["preds"], small["labels"], "--task", "vaar-det")
    assert rc == 2 and "vaar-cls" in err and "xd-violence" in err


def test_labels_only_predictions(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = write_predictions(tmp_path / "lab.csv", small["ids"], None, [SLUGS[c] for c in small["y"]])
    rc, out, _ = score(capsys, p, small["labels"], "--json")
    data = json.loads(out)
    assert rc == 0 and data["scores"]["accuracy"] == 1.0 and data["scores"]["mean_ap"] is None


def test_binary_accepts_anomaly_label_and_score(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    normal = SLUGS.index("normal")
    s = 1 - small["scores"][:, normal]
    p = tmp_path / "bin.csv"
    p.write_text("clip_id,label,score_anomaly\n" + "".join(
        f"{c},{'anomaly' if v > 0.5 else 'normal'},{v}\n" for c, v in zip(small["ids"], s, strict=True)))
    rc, out, _ = score(capsys, p, small["labels"], "--task", "vaar-binary", "--json")
    assert rc == 0
    from sklearn.metrics import average_precision_score

    assert abs(json.loads(out)["scores"]["ap"] - average_precision_score(small["y"] != normal, s)) < 1e-9


def test_text_output(small, capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = score(capsys, small["preds"], small["labels"])
    assert rc == 0 and "Macro-F1" in out and "police_siren" in out
    assert np.isfinite(float(out.split("Macro-F1")[1].split()[0]))
