"""Curation against its peer: wall and CPU time per clip of `vaar build` and video2dataset 1.3.0.

    .venv/bin/python benchmarks/bench_peer.py [--clips 64] [--long-clips 16] [--rounds 2]
        [--source-seconds 30 --clip-seconds 10] [--scenarios short long] [--peer-python /tmp/v2d/bin/python]

Both tools get the same generated sources (testsrc2 + a tone with clicks, 320x240), served on
127.0.0.1, one clip each, exact clipping. Two scenarios:

* short: 5 s sources, a 4 s clip at 0.5 s. The peer's best case: its exact mode re-encodes the
  whole source, which here is barely longer than the clip.
* long: 30 s sources (``--source-seconds``), a 10 s clip in the middle (``--clip-seconds``),
  closer to real VGGSound / VAAR sources: the peer still re-encodes the whole source, vaar only
  the clip.

vaar runs at its default ``--workers`` and at 1 and 2; its figure includes the sync check, quality
checks, fingerprint, verify and publish. video2dataset runs as configured for it before
(processes_count 1, thread_count 4) and with processes_count 2 (the rows split into one shard per
process, so that both work); its figure is download + ffmpeg clipping only. The best configuration of each tool counts. Runs alternate (A B C D A B C D ...),
the best round of each configuration counts: this machine is shared, so only ratios within one
run mean anything. CPU is the user + system time of every process of the command's tree, forkserver
workers and other orphans included (benchmarks/treecpu.py), which load inflates far less than wall.

Every run's output is checked with ffprobe: N of N clips present, and each within 50 ms of the
requested duration, by container duration and by every stream (video and audio of the MP4, and
vaar's FLAC).

The peer runs only when ``--peer-python`` can ``import video2dataset.main`` (install it in its own
venv: ``python -m venv /tmp/v2d && /tmp/v2d/bin/pip install video2dataset==1.3.0 --no-deps`` plus
what its import needs); otherwise vaar is reported alone, with the reason. Its input is Parquet: a
CSV ``clips`` column reaches its clipping subsampler as a string, and every clip then fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_build import served  # noqa: E402
from clipcheck import Check, check_peer, check_vaar  # noqa: E402
from treecpu import run_tree  # noqa: E402

PEER_SCRIPT = """
import sys
from video2dataset.main import video2dataset
video2dataset(url_list=sys.argv[1], output_folder=sys.argv[2], input_format="parquet", output_format="files",
              url_col="url", clip_col="clips", encode_formats={"video": "mp4", "audio": "m4a"},
              config={"subsampling": {"ClippingSubsampler": {"args": {"precision": "exact",
                                                                       "min_length": 0.0,
                                                                       "max_length": 999999.0}}},
                      "reading": {"yt_args": {"download_size": 360, "download_audio_rate": 44100},
                                  "timeout": 60, "sampler": None},
                      "storage": {"number_sample_per_shard": int(sys.argv[4]), "oom_shard_count": 5,
                                  "captions_are_subtitles": False},
                      "distribution": {"processes_count": int(sys.argv[3]), "thread_count": 4,
                                       "subjob_size": 1000, "distributor": "multiprocessing"}})
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    clips: int
    source_seconds: float
    start: float
    end: float
    note: str


@dataclass(frozen=True)
class Run:
    tool: str  # vaar | video2dataset
    config: str
    wall: float
    cpu: float
    check: Check


def vaar_default_workers() -> int:
    """What ``vaar build`` runs without ``--workers`` (a number, or None: one per usable CPU)."""
    from vaar.core._util.cpus import usable_cpus
    from vaar.curation.cmd_build import add_arguments

    p = argparse.ArgumentParser()
    add_arguments(p)
    workers = p.parse_args(["x.csv"]).workers
    return int(workers) if workers is not None else usable_cpus()


def peer_available(python: Path) -> str | None:
    """None when the peer can run, else why not (one line)."""
    if not python.exists():
        return f"{python} not found"
    proc = subprocess.run([str(python), "-c", "import video2dataset.main"], capture_output=True, text=True)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["import failed"]
        return f"`import video2dataset.main` fails: {last[0]}"
    return None


def peer_input(vaar_csv: Path, out: Path) -> Path:
    """The same rows for the peer, as Parquet: url and clips ([[start, end]], a real list)."""
    import csv

    with open(vaar_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    pq.write_table(pa.table({"url": [r["url"] for r in rows],
                             "clips": [[[float(r["start"]), float(r["end"])]] for r in rows]}), out)  # fmt: skip
    return out


def configs(default_workers: int, peer: bool, clips: int) -> list[tuple[str, str, list[str]]]:
    """(tool, label, extra args) of every configuration, in the order a round runs them."""
    workers = sorted({default_workers, 1, 2})
    out = [("vaar", f"--workers {w}" + (" (default)" if w == default_workers else ""),
            [] if w == default_workers else ["--workers", str(w)]) for w in workers]  # fmt: skip
    if peer:
        # one shard per process: a process works on whole shards, so one shard would leave the second idle
        out += [("video2dataset", f"processes_count {p}, thread_count 4", [str(p), str(-(-clips // p))])
                for p in (1, 2)]  # fmt: skip
    return out


def run_scenario(sc: Scenario, rounds: int, peer_python: Path, peer: bool) -> list[Run]:
    runs: list[Run] = []
    default = vaar_default_workers()
    with served(sc.clips, sc.source_seconds, "320x240", sc.start, sc.end) as (root, csv_path, _):
        p_in = peer_input(csv_path, root / "peer.parquet")
        want = sc.end - sc.start
        for r in range(rounds):
            for k, (tool, label, extra) in enumerate(configs(default, peer, sc.clips)):
                out = root / f"{tool}{k}-{r}"
                if tool == "vaar":
                    cmd = [sys.executable, "-m", "vaar.cli", "build", str(csv_path), "--out", str(out),
                           "--allow-private-network", *extra]  # fmt: skip
                else:
                    cmd = [str(peer_python), "-c", PEER_SCRIPT, str(p_in), str(out), *extra]
                usage = run_tree(cmd)
                check = check_vaar(out, want) if tool == "vaar" else check_peer(out, want)
                runs.append(Run(tool, label, usage.wall, usage.cpu, check))
                print(f"  [{sc.name} round {r + 1}] {tool} {label}: {usage.wall:.1f} s wall, "
                      f"{usage.cpu:.1f} s CPU, {check.summary(sc.clips)}", flush=True)  # fmt: skip
    return runs


def best(runs: list[Run], tool: str, config: str | None = None) -> tuple[Run, float] | None:
    """The fastest run (wall) of a tool (or of one configuration) and the least CPU of its config."""
    mine = [r for r in runs if r.tool == tool and (config is None or r.config == config)]
    if not mine:
        return None
    fastest = min(mine, key=lambda r: r.wall)
    return fastest, min(r.cpu for r in mine if r.config == fastest.config)


def report(sc: Scenario, runs: list[Run]) -> list[str]:
    """Lines of the summary table for one scenario."""
    n = sc.clips
    lines = []
    for cfg in dict.fromkeys((r.tool, r.config) for r in runs):
        b = best(runs, *cfg)
        assert b is not None
        run, cpu = b
        worst = min((r.check for r in runs if (r.tool, r.config) == cfg), key=lambda c: c.all_streams)
        lines.append(f"{sc.name:5s}  {cfg[0]:13s} {cfg[1]:34s} {run.wall / n:6.3f} {cpu / n:6.3f}   "
                     f"{worst.summary(n)}")  # fmt: skip
    v, p = best(runs, "vaar"), best(runs, "video2dataset")
    if v and p:
        lines.append(f"{sc.name:5s}  ratio vaar / video2dataset, best of each ({v[0].config} / {p[0].config}): "
                     f"wall {v[0].wall / p[0].wall:.2f}x, CPU {v[1] / p[1]:.2f}x (target <= 0.5x)  [{sc.note}]")  # fmt: skip
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=64, help="clips of the short scenario")
    ap.add_argument("--long-clips", type=int, default=16, help="clips of the long scenario")
    ap.add_argument("--source-seconds", type=float, default=30.0, help="source length, long scenario")
    ap.add_argument("--clip-seconds", type=float, default=10.0, help="clip length, long scenario")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scenarios", nargs="+", choices=["short", "long"], default=["short", "long"])
    ap.add_argument("--peer-python", type=Path, default=Path("/tmp/v2d/bin/python"))
    args = ap.parse_args()
    mid = args.source_seconds / 2
    scenarios = {
        "short": Scenario("short", args.clips, 5.0, 0.5, 4.5, "5 s sources: the peer's best case"),
        "long": Scenario("long", args.long_clips, args.source_seconds, mid - args.clip_seconds / 2,
                         mid + args.clip_seconds / 2, f"{args.source_seconds:g} s sources, "
                         f"{args.clip_seconds:g} s clips: closer to real sources"),  # fmt: skip
    }
    why_not = peer_available(args.peer_python)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cpus)")
    if why_not is not None:
        print(f"video2dataset 1.3.0: not run ({why_not}); vaar reported alone")
    table: list[str] = []
    for name in args.scenarios:
        sc = scenarios[name]
        print(f"scenario {name}: {sc.clips} clips, {sc.source_seconds:g} s sources, clip "
              f"{sc.start:g}-{sc.end:g} s; {args.rounds} rounds (A B C ... A B C ..., best round of each)")  # fmt: skip
        table += report(sc, run_scenario(sc, args.rounds, args.peer_python, why_not is None))
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\nscene  tool          configuration                      s/clip wall / CPU   output check (worst round)")
    print("\n".join(table))


if __name__ == "__main__":
    main()
