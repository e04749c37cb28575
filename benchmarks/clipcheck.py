"""ffprobe checks of the clips that `vaar build` and video2dataset wrote (benchmarks/bench_peer.py).

A clip counts as present when its files exist; within tolerance by container duration (the
MP4's) and by every stream (video and audio of the MP4, and vaar's FLAC), each within
``TOLERANCE_S`` of the requested duration.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Check:
    present: int
    container: int  # clips whose container duration is within tolerance
    all_streams: int  # clips whose every stream is within tolerance
    worst_ms: float  # the largest |duration - requested| of any stream of any clip, ms

    def summary(self, n: int) -> str:
        return (f"{self.present}/{n} present, within {TOLERANCE_S * 1000:.0f} ms: container "
                f"{self.container}/{n}, every stream {self.all_streams}/{n} (worst stream {self.worst_ms:.0f} ms off)")  # fmt: skip


def durations(path: Path) -> tuple[float | None, list[float]]:
    """(container duration, [duration of each stream]) in seconds, from ffprobe."""
    proc = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=duration",
                           "-of", "json", str(path)], capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        return None, []
    doc = json.loads(proc.stdout or "{}")
    fmt = doc.get("format", {}).get("duration")
    streams = [float(s["duration"]) for s in doc.get("streams", []) if s.get("duration") not in (None, "N/A")]
    return (float(fmt) if fmt not in (None, "N/A") else None), streams


def check_files(clips: Sequence[tuple[Path, ...]], want: float) -> Check:
    """``clips``: per clip, its files (the MP4 first); ``want``: the requested duration, s."""
    present = container = every = 0
    worst = 0.0
    for files in clips:
        if not all(f.is_file() for f in files):
            continue
        present += 1
        fmt, _ = durations(files[0])
        streams = [d for f in files for d in durations(f)[1]]
        if fmt is not None and abs(fmt - want) <= TOLERANCE_S:
            container += 1
        off = [abs(d - want) for d in streams]
        worst = max([worst, *off])
        if off and max(off) <= TOLERANCE_S:
            every += 1
    return Check(present, container, every, worst * 1000)


def check_vaar(out: Path, want: float) -> Check:
    """The ok clips of a vaar build folder: the MP4 and the FLAC of each."""
    path = out / "manifest.parquet"
    if not path.is_file():
        return Check(0, 0, 0, 0.0)
    rows = pq.read_table(path, columns=["status", "video_path", "audio_path"]).to_pylist()
    return check_files([(out / r["video_path"], out / r["audio_path"]) for r in rows if r["status"] == "ok"], want)


def check_peer(out: Path, want: float) -> Check:
    """video2dataset's ``files`` output: a .json per sample; a clip is present when its status is
    success and its .mp4 is there (one clip per source here)."""
    clips = []
    for meta in sorted(out.glob("*/*.json")):
        doc = json.loads(meta.read_text())
        if doc.get("status") == "success":
            clips.append((meta.with_suffix(".mp4"),))
    return check_files(clips, want)
