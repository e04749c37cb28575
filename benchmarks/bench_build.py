"""Measure `vaar build`: overhead over its bare ffmpeg/ffprobe commands, worker scaling, memory.

    .venv/bin/python benchmarks/bench_build.py overhead --clips 50
    .venv/bin/python benchmarks/bench_build.py scaling --clips 50
    .venv/bin/python benchmarks/bench_build.py memory --clips 200 600 1000

* overhead: the same N local clips (served on 127.0.0.1, fetched by yt-dlp) built by
  `vaar build --workers 1`, against the ffmpeg/ffprobe commands that build runs for them, run
  bare and one after another (source probe, trim + normalise + FLAC in one ffmpeg, the QC
  decode; verify reads the MP4's moov box and the FLAC's header, no process). Reported with and
  without the fixed cost: a resumed no-op run (best of ``--noop-runs``), with and without
  ``--no-publish``.
* scaling: throughput of --workers 2 over --workers 1 (fresh build folders), CPU of each build,
  and the serial part: a resumed no-op run (start-up, ledger, manifest, publish) over the
  one-worker build, with the speed-up Amdahl's law allows for it.

* memory: peak summed RSS of the whole process tree of `vaar build --workers 2`, polled every
  0.1 s, for growing clip counts (it should not grow with N).

Ratios are computed within one run: this machine is noisy and shared.
overhead counts a build's CPU over its whole process tree, forkserver workers included
(benchmarks/treecpu.py); elsewhere CPU is the children's user + system time (getrusage), which
counts only processes that were waited for, so a build's figure there misses its forkserver's
workers. The bare commands' figures are exact.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from treecpu import TreeUsage, run_tree  # noqa: E402

from vaar.curation.build.loopback import LoopbackServer  # noqa: E402
from vaar.curation.build.media import MediaConfig, trim_commands  # noqa: E402

VAAR = [sys.executable, "-m", "vaar.cli", "build", "--allow-private-network"]  # loopback sources


def make_sources(www: Path, n: int, seconds: float, size: str) -> list[Path]:
    """n distinct source files (one clip each) with testsrc2 + a tone with clicks."""
    paths = []
    for i in range(n):
        p = www / f"src{i:05d}.mp4"
        if not p.exists():
            tone = f"0.2*sin(2*PI*{300 + i % 50 * 20}*t)+0.6*lt(mod(t+{i % 7}*0.1,0.6),0.01)"
            subprocess.run(
                ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                 f"testsrc2=s={size}:r=30:d={seconds}", "-f", "lavfi", "-i",
                 f"aevalsrc='{tone}':s=44100:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                 "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(p)],
                check=True,
            )  # fmt: skip
        paths.append(p)
    return paths


def write_csv(path: Path, base: str, srcs: list[Path], start: float, end: float) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["clip_id", "url", "start", "end", "label"])
        labels = ["abuse", "baby_cry", "brawling", "crash", "explosion", "intruder", "normal", "pain",
                  "police_siren", "vandalism"]  # fmt: skip
        for i, s in enumerate(srcs):
            w.writerow([f"c{i:05d}", f"{base}/{s.name}", start, end, labels[i % 10]])


STAGE_CPU: dict[str, float] = {}  # CPU seconds (children's user + system) per bare stage, summed


def timed(cmd: list[str], stage: str | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if stage is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        STAGE_CPU[stage] = STAGE_CPU.get(stage, 0.0) + cpu
    return wall


def bare_commands(src: Path, tmp: Path, start: float, dur: float) -> float:
    """The ffmpeg/ffprobe commands `vaar build` runs for one clip, run bare: one ffmpeg that cuts,
    encodes the MP4 and the FLAC and writes the checks' frames and samples (here to /dev/null).
    The source check and verify read the MP4 boxes in Python (vaar.curation.mp4), and the FLAC's
    duration comes from its header: no ffprobe."""
    cfg = MediaConfig(threads=1)
    v, a = tmp / "c.mp4", tmp / "c.flac"
    t = 0.0
    for cmd in trim_commands(src, start, dur, v, a, cfg, True, analysis_audio="/dev/null"):
        t += timed(cmd, "trim + FLAC + the checks' decode (one ffmpeg)")
    return t


@contextlib.contextmanager
def served(n: int, seconds: float, size: str, start: float, end: float) -> Iterator[tuple[Path, Path, list[Path]]]:
    """n generated sources served on 127.0.0.1 and a source list of one clip each."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        www = root / "www"
        www.mkdir()
        srcs = make_sources(www, n, seconds, size)
        with LoopbackServer(www) as srv:
            write_csv(root / "s.csv", srv.base_url, srcs, start, end)
            yield root, root / "s.csv", srcs


def build_usage(csv_path: Path, out: Path, workers: int, *extra: str) -> TreeUsage:
    """Wall and CPU of one build, every process of its tree counted (forkserver workers too)."""
    return run_tree([*VAAR, str(csv_path), "--out", str(out), "--workers", str(workers), *extra])


def overhead(args: argparse.Namespace) -> None:
    with served(args.clips, 5.0, "320x240", 0.5, 4.5) as (root, csv_path, srcs):
        b = build_usage(csv_path, root / "b1", 1)
        # resumed, nothing to do: start-up, ledger, manifest, publish (best of a few: the fixed cost)
        noops = [build_usage(csv_path, root / "b1", 1) for _ in range(args.noop_runs)]
        noops_np = [build_usage(csv_path, root / "b1", 1, "--no-publish") for _ in range(args.noop_runs)]
        t_bare = sum(bare_commands(s, root, 0.5, 4.0) for s in srcs)
    n = args.clips
    noop_wall, noop_cpu = min(u.wall for u in noops), min(u.cpu for u in noops)
    np_wall, np_cpu = min(u.wall for u in noops_np), min(u.cpu for u in noops_np)
    print("CPU per clip of the bare commands, by stage (children's user + system time):")
    for stage, cpu in STAGE_CPU.items():
        print(f"  {stage:28s} {cpu / n * 1000:6.0f} ms")
    bare_cpu = sum(STAGE_CPU.values())
    print(f"  {'all bare commands':28s} {bare_cpu / n * 1000:6.0f} ms")
    print(f"fixed cost (no-op rerun, best of {args.noop_runs}): {noop_wall:.2f} s wall, {noop_cpu:.2f} s CPU; "
          f"with --no-publish {np_wall:.2f} s wall, {np_cpu:.2f} s CPU")  # fmt: skip
    print(f"vaar build --workers 1 CPU (whole process tree): {b.cpu / n * 1000:.0f} ms/clip all in; "
          f"per clip without the fixed cost {(b.cpu - noop_cpu) / n * 1000:.0f} ms "
          f"({100 * ((b.cpu - noop_cpu) / bare_cpu - 1):+.0f} % over the bare commands)")  # fmt: skip
    print(f"clips: {n}")
    print(f"bare ffmpeg/ffprobe commands: {t_bare:.1f} s ({t_bare / n * 1000:.0f} ms/clip)")
    print(f"vaar build --workers 1:        {b.wall:.1f} s ({b.wall / n * 1000:.0f} ms/clip)")
    print(f"  of which fixed (no-op rerun): {noop_wall:.1f} s")
    print(f"overhead, all in:               {100 * (b.wall / t_bare - 1):+.1f} %")
    print(f"overhead per clip (no start-up): {100 * ((b.wall - noop_wall) / t_bare - 1):+.1f} %")


def scaling(args: argparse.Namespace) -> None:
    with served(args.clips, 5.0, "320x240", 0.5, 4.5) as (root, csv_path, _):
        one = build_usage(csv_path, root / "w1", 1)
        two = build_usage(csv_path, root / "w2", 2)
        noop = build_usage(csv_path, root / "w2", 2)  # resumed: start-up, read ledger, manifest, publish
    cores = os.cpu_count() or 1
    print(f"clips: {args.clips}, cpus: {cores}")
    print(f"--workers 1: {one.wall:.1f} s, --workers 2: {two.wall:.1f} s, speed-up {one.wall / two.wall:.2f}x")
    print(f"CPU (whole process tree): --workers 1 {one.cpu:.1f} s, --workers 2 {two.cpu:.1f} s, "
          f"no-op rerun {noop.cpu:.1f} s; wall x cores not used by --workers 1: "
          f"{100 * (1 - one.cpu / (one.wall * cores)):.0f} %")
    # Amdahl: the no-op rerun is the part that does not shrink with workers (serial)
    serial = noop.wall / one.wall
    print(f"serial part (no-op rerun / one-worker build): {serial:.0%}; "
          f"Amdahl bound for 2 workers: {1 / (serial + (1 - serial) / 2):.2f}x")


def tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of pid and its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(stat[1]), []).append(int(p.name))
            rss[int(p.name)] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        total += rss.get(q, 0)
        todo += children.get(q, [])
    return total


def memory(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        www = root / "www"
        www.mkdir()
        srcs = make_sources(www, max(args.clips), 2.0, "96x64")
        with LoopbackServer(www) as srv:
            for n in args.clips:
                write_csv(root / f"s{n}.csv", srv.base_url, srcs[:n], 0.2, 1.4)
                proc = subprocess.Popen([*VAAR, str(root / f"s{n}.csv"), "--out", str(root / f"m{n}"),
                                         "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                peak, t = 0, time.perf_counter()
                while proc.poll() is None:
                    peak = max(peak, tree_rss(proc.pid))
                    time.sleep(0.1)
                print(f"clips {n:5d}: peak tree RSS {peak / 2**20:7.0f} MiB, {time.perf_counter() - t:6.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("overhead", "scaling"):
        p = sub.add_parser(name)
        p.add_argument("--clips", type=int, default=50)
        if name == "overhead":
            p.add_argument("--noop-runs", type=int, default=3, help="no-op reruns (best counts)")
    p = sub.add_parser("memory")
    p.add_argument("--clips", type=int, nargs="+", default=[200, 600, 1000])
    args = ap.parse_args()
    {"overhead": overhead, "scaling": scaling, "memory": memory}[args.what](args)


if __name__ == "__main__":
    main()
