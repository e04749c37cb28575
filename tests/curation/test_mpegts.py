"""A source in a container without an index (MPEG-TS): a clip whose only keyframe precedes its
start must still have every frame (the trim decodes from the keyframe, not from a guess)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tests.fixtures.http_server import FaultyServer
from tests.fixtures.media import ffmpeg
from tests.fixtures.sources import FAST, sources_csv
from vaar.curation.build.pipeline import run_build


def test_mpegts_source_with_one_keyframe_gives_a_full_clip(tmp_path: Path, server: FaultyServer) -> None:
    src = server.root / "onekey.ts"
    tone = "0.05*sin(2*PI*440*t)+0.8*sin(2*PI*2000*t)*(between(t,3.4,3.41)+between(t,4.2,4.21))"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=30,format=yuv420p", "-f", "lavfi", "-i",
           f"aevalsrc='{tone}':s=48000:d=6", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
           "-g", "1000", "-keyint_min", "1000", "-sc_threshold", "0", "-c:a", "aac", "-f", "mpegts", str(src))
    rows = [("ts-late", server.url("onekey.ts"), 3.0, 5.0, "crash")]
    out = tmp_path / "b"
    report = run_build([sources_csv(tmp_path / "s.csv", rows)], out, FAST)
    row = pq.read_table(out / "manifest.parquet").to_pylist()[0]
    assert report.counts["ok"] == 1, row["error"]
    assert row["num_frames"] == 50 and abs(row["duration"] - 2.0) < 1e-6 and row["video_codec"] == "h264"
