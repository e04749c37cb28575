"""`vaar build` against a YouTube-shaped site on loopback (tests/fixtures/ytsite): separate
adaptive video and audio formats, hour-scale sources, index-driven fetching and the site's faults.
Real yt-dlp (with a plugin extractor), ffmpeg and SQLite throughout."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.procs import kill_after_ok_clips
from tests.fixtures.sources import FAST, sources_csv
from tests.fixtures.ytsite import PLUGIN_DIR, YouTubeSite, enable_plugin
from vaar.curation.build.pipeline import run_build
from vaar.curation.build.reasons import reason_code
from vaar.curation.mp4.sidx import HEAD_BYTES, locate_index

LONG_S = 1800.0  # a 30 min source: clips at its start, middle and end
CFG = replace(FAST, do_publish=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[YouTubeSite]:
    enable_plugin()
    with YouTubeSite(tmp_path_factory.mktemp("yt")) as s:
        s.add("long", LONG_S)
        yield s


@pytest.fixture
def yt(site: YouTubeSite) -> YouTubeSite:
    """The module's site with its counters and faults reset for one test."""
    from tests.fixtures.ytsite import Faults

    site.faults = Faults()
    for counter in (site.requests, site.bytes_sent, site.sig_uses):
        counter.clear()
    site.request_times.clear()
    site.throttle_times.clear()
    site.request_count = site.throttled = site.expired = site.signatures = site.cuts = 0
    return site


def manifest(out: Path) -> dict[str, dict]:
    return {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}


def ledger_sources(out: Path) -> dict[str, dict]:
    with sqlite3.connect(out / "ledger.sqlite") as con:
        rows = con.execute("SELECT url, method, why, fetch FROM sources").fetchall()
    return {u: {**json.loads(f), "method": m, "why": w} for u, m, w, f in rows}


def share(yt: YouTubeSite, vid: str, itag: int, seconds: float) -> float:
    """The bytes of ``seconds`` of format ``itag``: its size times the fraction of the duration."""
    video = yt.videos[vid]
    fmt = next(f for f in video.formats if f.itag == itag)
    return fmt.path.stat().st_size * seconds / video.duration


def test_clips_at_start_middle_end_are_frame_exact_in_sync_and_fetch_only_their_fragments(
    tmp_path: Path, yt: YouTubeSite
) -> None:
    from vaar.curation.build.media import probe

    audio = next(f for f in yt.videos["long"].formats if f.kind == "audio").path
    assert float(probe(audio)["format"]["start_time"]) == 0.5  # served starting half a second after the video
    spans = {"yt-start": (1.0, 11.0), "yt-mid": (900.0, 910.0), "yt-end": (1785.0, 1795.0)}
    csv = sources_csv(tmp_path / "s.csv", [(c, yt.url("long"), s, e, "crash") for c, (s, e) in spans.items()])
    out = tmp_path / "b"
    report = run_build([csv], out, CFG)
    m = manifest(out)
    assert report.counts["ok"] == 3, {c: r["error"] for c, r in m.items()}
    for r in m.values():
        # 10 s at 25 fps is exactly 250 frames; 144p chosen (the best under the 720 cap), merged with the audio
        assert r["num_frames"] == 250 and abs(r["duration"] - 10.0) < 1e-6
        assert (r["width"], r["height"]) == (256, 144) and r["audio_codec"] == "aac"
        # a flash and a click every second, served as separate streams: still together in the clip
        assert r["sync_verdict"] == "in_sync" and abs(r["av_offset_ms"]) <= 40, r
        assert r["extractor"] == "VaarTube"
    # the bytes the server wrote: within 2x the clips' share of each stream, plus init + index
    for itag in (161, 140):
        got = yt.bytes_sent[f"long/{itag}"]
        assert got <= 2 * share(yt, "long", itag, 30.0) + HEAD_BYTES, (itag, got)
        assert yt.requests[f"long/{itag}"] == 1 + 3  # the head (init + sidx), one range per clip
    assert "long/160" not in yt.bytes_sent  # the 72p format is never read
    src = ledger_sources(out)[yt.url("long")]
    assert src["method"] == "index" and src["why"] is None and src["bytes"] == yt.total_bytes("long")
    assert report.run.fetch["index"] == 1 and report.run.stages.wall["download"] > 0
    assert set(report.run.stages.as_dict()) == {"resolve", "download", "trim+checks", "verify", "ledger", "publish"}


def test_clips_sharing_fragments_fetch_each_fragment_once(tmp_path: Path, yt: YouTubeSite) -> None:
    rows = [("ov-a", yt.url("long"), 600.0, 603.0, "crash"), ("ov-b", yt.url("long"), 602.5, 605.0, "crash"),
            ("ov-c", yt.url("long"), 605.1, 607.0, "crash")]
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    assert report.counts["ok"] == 3
    # one range per stream covers all three (adjacent fragments are one request)
    assert yt.requests["long/161"] == 2 and yt.requests["long/140"] == 2
    assert yt.bytes_sent["long/161"] <= 2 * share(yt, "long", 161, 7.0) + HEAD_BYTES


def test_vp9_opus_webm_is_fetched_by_its_cues_merged_and_in_sync(tmp_path: Path, yt: YouTubeSite) -> None:
    if "webm" not in yt.videos:
        yt.add("webm", 600.0, webm=True)
    rows = [("w-mid", yt.url("webm"), 300.0, 304.0, "crash"), ("w-end", yt.url("webm"), 590.0, 594.0, "crash")]
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    m = manifest(tmp_path / "b")
    assert report.counts["ok"] == 2, {c: r["error"] for c, r in m.items()}
    for r in m.values():
        assert r["num_frames"] == 100 and r["sync_verdict"] == "in_sync" and r["audio_codec"] == "aac", r
    src = ledger_sources(tmp_path / "b")[yt.url("webm")]
    assert src["method"] == "index", src
    for itag in (279, 251):
        assert yt.bytes_sent[f"webm/{itag}"] <= 2 * share(yt, "webm", itag, 8.0) + 2 * HEAD_BYTES


def test_a_format_without_a_usable_index_falls_back_and_the_ledger_says_why(tmp_path: Path, yt: YouTubeSite) -> None:
    if "plain" not in yt.videos:  # a progressive (non-fragmented) MP4 served as the video format
        from tests.fixtures.media import make_source
        from tests.fixtures.ytsite.media import Format

        path = make_source(yt.root / "plain.mp4", 20.0, audio=False)
        audio = next(f for f in yt.videos["long"].formats if f.kind == "audio")
        yt.videos["plain"] = type(yt.videos["long"])("plain", "plain", 20.0,
                                                     [Format(170, "video", "mp4", "avc1", path, 120, 160), audio])
    rows = [("p", yt.url("plain"), 5.0, 7.0, "crash")]
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    assert report.counts["ok"] == 1, manifest(tmp_path / "b")["p"]["error"]
    src = ledger_sources(tmp_path / "b")[yt.url("plain")]
    assert src["method"] == "section" and "format 170: no sidx" in src["why"], src
    assert report.run.fallbacks[src["why"]] == 1


def test_site_faults_map_to_distinct_statuses_without_retries(tmp_path: Path, yt: YouTubeSite) -> None:
    faults = ("age", "private", "removed", "geo")
    for f in faults:
        yt.alias(f"f-{f}", "long")
        yt.faults.playability[f"f-{f}"] = f
    rows = [(f"c-{f}", yt.url(f"f-{f}"), 1.0, 3.0, "crash") for f in faults]
    rows.append(("c-refused", "http://127.0.0.1:9/watch?v=x", 1.0, 3.0, "crash"))  # nothing listens on port 9
    rows.append(("c-dns", "http://vaar-test.invalid/v.mp4", 1.0, 3.0, "crash"))
    rows.append(("c-guard", "http://10.255.255.1/v.mp4", 1.0, 3.0, "crash"))
    cfg = replace(CFG, download=replace(CFG.download, allow_private_network=False, exempt_networks=("127.0.0.0/8",)))
    run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", cfg)
    m = manifest(tmp_path / "b")
    codes = {c: reason_code(r["stage"], r["error"]) for c, r in m.items()}
    assert codes == {
        "c-age": "download.age_restricted", "c-private": "download.private", "c-removed": "download.removed",
        "c-geo": "download.geo_blocked", "c-refused": "download.connection_refused", "c-dns": "download.dns",
        "c-guard": "download.refused_address",
    }, {c: m[c]["error"] for c in m}
    assert all(r["status"] == "failed" for r in m.values())
    # the permanent ones are not retried (the connection refusal is: a server may come back)
    for c in ("c-age", "c-private", "c-removed", "c-geo", "c-dns", "c-guard"):
        assert m[c]["error"].endswith("(after 1 attempt)"), m[c]["error"]
    assert m["c-refused"]["error"].endswith("(after 2 attempts)")


def test_throttling_pauses_every_worker_for_retry_after_and_no_clip_fails(tmp_path: Path, yt: YouTubeSite) -> None:
    n = 6
    for k in range(n):
        yt.alias(f"t{k}", "long")
    yt.faults.throttle_scope, yt.faults.throttle_first, yt.faults.retry_after = "/videoplayback", 1, 2.0
    rows = [(f"t{k}", yt.url(f"t{k}"), 300.0 + k, 304.0 + k, "crash") for k in range(n)]
    cfg = replace(CFG, download_workers=3)
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", cfg)
    assert report.counts["ok"] == n and yt.throttled == 1
    # after the 429, every worker waits for Retry-After: the server sees only the requests already
    # on their way (a few, whatever the load); workers retrying on their own would have carried on
    # through the other sources (four requests each, over 20 in all)
    first = yt.throttle_times[0]
    during = [round(t - first, 3) for t in yt.request_times if first < t < first + 1.9]
    assert len(during) <= 2 * cfg.download_workers, during
    assert max(yt.request_times) > first + 2.0  # and the run went on after the pause
    assert report.run.throttle_pauses >= 1


def test_bot_checks_stop_the_run_with_clips_pending_and_a_rerun_finishes_them(
    tmp_path: Path, yt: YouTubeSite
) -> None:
    for k in range(4):
        yt.alias(f"b{k}", "long")
        yt.faults.playability[f"b{k}"] = "bot"
    rows = [(f"b{k}", yt.url(f"b{k}"), 10.0, 12.0, "crash") for k in range(4)]
    csv = sources_csv(tmp_path / "s.csv", rows)
    cfg = replace(CFG, download_workers=1, download=replace(CFG.download, max_bot_checks=2))
    report = run_build([csv], tmp_path / "b", cfg)
    assert report.run.stopped and "--cookies" in report.run.stopped
    assert report.run.pending == 4 and report.counts.get("failed", 0) == 0
    assert yt.requests == {}  # no format was fetched, and the 3rd and 4th sources were never asked
    yt.faults.playability.clear()
    again = run_build([csv], tmp_path / "b", cfg)
    assert again.counts["ok"] == 4 and again.run.stopped is None and again.run.pending == 0


def test_an_expired_format_url_is_resolved_again_once(tmp_path: Path, yt: YouTubeSite) -> None:
    yt.faults.expire_first = 1
    rows = [("x", yt.url("long"), 500.0, 503.0, "crash")]
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    assert report.counts["ok"] == 1, manifest(tmp_path / "b")["x"]["error"]
    assert yt.expired == 1 and yt.signatures >= 2


def test_a_connection_cut_mid_fragment_is_retried_and_never_leaves_half_a_file(
    tmp_path: Path, yt: YouTubeSite
) -> None:
    rows = [("cut", yt.url("long"), 700.0, 702.0, "crash")]
    yt.faults.cut = 1
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    assert report.counts["ok"] == 1 and yt.cuts == 1, manifest(tmp_path / "b")["cut"]["error"]
    yt.faults.cut = 100  # every range cut: the clip fails with a connection reason, after its retries
    report = run_build([sources_csv(tmp_path / "t.csv", rows)], tmp_path / "c", CFG)
    r = manifest(tmp_path / "c")["cut"]
    assert r["status"] == "failed" and reason_code(r["stage"], r["error"]) == "download.connection", r["error"]
    assert r["error"].endswith("(after 2 attempts)")
    assert not list((tmp_path / "c").glob("clips/**/*.mp4"))


def test_kill_at_half_and_resume_loses_nothing_and_fetches_no_finished_source_again(
    tmp_path: Path, yt: YouTubeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 8
    for k in range(n):
        yt.alias(f"k{k}", "long")
    rows = [(f"k{k}", yt.url(f"k{k}"), 60.0 * k + 1, 60.0 * k + 3, "crash") for k in range(n)]
    csv = sources_csv(tmp_path / "s.csv", rows)
    out = tmp_path / "out"
    path = os.pathsep.join([str(Path.cwd()), str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)
    cmd = [sys.executable, "-m", "vaar.cli", "build", str(csv), "--out", str(out), "--workers", "1",
           "--download-workers", "1", "--allow-private-network", "--no-publish"]
    done = kill_after_ok_clips(cmd, out / "ledger.sqlite", n // 2, timeout=120)
    assert n // 2 <= done < n, "the build finished before it could be killed"
    with sqlite3.connect(out / "ledger.sqlite") as con:
        finished = {c for (c,) in con.execute("SELECT clip_id FROM clips WHERE status='ok'")}
    yt.bytes_sent.clear()
    report = run_build([csv], out, CFG)
    assert report.skipped == len(finished) and report.counts["ok"] == n
    assert all(yt.total_bytes(c) == 0 for c in finished)  # a finished clip's source is not fetched again
    assert not list(out.rglob(".*.tmp*"))


def test_a_rerun_with_other_settings_rebuilds_the_clips_it_changes(tmp_path: Path, yt: YouTubeSite) -> None:
    rows = [("s1", yt.url("long"), 30.0, 32.0, "crash")]
    csv = sources_csv(tmp_path / "s.csv", rows)
    run_build([csv], tmp_path / "b", CFG)
    assert run_build([csv], tmp_path / "b", CFG).processed == 0
    again = run_build([csv], tmp_path / "b", replace(CFG, media=replace(CFG.media, fps=30)))
    assert again.processed == 1 and again.run.rebuilt == {"fps": 1}
    assert manifest(tmp_path / "b")["s1"]["num_frames"] == 60


def framemd5(path: Path) -> list[str]:
    """The md5 of every decoded video frame of ``path``."""
    import subprocess

    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
                         capture_output=True, check=True, text=True).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def test_index_fetch_and_the_section_fallback_by_stream_copy_give_the_same_frames(
    tmp_path: Path, yt: YouTubeSite
) -> None:
    rows = [("same", yt.url("long"), 901.4, 905.4, "crash")]  # not on a fragment boundary
    csv = sources_csv(tmp_path / "s.csv", rows)
    frames = {}
    for name, dl in {"index": CFG.download, "copy": replace(CFG.download, index_fetch=False)}.items():
        out = tmp_path / name
        report = run_build([csv], out, replace(CFG, download=dl))
        r = manifest(out)["same"]
        assert report.counts["ok"] == 1 and r["num_frames"] == 100, r["error"]
        assert r["sync_verdict"] == "in_sync", (name, r["av_offset_ms"], r["sync_confidence"])
        frames[name] = framemd5(out / r["video_path"])
        assert ledger_sources(out)[yt.url("long")]["method"] == ("index" if name == "index" else "section")
    # the section downloaded by stream copy (the trim is the one encode) gives the very frames the
    # index fetch gives
    assert frames["copy"] == frames["index"]


def test_cli_stops_on_bot_checks_with_exit_3_and_prints_the_stage_table_as_json(
    tmp_path: Path, yt: YouTubeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    yt.alias("cb0", "long")
    yt.alias("cb1", "long")
    yt.faults.playability["cb1"] = "bot"
    rows = [("cb0", yt.url("cb0"), 5.0, 7.0, "crash"), ("cb1", yt.url("cb1"), 5.0, 7.0, "crash")]
    csv = sources_csv(tmp_path / "s.csv", rows)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), str(PLUGIN_DIR)])}
    cmd = [sys.executable, "-m", "vaar.cli", "build", str(csv), "--out", str(tmp_path / "o"), "--workers", "1",
           "--download-workers", "1", "--allow-private-network", "--no-publish", "--max-bot-checks", "1", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert data["counts"] == {"ok": 1} and data["pending"] == 1 and "--cookies" in data["stopped"]
    assert set(data["stages"]) == {"resolve", "download", "trim+checks", "verify", "ledger", "publish"}
    assert data["stages"]["trim+checks"]["cpu_s"] > 0 and data["fetch"] == {"index": 1}
    assert proc.stderr.strip().splitlines()[-1].startswith("vaar build: stopped after 1 consecutive bot check")
    bad = subprocess.run([*cmd[:-1], "--per-host", "nan"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--per-host" in bad.stderr


def test_a_clip_from_before_the_audio_starts_is_fetched_and_judged_by_verify(
    tmp_path: Path, yt: YouTubeSite
) -> None:
    rows = [("zero", yt.url("long"), 0.0, 4.0, "crash")]  # the audio format starts at 0.5 s
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    r = manifest(tmp_path / "b")["zero"]
    # the section is there (not "no downloaded section covers"); the source has no sound in its
    # first half second, and the verify stage says so
    assert report.counts["failed"] == 1 and r["stage"] == "verify", r["error"]
    assert r["error"] == "audio track is short: 3.500 s for a 4.000 s clip"


def test_a_lying_index_fails_its_clip_with_a_reason_and_the_build_goes_on(tmp_path: Path, yt: YouTubeSite) -> None:
    """A hostile site: the head (init + sidx) is real, the bytes the index points at are noise."""
    import random

    from tests.fixtures.ytsite.media import Format

    if "liar" not in yt.videos:
        real = [f for f in yt.videos["long"].formats if f.itag in (161, 140)]
        forged = []
        for f in real:
            data = bytearray(f.path.read_bytes())
            _, at, size = locate_index(bytes(data[:HEAD_BYTES]), len(data))
            noise = random.Random(f.itag).randbytes(len(data) - at - size)
            dst = yt.root / f"liar-{f.itag}.{f.ext}"
            dst.write_bytes(bytes(data[: at + size]) + noise)
            forged.append(Format(f.itag, f.kind, f.ext, f.codec, dst, f.height, f.width))
        yt.videos["liar"] = type(yt.videos["long"])("liar", "liar", LONG_S, forged)
    rows = [("lie", yt.url("liar"), 100.0, 102.0, "crash"), ("fine", yt.url("long"), 100.0, 102.0, "crash")]
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], tmp_path / "b", CFG)
    m = manifest(tmp_path / "b")
    assert m["fine"]["status"] == "ok" and report.counts["failed"] == 1
    assert m["lie"]["status"] == "failed" and m["lie"]["error"] and "internal error" not in m["lie"]["error"]
    assert not list((tmp_path / "b").glob("clips/**/lie.mp4"))
