"""`vaar audit` with the real yt-dlp on loopback (200, 404, 410, 403, 451), the message
mapping, and `vaar build --exclude` honouring removal requests in a real build."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.http_server import FaultyHandler, FaultyServer
from tests.fixtures.media import make_source
from vaar.cli import main
from vaar.core._util.hashing import sha256_file
from vaar.curation.audit import AuditConfig, audit_sources, classify
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.pipeline import BuildConfig, run_build

HEADER = "clip_id,url,start,end,label,source_id,license,notes,seed,seed_label,seed_flags,reviewed_by\n"  # a reviewed list


class GoneHandler(FaultyHandler):
    """Adds the statuses a source takes when it disappears: 410, 403, 451 by name prefix."""

    def serve(self, head: bool) -> None:
        name = Path(self.path.split("?")[0]).name
        for code in (403, 410, 451):
            if name.startswith(f"e{code}-"):
                self.server.requests[name] += 1
                self.send_error(code)
                return
        super().serve(head)


class GoneServer(FaultyServer):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.RequestHandlerClass = partial(GoneHandler, directory=str(root))


@pytest.fixture
def gone(tmp_path: Path) -> Iterator[GoneServer]:
    root = tmp_path / "www"
    root.mkdir()
    srv = GoneServer(root)
    with srv:
        yield srv


def write_list(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{c},{u},1,4,{lab},,,,s,l,\n" for c, u, lab in rows), encoding="utf-8")
    return path


def test_audit_maps_http_statuses_without_downloading_media(tmp_path: Path, gone: GoneServer) -> None:
    big = gone.root / "big.mp4"
    big.write_bytes(os.urandom(32 << 20))  # 32 MiB: a download would show in bytes_sent
    (gone.root / "page.html").write_text("<html><body>no video here</body></html>", encoding="utf-8")
    src = write_list(tmp_path / "s.csv", [
        ("a1", gone.url("big.mp4"), "crash"), ("a2", gone.url("big.mp4"), "crash"),  # one probe for both
        ("r404", gone.url("e404-x.mp4"), "crash"), ("r410", gone.url("e410-x.mp4"), "pain"),
        ("p403", gone.url("e403-x.mp4"), "pain"), ("g451", gone.url("e451-x.mp4"), "pain"),
        ("e500", gone.url("e500-x.mp4"), "normal"), ("html", gone.url("page.html"), "normal"),
        ("bad", "file:///etc/passwd", "normal"),
    ])  # fmt: skip
    report = audit_sources(src, AuditConfig(workers=3, socket_timeout_s=10, allow_private_network=True))
    got = {r.clip_id: r.status for r in report.rows}
    assert got == {
        "a1": "available", "a2": "available", "r404": "removed", "r410": "removed", "p403": "private",
        "g451": "geo_blocked", "e500": "error", "html": "error", "bad": "error",
    }  # fmt: skip
    details = {r.clip_id: r.detail for r in report.rows}
    assert "404" in details["r404"] and "410" in details["r410"] and "only http(s)" in details["bad"]
    assert gone.requests["e404-x.mp4"] == 1  # no retries, one probe per URL
    assert gone.bytes_sent["big.mp4"] < (8 << 20)  # metadata only: the body was not fetched
    assert not gone.completed["big.mp4"]
    by = report.by_class()
    assert by["crash"]["available"] == 2 and by["crash"]["removed"] == 1 and by["pain"]["available"] == 0


def test_audit_cli_writes_report_and_summary(tmp_path: Path, gone: GoneServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_source(gone.root / "v.mp4", 2.0)
    src = write_list(tmp_path / "s.csv", [("ok1", gone.url("v.mp4"), "crash"), ("gone1", gone.url("e410-v.mp4"), "crash")])
    out = tmp_path / "report" / "audit.csv"
    # by default (as the build), a loopback source is not probed at all
    assert main(["audit", str(src)]) == 0
    assert gone.requests["e410-v.mp4"] == 0 and "127.0.0.1" not in capsys.readouterr().err
    assert main(["audit", str(src), "--out", str(out), "--allow-private-network"]) == 0
    with out.open(encoding="utf-8", newline="") as f:
        rep = list(csv.DictReader(f))
    assert [(r["clip_id"], r["status"]) for r in rep] == [("ok1", "available"), ("gone1", "removed")]
    text = capsys.readouterr().out
    assert "crash" in text and "50%" in text
    assert main(["audit", str(tmp_path / "nope.csv")]) == 2
    assert "no such source list" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("message", "status"),
    [  # messages as yt-dlp words them for YouTube
        ("[youtube] abc: Video unavailable. This video is private", "private"),
        ("[youtube] abc: Private video. Sign in if you've been granted access to this video", "private"),
        ("[youtube] abc: Video unavailable. This video has been removed by the uploader", "removed"),
        ("[youtube] abc: Video unavailable. This video is no longer available because the YouTube account "
         "associated with this video has been terminated.", "removed"),
        ("[youtube] abc: Video unavailable. This video is no longer available due to a copyright claim by X",
         "removed"),
        ("[youtube] abc: Video unavailable", "removed"),
        ("[youtube] abc: Sign in to confirm your age. This video may be inappropriate for some users.",
         "age_restricted"),
        ("[youtube] abc: Video unavailable. The uploader has not made this video available in your country",
         "geo_blocked"),
        ("[youtube] abc: This video is available to this channel's members on level: X. Join this channel",
         "private"),
        ("[youtube] abc: Sign in to confirm you\u2019re not a bot. Use --cookies", "error"),
        ("[generic] Unable to download webpage: HTTP Error 429: Too Many Requests", "error"),
        ("[generic] Unable to download webpage: HTTP Error 503: Service Unavailable", "error"),
        ("[generic] Unable to download webpage: <urlopen error [Errno 111] Connection refused>", "error"),
    ],
)  # fmt: skip
def test_classify_youtube_messages(message: str, status: str) -> None:
    assert classify(message) == status


def test_build_exclude_honours_removal_requests(tmp_path: Path, gone: GoneServer, capsys: pytest.CaptureFixture[str]) -> None:
    for n in ("a", "b"):
        make_source(gone.root / f"{n}.mp4", 4.0, variant=ord(n))
    src = tmp_path / "s.csv"
    src.write_text(HEADER + "".join([
        f"keep,{gone.url('a.mp4')},0.5,2.5,crash,,CC-BY-4.0,,vggsounder,skidding,\n",
        f"drop1,{gone.url('b.mp4')},0.5,2.5,crash,vidB,,,vggsounder,skidding,voice_over\n",
        f"drop2,{gone.url('b.mp4')},2.5,3.5,crash,vidB,,,vggsounder,skidding,\n",
    ]), encoding="utf-8")  # fmt: skip
    cfg = BuildConfig(workers=1, download=DownloadConfig(retries=1, backoff_s=0.05, allow_private_network=True),
                      do_publish=False)  # fmt: skip
    out = tmp_path / "build"
    first = run_build([src], out, cfg)  # provenance columns are accepted and ignored
    assert first.counts["ok"] == 3
    media = {r["clip_id"]: out / r["video_path"] for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    assert all(p.is_file() for p in media.values())
    takedown = tmp_path / "takedown.csv"
    takedown.write_text("source_id,reason\nvidB,uploader asked on 2026-11-01\n", encoding="utf-8")
    again = run_build([src], out, replace(cfg, exclude=str(takedown)))
    assert again.excluded == ["drop1", "drop2"]
    ids = {r["clip_id"] for r in pq.read_table(out / "manifest.parquet").to_pylist()}
    assert ids == {"keep"}
    assert media["keep"].is_file() and not media["drop1"].exists() and not media["drop2"].exists()
    # the removal is on record: what, matched by what, media deleted, which request (by sha256)
    log = [json.loads(line) for line in (out / "removals.jsonl").read_text().splitlines()]
    assert [(r["clip_id"], r["matched_by"], r["media_deleted"]) for r in log] == [
        ("drop1", ["source_id"], True), ("drop2", ["source_id"], True)]
    assert {r["takedown_sha256"] for r in log} == {sha256_file(takedown)}
    # by clip_id, from the CLI, on a fresh build: the excluded row is never downloaded
    by_id = tmp_path / "by_id.csv"
    by_id.write_text("clip_id\ndrop2\n", encoding="utf-8")
    before = gone.requests["b.mp4"]
    src2 = tmp_path / "s2.csv"
    src2.write_text(HEADER + f"drop2,{gone.url('b.mp4')},2.5,3.5,crash,vidB,,,vggsounder,skidding,\n", encoding="utf-8")
    assert main(["build", str(src2), "--out", str(tmp_path / "b2"), "--no-publish", "--allow-private-network",
                 "--exclude", str(by_id)]) == 0
    assert gone.requests["b.mp4"] == before
    (fresh,) = [json.loads(line) for line in (tmp_path / "b2" / "removals.jsonl").read_text().splitlines()]
    assert (fresh["clip_id"], fresh["matched_by"], fresh["media_deleted"]) == ("drop2", ["clip_id"], False)
    assert "excluded 1 clip(s) named in the takedown file: drop2" in capsys.readouterr().out
    (tmp_path / "bad.csv").write_text("name\nx\n", encoding="utf-8")
    assert main(["build", str(src2), "--out", str(tmp_path / "b3"), "--exclude", str(tmp_path / "bad.csv")]) == 2
    assert "must name clip_id, url or source_id" in capsys.readouterr().err
