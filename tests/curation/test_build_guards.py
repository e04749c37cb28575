"""Guards between discover, review and build: an unreviewed candidates file is not a source list,
a candidates build never suggests publishing, rows cut from XD-Violence test videos are flagged
(discover) and warned about (build)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.fixtures.review import COLUMNS, build_candidates
from vaar.cli import main as vaar_main
from vaar.curation.xd_overlap import xd_test_ids, youtube_id

XD_ID = sorted(xd_test_ids())[0]


def write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def row(clip_id: str = "c1", url: str = "https://example.org/a.mp4", **extra: str) -> dict[str, str]:
    return {"clip_id": clip_id, "url": url, "start": "1", "end": "3", "label": "explosion", "source_id": "",
            "license": "", "notes": "", "seed": "vggsounder", "seed_label": "x", "seed_flags": "", **extra}


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    rc = vaar_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_candidates_file_is_not_a_source_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cands = write(tmp_path / "candidates.csv", [row()], COLUMNS)
    for args in (["build", "--check-only", cands], ["build", cands, "--out", tmp_path / "out"]):
        rc, out, err = run(capsys, *args)
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1, err
        assert "a candidates file from `vaar discover`" in lines[0] and f"vaar review {cands}" in lines[0]
    assert not (tmp_path / "out").exists()
    # the same file is fine as a candidate list
    rc, _, err = run(capsys, "build", "--check-only", "--candidates", cands)
    assert rc == 0, err


def test_reviewed_list_with_provenance_is_a_source_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reviewed = write(tmp_path / "reviewed.csv", [row(reviewed_by="alice")], [*COLUMNS, "reviewed_by"])
    rc, _, err = run(capsys, "build", "--check-only", reviewed)
    assert rc == 0 and "1 row(s) valid" in err


def test_build_warns_about_xd_violence_test_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = ["clip_id", "url", "start", "end", "label"]
    rows = [{"clip_id": "xd1", "url": f"https://www.youtube.com/watch?v={XD_ID}&t=5", "start": "1", "end": "3",
             "label": "explosion"},
            {"clip_id": "ok1", "url": "https://www.youtube.com/watch?v=AAAAAAAAAAA", "start": "1", "end": "3",
             "label": "explosion"}]  # fmt: skip
    rc, _, err = run(capsys, "build", "--check-only", write(tmp_path / "s.csv", rows, plain))
    warn = [x for x in err.splitlines() if x.startswith("warning:")]
    assert rc == 0 and len(warn) == 1 and "1 row(s) are cut from XD-Violence test videos (xd1)" in warn[0]
    assert youtube_id(f"https://youtu.be/{XD_ID}") == XD_ID and youtube_id(f"https://evil.example/watch?v={XD_ID}") is None


def test_discover_flags_candidates_from_xd_violence_test_videos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = tmp_path / "names.txt"
    names.write_text(f"v={XD_ID}__#1_label_B1-0-0\nv=AAAAAAAAAAA__#1_label_B1-0-0\n", encoding="utf-8")
    out = tmp_path / "cands.csv"
    rc, _, err = run(capsys, "discover", "--from", "xd-violence-list", names, "--out", out)
    assert rc == 0, err
    flags = {r["url"][-11:]: r["seed_flags"].split(";") for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert "xd_violence_test" in flags[XD_ID] and "xd_violence_test" not in flags["AAAAAAAAAAA"]


def test_candidates_build_never_suggests_publishing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    build_candidates(tmp_path, n_sources=1, clips_per_source=1, spanless=False, workers=1)
    out, _ = capsys.readouterr()
    assert "publish with" not in out and "vaar publish" not in out
    assert "never published" in out and "review them: vaar review" in out


def test_reviewer_id_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cands = write(tmp_path / "c.csv", [row()], COLUMNS)
    (tmp_path / "media").mkdir()
    rc, _, err = run(capsys, "review", cands, "--media", tmp_path / "media", "--out", tmp_path / "r.csv",
                     "--reviewer", "<script>x</script>")  # fmt: skip
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "--reviewer" in lines[0]
