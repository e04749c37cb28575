"""Issue 19 item 9, fuzz-style: every reader of untrusted files, fed the same set of hostile files,
answers with one line on stderr and exit 2: never a traceback, never another exit code.

Each case runs the real command line (``vaar`` or ``vaar-bench`` in this process, as a user would
call it) on a file written here; memory stays bounded because every file is small and every reader
caps what it reads (the peak RSS of the large cases is measured by benchmarks/bench_refusals.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vaar.bench.cli import main as bench_main
from vaar.cli import main as vaar_main

HEADER = "clip_id,url,start,end,label,source_id,license,notes\n"
HOSTILE: dict[str, bytes] = {
    "huge_field": (HEADER + 'a,https://example.org/v,0.5,2.5,crash,,,"' + "A" * 200_000 + '"\n').encode(),
    "unclosed_quote": (HEADER + 'a,"https://example.org/v,0.5,2.5,crash\n' + "b\n" * 50).encode(),
    "nul_bytes": (HEADER + "a\x00b,https://example.org/v,0.5,2.5,crash,,,\n").encode(),
    "not_utf8": HEADER.encode() + b"a,\xff\xfe\xfa,0.5,2.5,crash,,,\n",
    "binary": bytes(range(256)) * 64,
    "huge_int": (HEADER + "a,https://example.org/v," + "9" * 5000 + ",2.5,crash,,,\n").encode(),
    "empty": b"",
    "bom_only": b"\xef\xbb\xbf",
    "header_formula": b'=HYPERLINK("x"),b\n1,2\n',
    "escapes": (HEADER + "a\x1b]0;t\x07,https://example.org/v,0.5,2.5,crash,,,\n").encode(),
}
UNPARSABLE = {"huge_field", "binary", "not_utf8", "empty", "bom_only", "header_formula"}
YAML_HOSTILE: dict[str, bytes] = {
    "huge_int": b"url: https://example.org\nnotes: " + b"9" * 5000 + b"\n",
    "aliases": b'a: &a ["x","x"]\nb: [*a,*a]\n',
    "deep": b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
    "binary": bytes(range(256)) * 16,
    "tabs": b"a:\n\t- b\n",
}


def _one_line(capsys: pytest.CaptureFixture[str], rc: int) -> str:
    out, err = capsys.readouterr()
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, (rc, err[-2000:])
    return lines[0]


@pytest.fixture
def good(tmp_path: Path) -> dict[str, Path]:
    labels = tmp_path / "labels.csv"
    labels.write_text("clip_id,label\na,crash\nb,normal\n", encoding="utf-8")
    preds = tmp_path / "preds.csv"
    preds.write_text("clip_id,label\na,crash\nb,normal\n", encoding="utf-8")
    media = tmp_path / "media"
    media.mkdir()
    return {"labels": labels, "preds": preds, "media": media}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_csv_readers_answer_one_line(case: str, tmp_path: Path, good: dict[str, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bad = tmp_path / f"{case}.csv"
    bad.write_bytes(HOSTILE[case])
    runs = {
        "candidate list (review)": (vaar_main, ["review", str(bad), "--media", str(good["media"]),
                                                "--out", str(tmp_path / "r.csv")]),
        "labels (score --labels)": (bench_main, ["score", str(good["preds"]), "--labels", str(bad)]),
        "predictions (score)": (bench_main, ["score", str(bad), "--labels", str(good["labels"])]),
    }
    if case in UNPARSABLE:  # a reviewed file with a clip_id and label column is data, not an attack
        runs["reviewed files (review --agreement)"] = (vaar_main, ["review", "--agreement", str(bad), str(bad)])
    for what, (main, args) in runs.items():
        line = _one_line(capsys, main(args))
        assert "\x1b" not in line and "\x07" not in line, (what, line)
    # build --check-only reports every invalid row (one line each, then a count): exit 2, no traceback
    rc = vaar_main(["build", str(bad), "--check-only"])
    out, err = capsys.readouterr()
    lines = [x for x in (out + err).strip().splitlines() if x.strip()]
    assert rc == 2 and "Traceback" not in out + err
    assert all(str(bad) in x or "row(s) valid" in x for x in lines), lines
    assert all(len(x) < 400 and "\x1b" not in x for x in lines), lines


@pytest.mark.parametrize("case", sorted(YAML_HOSTILE))
def test_meta_yaml_answers_one_line(case: str, tmp_path: Path, good: dict[str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    meta = tmp_path / "meta.yaml"
    meta.write_bytes(YAML_HOSTILE[case])
    rc = bench_main(["submit", str(good["preds"]), "--name", "m", "--labels", str(good["labels"]),
                     "--leaderboard", str(tmp_path / "board"), "--meta", str(meta)])
    assert "cannot read model metadata" in _one_line(capsys, rc) or case == "binary"
