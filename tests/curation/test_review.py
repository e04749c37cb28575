"""`vaar build --candidates` + `vaar review`: decisions, resume, the server's guards, agreement.

The clips are built for real (ffmpeg sources served on 127.0.0.1, yt-dlp, the pipeline) once per
module; the browser test is in test_review_browser.py.
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.review import HOSTILE_NOTE, build_candidates
from vaar.cli import main as vaar_main
from vaar.core.contracts.source_list import read_sources
from vaar.curation.review.agreement import Call, agreement, cohen_kappa, read_calls
from vaar.curation.review.decisions import DecisionError, review_paths
from vaar.curation.review.server import CSP, ReviewServer, safe_media_path
from vaar.curation.review.session import ReviewSession


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_candidates(tmp_path_factory.mktemp("review"))


@pytest.fixture
def server(built: tuple[Path, Path], tmp_path: Path) -> Iterator[ReviewServer]:
    cands, media = built
    with ReviewServer(ReviewSession(cands, media, tmp_path / "reviewed.csv")) as srv:
        yield srv


def request(srv: ReviewServer, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        hdrs = {"Host": f"127.0.0.1:{srv.port}", **(headers or {})}
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_candidates_build_makes_clips_and_publishes_nothing(built: tuple[Path, Path]) -> None:
    cands, out = built
    rows = {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    assert {c for c, r in rows.items() if r["status"] == "ok"} == {"cand-0-0", "cand-0-1", "cand-1-0", "cand-1-1"}
    assert rows["xd-nospan"]["status"] == "invalid"  # no span yet: review must trim it first
    assert all(r["sync_verdict"] for c, r in rows.items() if r["status"] == "ok")  # QC and sync ran
    assert (out / rows["cand-0-0"]["video_path"]).is_file()
    assert not (out / "dataset").exists()


def test_decisions_are_written_at_once_and_resume(built: tuple[Path, Path], tmp_path: Path) -> None:
    cands, media = built
    out = tmp_path / "rev" / "reviewed.csv"
    s = ReviewSession(cands, media, out)
    assert s.store.first_undecided() == 0
    store = s.store
    store.record(store.check({"clip_id": "cand-0-0", "action": "accept", "label": "police_siren",
                              "start": 0.54, "end": 2.5}))  # fmt: skip
    # written before anything else happens: a new session (a reopened browser) sees it
    again = ReviewSession(cands, media, out)
    assert again.store.first_undecided() == 1
    again.store.record(again.store.check({"clip_id": "cand-0-1", "action": "reject", "label": "police_siren",
                                          "reason": "no audible   event"}))  # fmt: skip
    again.store.record(again.store.check({"clip_id": "cand-1-0", "action": "accept", "label": "crash",
                                          "start": 0.5, "end": 2.46}))  # fmt: skip
    third = ReviewSession(cands, media, out)
    assert third.store.first_undecided() == 3
    reviewed, rejected, log = review_paths(out)
    assert not list(out.parent.glob(".*tmp*"))  # temporary files renamed away
    # the reviewed file is a source list vaar build accepts, provenance columns kept
    valid, invalid = read_sources([reviewed])
    assert not invalid and [(r.clip_id, r.label, r.start, r.end) for r in valid] == [
        ("cand-0-0", "police_siren", 0.54, 2.5), ("cand-1-0", "crash", 0.5, 2.46)]
    rows = list(csv.DictReader(io.StringIO(reviewed.read_text(encoding="utf-8"))))
    assert rows[0]["seed"] == "vggsounder" and rows[0]["seed_label"] == "seed label 0"
    assert rows[0]["notes"] == HOSTILE_NOTE  # kept as data, verbatim
    rej = list(csv.DictReader(io.StringIO(rejected.read_text(encoding="utf-8"))))
    assert [(r["clip_id"], r["reason"]) for r in rej] == [("cand-0-1", "no audible event")]
    assert len(log.read_text().splitlines()) == 3
    # a later decision on a clip overrides the earlier one
    third.store.record(third.store.check({"clip_id": "cand-0-1", "action": "accept", "label": "police_siren",
                                          "start": 2.5, "end": 4.5}))  # fmt: skip
    assert [r.clip_id for r in read_sources([reviewed])[0]] == ["cand-0-0", "cand-0-1", "cand-1-0"]
    assert "cand-0-1" not in rejected.read_text()


@pytest.mark.parametrize("bad", [
    {"clip_id": "nope", "action": "accept", "label": "crash", "start": 0, "end": 2},
    {"clip_id": "cand-0-0", "action": "delete", "label": "crash", "start": 0, "end": 2},
    {"clip_id": "cand-0-0", "action": "accept", "label": "not_a_class", "start": 0, "end": 2},
    {"clip_id": "cand-0-0", "action": "accept", "label": "crash", "start": 2, "end": 1},
    {"clip_id": "cand-0-0", "action": "accept", "label": "crash", "start": "nan", "end": 2},
    {"clip_id": "xd-nospan", "action": "accept", "label": "brawling"},  # no span: trim first
    {"clip_id": "cand-0-0", "action": "reject", "label": "crash", "reason": "  "},
    {"clip_id": "cand-0-0", "action": "reject", "label": "crash", "reason": "x" * 301},
])  # fmt: skip
def test_bad_decisions_are_refused(built: tuple[Path, Path], tmp_path: Path, bad: dict) -> None:
    s = ReviewSession(*built, tmp_path / "reviewed.csv")
    with pytest.raises(DecisionError):
        s.store.check(bad)


def test_spanless_candidate_accepted_once_trimmed(built: tuple[Path, Path], tmp_path: Path) -> None:
    s = ReviewSession(*built, tmp_path / "reviewed.csv")
    s.store.record(s.store.check({"clip_id": "xd-nospan", "action": "accept", "label": "brawling",
                                  "start": 1, "end": 3.5}))  # fmt: skip
    valid, invalid = read_sources([tmp_path / "reviewed.csv"])
    assert not invalid and (valid[0].start, valid[0].end) == (1.0, 3.5)


def test_server_binds_loopback_with_csp_and_range(server: ReviewServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    code, headers, body = request(server, "GET", "/")
    assert code == 200 and headers["content-security-policy"] == CSP and "script-src 'self'" in CSP
    assert "<script>" not in body.decode().replace('<script src="/app.js"></script>', "")
    state = json.loads(request(server, "GET", "/api/state")[2])
    video = state["items"][0]["video"]
    full = request(server, "GET", video)[2]
    code, headers, part = request(server, "GET", video, headers={"Range": "bytes=100-199"})
    assert code == 206 and part == full[100:200] and headers["content-range"] == f"bytes 100-199/{len(full)}"
    code, headers, part = request(server, "GET", video, headers={"Range": "bytes=-50"})
    assert code == 206 and part == full[-50:]
    assert request(server, "GET", video, headers={"Range": f"bytes={len(full)}-"})[0] == 416
    code, headers, png = request(server, "GET", "/preview/strip/cand-0-0.png")
    assert code == 200 and png.startswith(b"\x89PNG")
    # another site's name for this address (DNS rebinding) is refused
    assert request(server, "GET", "/api/state", headers={"Host": "evil.example:80"})[0] == 403


TRAVERSALS = [
    "/media/../manifest.parquet", "/media/..%2fmanifest.parquet", "/media/%2e%2e/%2e%2e/secret.mp4",
    "/media/%2e%2e%2fsecret.mp4", "/media/%252e%252e%252fsecret.mp4", "/media/clips/..%2f..%2f..%2fsecret.mp4",
    "/media/..%5c..%5csecret.mp4", "/media/%2fetc%2fpasswd", "/media//etc/passwd", "/media/clips/%00.mp4",
    "/media/ledger.sqlite", "/media/.hidden.mp4", "/media/link.mp4", "/preview/strip/..%2f..%2fsecret.png",
    "/media/%c0%ae%c0%ae/secret.mp4", "/../secret.mp4",
]  # fmt: skip


def test_path_traversal_is_refused(built: tuple[Path, Path], server: ReviewServer) -> None:
    _, media = built
    secret = media.parent / "secret.mp4"  # beside --media, not under it
    secret.write_bytes(b"SECRET")
    (media / ".hidden.mp4").write_bytes(b"SECRET")
    link = media / "link.mp4"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    for path in TRAVERSALS:
        code, _, body = request(server, "GET", path)
        assert code == 404 and b"SECRET" not in body, path
    assert safe_media_path(media, "clips/police_siren/cand-0-0.mp4") is not None


def test_posts_need_the_session_token(server: ReviewServer) -> None:
    body = json.dumps({"clip_id": "cand-0-0", "action": "accept", "label": "crash", "start": 0.5, "end": 2.5}).encode()
    ctype = {"Content-Type": "application/json"}
    assert request(server, "POST", "/api/decide", body, ctype)[0] == 403
    assert request(server, "POST", "/api/decide", body, {**ctype, "X-Review-Token": "guess"})[0] == 403
    # a cross-site form post cannot set the header; a text/plain body is refused even with it
    tok = {"X-Review-Token": server.token}
    assert request(server, "POST", "/api/decide", body, {"Content-Type": "text/plain", **tok})[0] == 415
    assert request(server, "POST", "/api/decide", b"[1]", {**ctype, **tok})[0] == 400
    assert request(server, "POST", "/api/decide", b"x" * 20000, {**ctype, **tok})[0] == 413
    assert not server.session.store.decisions
    code, _, resp = request(server, "POST", "/api/decide", body, {**ctype, **tok})
    assert code == 200 and json.loads(resp)["first_undecided"] == 1
    assert "cand-0-0" in server.session.store.paths[0].read_text()


def test_server_refuses_other_interfaces(server: ReviewServer) -> None:
    # 127.0.0.2 is on the loopback interface too: a server bound to 0.0.0.0 would answer there
    ips = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} | {"127.0.0.2"}
    ips.discard("127.0.0.1")
    for ip in ips:
        with pytest.raises(OSError):
            socket.create_connection((ip, server.port), timeout=2).close()


def test_cohen_kappa_by_hand() -> None:
    # 10 items: a/b agree on 7; marginals a: x6 y4, b: x5 y5 -> p_o .7, p_e .5, kappa .4
    a = list("xxxxxxyyyy")
    b = list("xxxxyyyyyx")
    assert sum(p == q for p, q in zip(a, b, strict=True)) == 7
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(list("xxx"), list("xxx")) is None  # p_e = 1: undefined
    assert cohen_kappa(list("xy"), list("yx")) == pytest.approx(-1.0)


def test_agreement_per_class_and_disagreements() -> None:
    a = {"c1": Call("crash"), "c2": Call("crash"), "c3": Call("rejected"), "c4": Call("explosion", 0, 2), "c5": Call("crash")}
    b = {"c1": Call("crash"), "c2": Call("explosion"), "c3": Call("rejected"), "c4": Call("explosion", 1, 3), "c6": Call("crash")}
    rep = agreement(a, b, ("crash", "explosion"))
    assert (rep.n, rep.only_a, rep.only_b) == (4, 1, 1)
    assert rep.disagreements == [("c2", "crash", "explosion")]
    assert rep.span_disagreements == [("c4", "0-2", "1-3")]
    # crash?: a yes,yes,no,no b yes,no,no,no -> p_o .75, p_e (.5*.25+.5*.75)=.5 -> .5
    assert rep.per_class["crash"][0] == pytest.approx(0.5)
    assert rep.per_class["rejected"][0] == pytest.approx(1.0)
    # overall categories: a crash,crash,rej,exp; b crash,exp,rej,exp: p_o .75, p_e (2*1+1*1+1*2)/16
    assert rep.overall == pytest.approx((0.75 - 5 / 16) / (1 - 5 / 16))


def test_agreement_cli_reads_reviewed_files(built: tuple[Path, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    files = []
    for who, second in (("a", ("accept", "police_siren")), ("b", ("reject", ""))):
        s = ReviewSession(*built, tmp_path / who / "reviewed.csv")
        s.store.record(s.store.check({"clip_id": "cand-0-0", "action": "accept", "label": "police_siren",
                                      "start": 0.5, "end": 2.5}))  # fmt: skip
        s.store.record(s.store.check({"clip_id": "cand-0-1", "action": second[0], "label": "police_siren",
                                      "start": 2.5, "end": 4.5, "reason": "wrong class"}))  # fmt: skip
        files.append(s.store.paths[0])
    assert read_calls(files[1])["cand-0-1"] == Call("rejected")  # from reviewed.rejected.csv
    assert vaar_main(["review", "--agreement", str(files[0]), str(files[1])]) == 0
    out = capsys.readouterr().out
    assert "cand-0-1" in out and "overall" in out and "police_siren" in out
    assert vaar_main(["review", "--agreement", str(files[0]), str(tmp_path / "missing.csv")]) == 2


@contextlib.contextmanager
def _review_cli(cands: Path, media: Path, out: Path) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """``vaar review`` in its own process: (the process, its first line, the URL it serves on)."""
    proc = subprocess.Popen([sys.executable, "-m", "vaar.cli", "review", str(cands), "--media", str(media),
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline())
        assert url, "no URL printed"
        yield proc, first, url.group(0)
    finally:
        proc.kill()


def test_cli_serves_on_loopback_and_stops_cleanly(built: tuple[Path, Path], tmp_path: Path) -> None:
    cands, media = built
    with _review_cli(cands, media, tmp_path / "reviewed.csv") as (proc, first, url):
        assert "5 candidate(s) (4 with a built clip, 1 with a source preview, 0 already decided)" in first
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and b"vaar review" in r.read()
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err
    assert "0 accepted, 0 rejected, 5 undecided" in rest


def test_cli_refuses_bad_arguments(built: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cands, media = built
    assert vaar_main(["review", str(cands), "--media", str(tmp_path / "nope"), "--out", str(tmp_path / "r.csv")]) == 2
    assert vaar_main(["review", str(cands)]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("clip_id,url,label\n../etc,http://x,crash\n", encoding="utf-8")
    assert vaar_main(["review", str(bad), "--media", str(media), "--out", str(tmp_path / "r.csv")]) == 2
    err = capsys.readouterr().err
    assert "unsafe clip_id" in err and "Traceback" not in err


def test_previews_drawn_once_and_cached(built: tuple[Path, Path], tmp_path: Path) -> None:
    import struct

    from vaar.core.errors import StageError
    from vaar.curation.review.previews import KINDS, WIDTH, PreviewCache

    s = ReviewSession(*built, tmp_path / "reviewed.csv", cache_dir=tmp_path / "cache")
    m = s.media("cand-1-0")
    assert m is not None and m.kind == "clip" and m.source_start == 0.5
    spanless = s.media("xd-nospan")  # a whole-source preview (source time 0 = its time 0), not a clip
    assert spanless is not None and spanless.kind == "source" and spanless.source_start == 0.0
    paths = {k: s.previews.get(k, m.video, m.key, m.duration) for k in KINDS}
    assert len(set(paths.values())) == 3
    for p in paths.values():
        head = p.read_bytes()[:24]
        assert head.startswith(b"\x89PNG") and struct.unpack(">I", head[16:20])[0] == WIDTH
    stamp = {k: p.stat().st_mtime_ns for k, p in paths.items()}
    assert {k: s.previews.get(k, m.video, m.key, m.duration).stat().st_mtime_ns for k in KINDS} == stamp
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(m.video.read_bytes()[:500])
    with pytest.raises(StageError):
        PreviewCache(tmp_path / "c2").get("wave", broken, "k", 2.0)
    assert not [p for p in (tmp_path / "c2").iterdir() if p.name.endswith(".png")]


def test_reviewed_list_builds_reusing_the_candidate_clips(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Built into the candidates' folder, unchanged accepted clips are not processed again."""
    import shutil

    from vaar.curation.build.pipeline import BuildConfig, run_build

    cands, media = built
    folder = tmp_path / "build"
    shutil.copytree(media, folder)
    s = ReviewSession(cands, folder, tmp_path / "reviewed.csv")
    for cid, start in (("cand-0-0", 0.5), ("cand-0-1", 2.5), ("cand-1-0", 0.5)):
        s.store.record(s.store.check({"clip_id": cid, "action": "accept", "label": {c.clip_id: c for c in s.candidates}[cid].label,
                                      "start": start, "end": start + 2}))  # fmt: skip
    s.store.record(s.store.check({"clip_id": "cand-1-1", "action": "accept", "label": "crash",  # relabelled
                                  "start": 2.5, "end": 4.5}))  # fmt: skip
    report = run_build([tmp_path / "reviewed.csv"], folder, BuildConfig(workers=1, do_publish=False))
    assert (report.skipped, report.processed) == (3, 1)
    rows = {r["clip_id"]: r for r in pq.read_table(folder / "manifest.parquet").to_pylist()}
    assert set(rows) == {"cand-0-0", "cand-0-1", "cand-1-0", "cand-1-1"}  # the unreviewed row is gone
    assert all(rows[c]["status"] == "ok" for c in ("cand-0-0", "cand-0-1", "cand-1-0"))
    assert rows["cand-1-1"]["label"] == "crash"  # redone (its source server is gone here, so it failed)


def test_a_killed_server_loses_no_decision(built: tuple[Path, Path], tmp_path: Path) -> None:
    cands, media = built
    out = tmp_path / "reviewed.csv"
    with _review_cli(cands, media, out) as (proc, _, url):
        with urllib.request.urlopen(url, timeout=30) as r:
            token = re.search(rb'name="review-token" content="([^"]+)"', r.read())
        assert token
        body = json.dumps({"clip_id": "cand-0-1", "action": "reject", "label": "police_siren", "reason": "duplicate"})
        req = urllib.request.Request(url + "api/decide", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-Review-Token": token.group(1).decode()})  # fmt: skip
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.loads(r.read())["decided"] == 1
        proc.send_signal(signal.SIGKILL)  # no clean shutdown
        proc.wait(timeout=30)
    again = ReviewSession(cands, media, out)
    assert again.store.decisions["cand-0-1"].reason == "duplicate" and again.store.first_undecided() == 0
    assert "cand-0-1,http" in out.with_name("reviewed.rejected.csv").read_text()
