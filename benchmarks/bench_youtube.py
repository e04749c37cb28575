"""Measure `vaar build` on a YouTube-shaped site (tests/fixtures/ytsite): long sources served as
separate adaptive video and audio formats, clips scattered through them.

    .venv/bin/python benchmarks/bench_youtube.py                      # 30 sources x 10 clips, 60 min each
    .venv/bin/python benchmarks/bench_youtube.py --sources 6 --clips-per-source 5 --duration 1800

For ``--workers`` 1 and 2 (fresh build folders), then once more with a 429 (``Retry-After: 1``)
injected every ``--throttle-every`` requests: clips per minute, bytes the server wrote per clip
against the clip's share (its seconds' fraction of every format it used), requests per clip, the
build's CPU per clip over its whole process tree (benchmarks/treecpu.py), and the build's own
per-stage table (``vaar build --json``). The reference CPU per clip is what the same clip costs
done by hand: one yt-dlp section download by stream copy (``--download-sections``, no forced
keyframes) plus one trim encode (the build's ffmpeg command without its QC outputs), measured on
``--reference-clips`` clips.

The sources share one set of files (distinct video ids, so bytes are counted per source); the
site and the build run on this machine, so "bytes" are what crossed loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from treecpu import run_tree  # noqa: E402

from tests.fixtures.sources import sources_csv  # noqa: E402
from tests.fixtures.ytsite import PLUGIN_DIR, Faults, YouTubeSite  # noqa: E402
from vaar.curation.build.media import MediaConfig, trim_commands  # noqa: E402

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(PLUGIN_DIR)])}


def rows_for(site: YouTubeSite, n_sources: int, per_source: int, duration: float, clip_s: float,
             seed: int) -> list[tuple[str, str, float, float, str]]:
    rng = random.Random(seed)
    rows = []
    for k in range(n_sources):
        vid = f"src{k:03d}"
        site.alias(vid, "base")
        starts = sorted(rng.uniform(1.0, duration - clip_s - 1.0) for _ in range(per_source))
        rows += [(f"{vid}-{j}", site.url(vid), round(s, 2), round(s + clip_s, 2), "crash")
                 for j, s in enumerate(starts)]
    return rows


def share(site: YouTubeSite, seconds: float, itags: set[int]) -> float:
    base = site.videos["base"]
    return sum(f.path.stat().st_size for f in base.formats if f.itag in itags) * seconds / base.duration


def build(csv: Path, out: Path, workers: int) -> tuple[dict, float, float]:
    report = out.with_suffix(".json")
    cmd = ["bash", "-c", f"{sys.executable} -m vaar.cli build {csv} --out {out} --workers {workers} "
                         f"--allow-private-network --no-publish --json > {report}"]
    env_before = dict(os.environ)
    os.environ.update(ENV)
    try:
        usage = run_tree(cmd, check=False)
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return json.loads(report.read_text()), usage.wall, usage.cpu


def reference_cpu(site: YouTubeSite, rows: list, work: Path) -> float:
    """CPU of one yt-dlp section download by stream copy + one trim encode, per clip."""
    total = 0.0
    for clip_id, url, s, e, _ in rows:
        dst = work / f"ref-{clip_id}.mp4"
        dl = [sys.executable, "-m", "yt_dlp", "-q", "--no-warnings", "-f", "bv*[height<=?720]+ba",
              "--download-sections", f"*{s}-{e}", "--merge-output-format", "mp4", "-o", str(dst), url]
        env_before = dict(os.environ)
        os.environ.update(ENV)
        try:
            total += run_tree(dl).cpu
        finally:
            os.environ.clear()
            os.environ.update(env_before)
        (cmd,) = trim_commands(dst, 0.0, e - s, work / f"ref-{clip_id}.out.mp4", work / f"ref-{clip_id}.flac",
                               MediaConfig(threads=1), True)
        total += run_tree(cmd).cpu
    return total / len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=30)
    ap.add_argument("--clips-per-source", type=int, default=10)
    ap.add_argument("--duration", type=float, default=3600.0, help="seconds of each source")
    ap.add_argument("--clip-s", type=float, default=10.0)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--throttle-every", type=int, default=200)
    ap.add_argument("--reference-clips", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-yt-") as d, YouTubeSite(Path(d) / "www") as site:
        work = Path(d)
        t0 = time.monotonic()
        site.add("base", args.duration)
        print(f"made a {args.duration:.0f} s source in {time.monotonic() - t0:.1f} s; "
              f"{args.sources} sources x {args.clips_per_source} clips of {args.clip_s:g} s")
        rows = rows_for(site, args.sources, args.clips_per_source, args.duration, args.clip_s, args.seed)
        csv = sources_csv(work / "rows.csv", rows)
        ref = reference_cpu(site, rows[: args.reference_clips], work)
        ref_bytes = site.total_bytes() / args.reference_clips
        ref_share = share(site, args.clip_s, {int(k.split("/")[1]) for k in site.bytes_sent})
        runs = [(f"workers {w}", w, Faults()) for w in args.workers]
        runs.append((f"workers {args.workers[-1]}, 429 every {args.throttle_every} requests", args.workers[-1],
                     Faults(throttle_every=args.throttle_every, retry_after=1.0)))
        print(f"reference CPU per clip (yt-dlp section download by stream copy + one trim encode): {ref:.2f} s; "
              f"yt-dlp's section download fetched {ref_bytes / 1e6:.2f} MB per clip ({ref_bytes / ref_share:.1f}x share)")
        print("| run | clips ok / failed | wall s | clips/min | MB per clip | x share | requests/clip "
              "| CPU s/clip | x reference | 429s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for i, (name, workers, faults) in enumerate(runs):
            site.faults = faults
            site.bytes_sent.clear()
            site.requests.clear()
            site.throttled = site.request_count = 0
            data, wall, cpu = build(csv, work / f"out{i}", workers)
            n = len(rows)
            ok = data["counts"].get("ok", 0)
            used = {int(k.split("/")[1]) for k in site.bytes_sent}
            clip_share = share(site, args.clip_s, used)
            per_clip = site.total_bytes() / n
            print(f"| {name} | {ok} / {data['counts'].get('failed', 0)} | {wall:.1f} | {60 * ok / wall:.1f} "
                  f"| {per_clip / 1e6:.3f} | {per_clip / clip_share:.2f} | {sum(site.requests.values()) / n:.2f} "
                  f"| {cpu / n:.2f} | {cpu / n / ref:.2f} | {site.throttled} |")
            if i == 0:
                stages = data["stages"]
        print("\nper-stage time of the first run (vaar build --json):")
        print("| stage | wall s | CPU s |\n|---|---|---|")
        for stage, v in stages.items():
            print(f"| {stage} | {v['wall_s']:.2f} | {v['cpu_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
