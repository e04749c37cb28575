"""`vaar build` end to end: real yt-dlp, ffmpeg, SQLite and datasets against a loopback server."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.http_server import FaultyServer
from tests.fixtures.media import make_source
from tests.fixtures.procs import kill_after_ok_clips
from tests.fixtures.sources import FAST, sources_csv
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.pipeline import BuildConfig, run_build
from vaar.curation.publish.folder import PublishConfig


def manifest(out: Path) -> dict[str, dict]:
    rows = pq.read_table(out / "manifest.parquet").to_pylist()
    return {r["clip_id"]: r for r in rows}


def test_clean_build_round_trips_through_load_dataset(
    tmp_path: Path, server: FaultyServer, build_cfg: BuildConfig
) -> None:
    import datasets

    www = server.root
    classes = ["crash", "explosion", "normal"]
    rows = []
    for i, label in enumerate(classes):
        for k in range(3):  # three distinct sources per class
            name = f"{label}{k}.mp4"
            make_source(www / name, 4.5, variant=3 * i + k)
            rows.append((f"{label}-{k}-a", server.url(name), 0.4, 2.4, label))
            rows.append((f"{label}-{k}-b", server.url(name), 2.4, 4.4, label))
    csv = sources_csv(tmp_path / "s.csv", rows)
    out = tmp_path / "build"
    report = run_build([csv], out, build_cfg)
    m = manifest(out)
    assert report.counts["ok"] == 18, {c: r["error"] for c, r in m.items() if r["status"] != "ok"}
    r = m["crash-0-a"]
    # frame accurate: 2.0 s at 25 fps is exactly 50 frames, short side as the source (<360)
    assert r["num_frames"] == 50 and r["fps"] == 25.0 and abs(r["duration"] - 2.0) < 1e-6
    assert (r["width"], r["height"]) == (160, 120)
    assert r["video_codec"] == "h264" and r["audio_codec"] == "aac"
    assert r["extractor"] == "Generic" and r["webpage_url"] == server.url("crash0.mp4")
    assert r["ytdlp_version"] and r["ffmpeg_version"] and r["vaar_version"]
    assert r["video_sha256"] and (out / r["video_path"]).is_file()
    # both clips of a source land in the same split (grouped by source_id = URL)
    ds = datasets.load_dataset(str(out / "dataset"))
    assert sum(len(ds[s]) for s in ds) == 18
    assert "validation" not in ds  # 3 sources a class: too few groups for a validation share
    split_of = {row["clip_id"]: s for s in ds for row in ds[s].select_columns(["clip_id"])}
    for label in classes:
        for k in range(3):
            assert split_of[f"{label}-{k}-a"] == split_of[f"{label}-{k}-b"]
    row = ds["train"][0]
    frame = row["video"].get_frame_at(0).data
    assert tuple(frame.shape) == (3, 120, 160)
    samples = row["audio"].get_all_samples()
    assert samples.sample_rate == 16000 and samples.data.shape[0] == 1
    assert abs(samples.data.shape[1] - 32000) < 400
    assert ds["train"].features["label"].names[0] == "abuse"
    card = (out / "dataset" / "README.md").read_text()
    assert "configs:" in card and "dataset_info:" in card and "| `crash` |" in card
    sums = (out / "dataset" / "splits" / "SHA256SUMS").read_text()
    assert sums.split()[0] in card  # the split's sha256 is in the card

    # republish with private test labels: nothing is rebuilt, the test split loses its labels
    committed = tmp_path / "splits_v1"
    shutil.copytree(out / "dataset" / "splits", committed)
    private = tmp_path / "host" / "test_labels.csv"
    secret = tmp_path / "host" / "secret"
    secret.parent.mkdir()
    secret.write_text("a host secret of enough bytes\n")
    pcfg = PublishConfig(private_test_labels=private, host_secret_file=secret)
    again = run_build([csv], out, replace(build_cfg, publish=pcfg))
    assert again.processed == 0
    test = pq.read_table(next((out / "dataset" / "data").glob("test-*.parquet")), columns=["clip_id", "label"])
    assert set(test.column("label").to_pylist()) == {-1}
    hidden = private.read_text().splitlines()
    assert hidden[0] == "clip_id,label,dataset_version" and len(hidden) == 1 + test.num_rows
    assert {line.split(",")[0] for line in hidden[1:]} == set(test.column("clip_id").to_pylist())
    published = (out / "dataset" / "splits" / "test.csv").read_text().splitlines()[1:]
    assert published and all(line.split(",")[1] == "" for line in published)

    # committed split files are used as they are
    third = run_build([csv], out, replace(build_cfg, splits_dir=committed))
    assert third.publish is not None and not third.publish.not_ok_in_splits
    assert (out / "dataset" / "splits" / "train.csv").read_bytes() == (committed / "train.csv").read_bytes()


def test_one_download_per_source_and_no_byte_twice(
    tmp_path: Path, server: FaultyServer, build_cfg: BuildConfig
) -> None:
    make_source(server.root / "one.mp4", 6.0)
    size = (server.root / "one.mp4").stat().st_size
    three = sources_csv(
        tmp_path / "b.csv",
        [(f"c{i}", server.url("one.mp4"), 0.5 + 1.7 * i, 2.5 + 1.7 * i, "crash") for i in range(3)],
    )
    run_build([three], tmp_path / "b3", build_cfg)
    assert len(list((tmp_path / "b3").glob("clips/crash/*.mp4"))) == 3
    # three clips of one source: two requests (yt-dlp's probe, which closes after the headers,
    # and one download), as for a single clip; a download per clip would be six
    assert server.requests["one.mp4"] == 2
    assert size in server.completed["one.mp4"]
    # a rerun fetches nothing: every clip is done
    server.bytes_sent.clear()
    assert run_build([three], tmp_path / "b3", build_cfg).processed == 0
    assert server.bytes_sent["one.mp4"] == 0


@pytest.mark.parametrize(
    ("name", "make", "status", "needle"),
    [
        ("e404-gone.mp4", "plain", "failed", "404"),
        ("e500-broken.mp4", "plain", "failed", "500"),
        ("cut-half.mp4", "plain", "failed", ""),
        ("noaudio.mp4", "noaudio", "rejected", "no audio"),
        ("short.mp4", "short", "failed", "short clip"),
    ],
)
def test_faults_become_rows_not_crashes(
    tmp_path: Path, server: FaultyServer, build_cfg: BuildConfig, name: str, make: str, status: str,
    needle: str,
) -> None:
    make_source(server.root / name, 2.5 if make == "short" else 5.0, audio=make != "noaudio")
    csv = sources_csv(tmp_path / "s.csv", [("clip", server.url(name), 0.5, 4.5, "crash")])
    report = run_build([csv], tmp_path / "out", build_cfg)
    row = manifest(tmp_path / "out")["clip"]
    assert row["status"] == status, row["error"]
    assert needle in (row["error"] or "")
    assert row["stage"] in ("download", "trim", "verify")
    assert report.counts[status] == 1
    assert not list((tmp_path / "out").glob("clips/**/*.mp4"))


def test_flaky_server_is_retried(tmp_path: Path, server: FaultyServer, build_cfg: BuildConfig) -> None:
    make_source(server.root / "flaky-x.mp4", 4.0)
    csv = sources_csv(tmp_path / "s.csv", [("clip", server.url("flaky-x.mp4"), 0.5, 2.5, "crash")])
    run_build([csv], tmp_path / "out", build_cfg)
    assert manifest(tmp_path / "out")["clip"]["status"] == "ok"


def test_section_download_of_non_faststart_file_without_range_fails_cleanly(
    tmp_path: Path, server: FaultyServer
) -> None:
    make_source(server.root / "norange-late-moov.mp4", 5.0, faststart=False)
    csv = sources_csv(tmp_path / "s.csv", [("clip", server.url("norange-late-moov.mp4"), 0.5, 2.5, "crash")])
    cfg = BuildConfig(workers=1, download=DownloadConfig(mode="section", retries=0, allow_private_network=True))
    run_build([csv], tmp_path / "out", cfg)
    row = manifest(tmp_path / "out")["clip"]
    assert row["status"] == "failed" and row["stage"] == "download" and row["error"]
    # the default (auto) mode downloads the whole file and gets the clip
    run_build([csv], tmp_path / "out2", FAST)
    assert manifest(tmp_path / "out2")["clip"]["status"] == "ok"


def test_invalid_rows_and_path_traversal_are_recorded(
    tmp_path: Path, server: FaultyServer, build_cfg: BuildConfig
) -> None:
    make_source(server.root / "v.mp4", 4.0)
    csv = sources_csv(
        tmp_path / "s.csv",
        [("good", server.url("v.mp4"), 0.5, 2.5, "crash"), ("../evil", server.url("v.mp4"), 0.5, 2.5, "crash"),
         ("odd", server.url("v.mp4"), 0.5, 2.5, "ufo")],
    )  # fmt: skip
    out = tmp_path / "out"
    run_build([csv], out, build_cfg)
    m = manifest(out)
    assert m["good"]["status"] == "ok"
    bad = sorted(r["error"] for r in m.values() if r["status"] == "invalid")
    assert len(bad) == 2 and "unsafe clip_id '../evil'" in bad[0] and "unknown label 'ufo'" in bad[1]
    assert all(r["stage"] == "validate" for r in m.values() if r["status"] == "invalid")
    assert not (tmp_path / "evil.mp4").exists()
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))


def test_retry_failed_redoes_only_failed_clips(tmp_path: Path, server: FaultyServer) -> None:
    make_source(server.root / "here.mp4", 4.0)
    csv = sources_csv(
        tmp_path / "s.csv",
        [("here", server.url("here.mp4"), 0.5, 2.5, "crash"), ("later", server.url("later.mp4"), 0.5, 2.5, "crash")],
    )  # fmt: skip
    out = tmp_path / "out"
    run_build([csv], out, FAST)
    assert manifest(out)["later"]["status"] == "failed"
    make_source(server.root / "later.mp4", 4.0)
    again = run_build([csv], out, FAST)
    assert again.processed == 0 and manifest(out)["later"]["status"] == "failed"
    before = server.requests["here.mp4"]
    retried = run_build([csv], out, BuildConfig(workers=1, retry_failed=True, download=FAST.download))
    assert retried.processed == 1 and manifest(out)["later"]["status"] == "ok"
    assert server.requests["here.mp4"] == before  # the ok clip was not fetched again


def test_killed_build_resumes_without_loss_or_duplicates(tmp_path: Path, server: FaultyServer) -> None:
    rows = []
    for k in range(8):
        make_source(server.root / f"s{k}.mp4", 4.5, variant=k)
        rows += [(f"s{k}-{j}", server.url(f"s{k}.mp4"), 0.3 + 2 * j, 2.3 + 2 * j, "crash") for j in range(2)]
    csv = sources_csv(tmp_path / "s.csv", rows)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vaar.cli", "build", str(csv), "--out", str(out), "--workers", "1",
           "--allow-private-network"]
    done = kill_after_ok_clips(cmd, out / "ledger.sqlite", 3, timeout=120)
    assert 3 <= done < len(rows), "the build finished before it could be killed"
    report = run_build([csv], out, FAST)
    assert report.skipped >= 3
    m = manifest(out)
    assert len(m) == len(rows) and all(r["status"] == "ok" for r in m.values())
    assert not list(out.rglob(".*.tmp*"))
    with sqlite3.connect(out / "ledger.sqlite") as con:
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT clip_id) FROM clips").fetchone() == (16, 16)
