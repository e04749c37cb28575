"""A spanless candidate (an XD-Violence or ytsearch row: no start, no end) end to end on loopback:
``vaar build --candidates`` makes a small whole-source preview, the reviewer marks the span on it
in ``vaar review``, the reviewed row carries that span in source seconds, and ``vaar build`` cuts it."""

from __future__ import annotations

import csv
import json
import subprocess
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.media import make_source
from tests.fixtures.review import COLUMNS
from vaar.cli import main as vaar_main
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.loopback import LoopbackServer
from vaar.curation.review.server import ReviewServer
from vaar.curation.review.session import ReviewSession
from vaar.curation.review.source_preview import make_previews


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def spanless(clip_id: str, url: str) -> dict[str, str]:
    return {"clip_id": clip_id, "url": url, "start": "", "end": "", "label": "brawling", "source_id": clip_id,
            "license": "", "notes": "XD-Violence segment", "seed": "xd-violence-list", "seed_label": "B1",
            "seed_flags": "no_span"}


def test_spanless_candidate_reviewed_and_built_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    www = tmp_path / "www"
    www.mkdir()
    plain = make_source(tmp_path / "plain.mp4", 8.0)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(plain), "-c", "copy", "-metadata",
                    "title=uploader-private-title", str(www / "src.mp4")], check=True)  # fmt: skip
    cands = tmp_path / "candidates.csv"
    build, final = tmp_path / "build", tmp_path / "final"
    with LoopbackServer(www) as server:
        with open(cands, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows([spanless("xd-a", server.url("src.mp4")), spanless("xd-gone", server.url("missing.mp4"))])
        assert vaar_main(["build", "--candidates", str(cands), "--out", str(build), "--workers", "1",
                          "--allow-private-network"]) == 0  # fmt: skip
        out = capsys.readouterr().out
        assert "1 of 2 spanless candidate(s) got a whole-source preview" in out and "no preview for xd-gone" in out
        preview = build / "previews" / "xd-a.mp4"
        facts = ffprobe(preview)
        assert abs(float(facts["format"]["duration"]) - 8.0) < 0.3
        video = next(s for s in facts["streams"] if s["codec_type"] == "video")
        assert int(video["height"]) == 120 and "title" not in facts["format"].get("tags", {})  # small, no metadata
        index = json.loads((build / "previews" / "index.json").read_text())
        assert index["xd-a"]["truncated"] is False and "error" in index["xd-gone"]

        session = ReviewSession(cands, build, tmp_path / "reviewed.csv", reviewer="alice")
        with ReviewServer(session) as srv:
            state = json.loads(urllib.request.urlopen(srv.url + "api/state", timeout=30).read())
            items = {it["clip_id"]: it for it in state["items"]}
            assert items["xd-a"]["media"]["kind"] == "source" and items["xd-a"]["video"] == "/media/previews/xd-a.mp4"
            assert "no span yet" in items["xd-a"]["flags"][0] and "no_span" in items["xd-a"]["seed_flags"]
            assert "no preview of the source" in items["xd-gone"]["flags"][0] and items["xd-gone"]["video"] is None
            with urllib.request.urlopen(srv.url + "media/previews/xd-a.mp4", timeout=30) as r:
                assert r.status == 200 and r.read() == preview.read_bytes()
        # the reviewer marks 2-5 s on the preview (source seconds: the preview starts at source time 0)
        session.store.record(session.store.check({"clip_id": "xd-a", "action": "accept", "label": "brawling",
                                                  "start": 2.0, "end": 5.0}))  # fmt: skip
        reviewed = list(csv.DictReader((tmp_path / "reviewed.csv").read_text(encoding="utf-8").splitlines()))
        assert [(r["clip_id"], r["start"], r["end"], r["reviewed_by"]) for r in reviewed] == [("xd-a", "2", "5", "alice")]
        log = (tmp_path / "reviewed.decisions.jsonl").read_text().splitlines()
        assert json.loads(log[-1])["reviewer"] == "alice"
        assert vaar_main(["build", str(tmp_path / "reviewed.csv"), "--out", str(final), "--no-publish",
                          "--workers", "1", "--allow-private-network"]) == 0  # fmt: skip
    row = pq.read_table(final / "manifest.parquet").to_pylist()[0]
    assert row["status"] == "ok" and row["start"] == 2.0 and abs(row["duration"] - 3.0) < 0.1


def test_long_source_preview_is_truncated_and_says_so(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    make_source(www / "long.mp4", 6.0)
    with LoopbackServer(www) as server:
        made = make_previews([("long-a", server.url("long.mp4"))], tmp_path / "b",
                             DownloadConfig(allow_private_network=True), seconds=3.0)  # fmt: skip
    p = made[0]
    assert p.error is None and p.truncated and abs(p.duration - 3.0) < 0.2 and p.source_duration == pytest.approx(6.0, abs=0.2)


def test_preview_refuses_a_private_address_without_the_flag(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    make_source(www / "s.mp4", 2.0)
    with LoopbackServer(www) as server:
        made = make_previews([("p", server.url("s.mp4"))], tmp_path / "b", DownloadConfig())
    assert made[0].error and not (tmp_path / "b" / "previews" / "p.mp4").exists()


def test_a_forged_preview_index_reaches_no_file_outside_the_build(tmp_path: Path) -> None:
    """previews/index.json is read back by the review page: a path out of the build, or not an MP4, is ignored."""
    build = tmp_path / "build"
    (build / "previews").mkdir(parents=True)
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not for the page")
    (build / "previews" / "note.txt").write_text("x")
    (build / "previews" / "index.json").write_text(json.dumps({
        "a": {"path": "../secret.mp4", "duration": 1.0}, "b": {"path": str(secret), "duration": 1.0},
        "c": {"path": "previews/note.txt", "duration": 1.0}, "d": {"path": None}, "e": "junk",
    }))  # fmt: skip
    from vaar.core.contracts.manifest_file import write_manifest

    write_manifest([], build / "manifest.parquet")
    cands = tmp_path / "c.csv"
    with open(cands, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows([spanless(c, "https://example.org/v.mp4") for c in "abcde"])
    session = ReviewSession(cands, build, tmp_path / "reviewed.csv")
    assert all(session.media(c) is None for c in "abcde")
