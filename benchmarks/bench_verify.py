"""CPU of the verify stage per clip: the MP4's facts from its moov box vs ``ffprobe -count_packets``.

    python benchmarks/bench_verify.py [--reps 50] [--seconds 10]

Makes one clip with vaar's own ``trim_normalise`` (``accurate``: 360p H.264 + AAC, faststart)
and times, ``--reps`` times each: ``verify_clip`` as shipped (moov reader, FLAC header: no
process), the ffprobe call it replaced, and the moov reader alone. CPU is user + system of this
process and its children (``resource``), per call; the facts of both readers are checked equal.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vaar.curation.build.media import MediaConfig, trim_normalise  # noqa: E402
from vaar.curation.build.verify import streams_from_ffprobe, streams_from_moov, verify_clip  # noqa: E402


def cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def per_call(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm the page cache and the imports
    t0 = cpu()
    for _ in range(reps):
        fn()
    return (cpu() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    cfg = MediaConfig()
    with tempfile.TemporaryDirectory() as tmp:
        src, video, audio = Path(tmp) / "src.mp4", Path(tmp) / "c.mp4", Path(tmp) / "c.flac"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=s=640x480:r=30:d={args.seconds + 1}",
                        "-f", "lavfi", "-i", f"sine=f=440:d={args.seconds + 1}",
                        "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(src)], check=True)  # fmt: skip
        trim_normalise(src, 0.5, args.seconds, video, audio, cfg, True)
        assert streams_from_moov(video) == streams_from_ffprobe(video), "the readers disagree"
        rows = [
            ("verify_clip (moov reader + FLAC header)", lambda: verify_clip(video, audio, args.seconds, cfg)),
            ("ffprobe -count_packets (the old path)", lambda: streams_from_ffprobe(video)),
            ("moov reader alone", lambda: streams_from_moov(video)),
        ]
        print(f"{args.seconds:g} s clip, {video.stat().st_size} bytes, {args.reps} calls each")
        times = {name: per_call(fn, args.reps) for name, fn in rows}
    for name, t in times.items():
        print(f"  {name:42s} {t * 1000:8.2f} ms CPU per clip")
    old = times[rows[1][0]]
    print(f"  verify per clip: {times[rows[0][0]] / old:.3f}x of the ffprobe call it replaces")


if __name__ == "__main__":
    main()
