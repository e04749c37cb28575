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
    rc, out, _ = score(capsys, path, small["labels"], "--json", "--per-class")  # host: per-class shown
    assert rc == 0
    data = json.loads(out)
    assert data["task"] == "vaar-cls" and data["n"] == 200 and len(data["split_sha256"]) == 64
    assert set(data["scores"]) == {"accuracy", "macro_f1", "mean_ap", "anomaly_ap", "anomaly_pr_auc"}
    assert set(data["per_class"]) == set(SLUGS)
    assert all(len(v) == 2 for v in data["ci95"].values())
    ref = json.loads(score(capsys, small["preds"], small["labels"], "--json")[1])
    assert data["scores"] == ref["scores"]
    assert ref["per_class"] == {}  # private labels (--labels): no per-class detail without --per-class


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
    rc, out, _ = score(capsys, small["preds"], small["labels"], "--per-class")
    assert rc == 0 and "Macro-F1" in out and "police_siren" in out
    rc, out, _ = score(capsys, small["preds"], small["labels"])  # private labels: no per-class table
    assert rc == 0 and "Macro-F1" in out and "police_siren" not in out
    assert np.isfinite(float(out.split("Macro-F1")[1].split()[0]))


# --- bounded resources: refused files stay cheap (peak RSS measured in a fresh process) ---------

# peak RSS of this process: VmHWM, which starts afresh at exec (getrusage's ru_maxrss is carried
# over from the forking pytest process on Linux, so it would report the test's own peak)
RSS_CODE = ("import sys\nfrom vaar.bench.cli import main\nrc = main(sys.argv[1:])\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "print('RESULT', rc, int(hwm) / 1024)")


def cli_rss(*args: str) -> tuple[int, str, float]:
    """Run ``vaar-bench ARGS`` in a fresh Python; (exit code, stderr, peak RSS in MB)."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", RSS_CODE, *args], capture_output=True, text=True, timeout=300)
    last = p.stdout.strip().splitlines()[-1].split()
    assert last[0] == "RESULT", (p.stdout, p.stderr)
    return int(last[1]), p.stderr, float(last[2])


def test_billion_laughs_meta_is_refused(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    meta = tmp_path / "laughs.yaml"
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    rows.append("notes: *i")
    meta.write_text("\n".join(rows) + "\n")
    rc, err, rss = cli_rss("submit", str(small["preds"]), "--name", "x", "--labels", str(small["labels"]),
                           "--leaderboard", str(tmp_path / "b"), "--meta", str(meta))
    assert rc == 2 and "aliases" in err and len(err.strip().splitlines()) == 1, err
    assert rss < 500, rss


@pytest.mark.parametrize("body,why", [
    ("notes: " + "x" * 600 + "\n", "at most 500"),
    ("url: https://example.org/" + "a" * 400 + "\n", "at most 300"),
    ("url: 'javascript:alert(1)'\n", "does not match"),
    ("x" * 20_000 + ": 1\n", "over 16 KB"),
])
def test_meta_fields_are_capped(small, capsys, tmp_path: Path, body: str, why: str) -> None:  # type: ignore[no-untyped-def]
    meta = tmp_path / "m.yaml"
    meta.write_text(body)
    rc = main(["submit", str(small["preds"]), "--name", "x", "--labels", str(small["labels"]),
               "--leaderboard", str(tmp_path / "b"), "--meta", str(meta)])
    err = capsys.readouterr().err
    assert rc == 2 and why in err and len(err.strip().splitlines()) == 1, err


def test_parquet_of_ten_million_rows_is_refused_from_its_footer(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "huge.parquet"
    chunk = pa.table({"clip_id": pa.array(["clip00000"] * 1_000_000).dictionary_encode(),
                      "label": pa.array(["abuse"] * 1_000_000).dictionary_encode()})
    with pq.ParquetWriter(path, chunk.schema, compression="zstd") as w:
        for _ in range(10):
            w.write_table(chunk)
    assert path.stat().st_size < 2_000_000
    rc, err, rss = cli_rss("score", str(path), "--labels", str(small["labels"]))
    assert rc == 2 and "more than 216 rows" in err and len(err.strip().splitlines()) == 1, err
    assert rss < 500, rss


def test_parquet_declaring_a_huge_uncompressed_size_is_refused(small, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "wide.parquet"
    big = pa.table({"clip_id": ["clip00000"], "label": ["a" * (40 << 20)]})
    with pq.ParquetWriter(path, big.schema, compression="zstd", use_dictionary=False) as w:
        for _ in range(16):  # 16 row groups of 40 MB: 640 MB declared, a few KB on disk
            w.write_table(big)
    rc, err, rss = cli_rss("score", str(path), "--labels", str(small["labels"]))
    assert rc == 2 and "uncompressed" in err, err
    assert rss < 500, rss


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_text_files_are_streamed_and_capped(small, tmp_path: Path, fmt: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"many.{fmt}"
    with open(path, "w") as f:
        if fmt == "csv":
            f.write("clip_id,label\n")
            f.writelines("clip00000,abuse\n" for _ in range(3_000_000))
        else:
            f.writelines('{"clip_id": "clip00000", "label": "abuse"}\n' for _ in range(1_500_000))
    rc, err, rss = cli_rss("score", str(path), "--labels", str(small["labels"]))
    assert rc == 2 and "more than 216 rows" in err and len(err.strip().splitlines()) == 1, err
    assert rss < 500, rss


@pytest.mark.parametrize("value,needle", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("1" * 4300, "4300 digits"),
    ("1" + "0" * 400, "401 digits"),  # would overflow a float: OverflowError before
    ("1e999", "too large"),
])
def test_hostile_json_numbers_and_nesting(small, capsys, tmp_path: Path, value: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "h.jsonl"
    rows = [json.dumps({"clip_id": c, "label": "abuse", **{k: 0.1 for k in SCORE_COLS}}) for c in small["ids"]]
    rows[3] = rows[3].replace('"score_abuse": 0.1', f'"score_abuse": {value}')
    p.write_text("\n".join(rows) + "\n")
    _expect(capsys, p, small["labels"], needle, "line 4")


@pytest.mark.parametrize("flag,value", [("--seed", "-1"), ("--seed", "9" * 30), ("--bootstrap", "9" * 30)])
def test_out_of_range_numbers_are_one_line(small, capsys, flag: str, value: str) -> None:  # type: ignore[no-untyped-def]
    rc = main(["score", str(small["preds"]), "--labels", str(small["labels"]), flag, value])
    err = capsys.readouterr().err
    assert rc == 2 and flag in err and len(err.strip().splitlines()) == 1, err


def test_csv_field_over_the_limit_is_named(small, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "wide.csv"
    p.write_text("clip_id,label\nclip00000," + "x" * 200_000 + "\n")
    _expect(capsys, p, small["labels"], "line 2 has a field longer than 128 KB")
