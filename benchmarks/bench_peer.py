"""Curation against its peer: wall and CPU time per clip of `vaar build` and video2dataset 1.3.0.

    .venv/bin/python benchmarks/bench_peer.py --clips 32 [--rounds 2] [--peer-python /tmp/v2d/bin/python]

Both tools get the same N generated sources (testsrc2 + tone with clicks, 5 s, 320x240), served
on 127.0.0.1, one 4 s clip each, exact clipping. vaar's figure includes its sync check, quality
checks, fingerprint, verify and publish; video2dataset's is download + ffmpeg clipping only.
Runs alternate (A B A B ...) and the best round of each counts: this machine is shared, so only
the ratio within one run means anything. CPU time is the children's user + system time
(``resource.getrusage(RUSAGE_CHILDREN)``), which load inflates far less than wall time.

The peer runs only when ``--peer-python`` can ``import video2dataset.main`` (install it in its own
venv: ``python -m venv /tmp/v2d && /tmp/v2d/bin/pip install video2dataset==1.3.0 --no-deps`` plus
what its import needs); otherwise vaar is reported alone, with the reason.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from bench_build import served  # noqa: E402

START, END = 0.5, 4.5

PEER_SCRIPT = """
import sys
from video2dataset.main import video2dataset
video2dataset(url_list=sys.argv[1], output_folder=sys.argv[2], input_format="csv", output_format="files",
              url_col="url", clip_col="clips", encode_formats={"video": "mp4", "audio": "m4a"},
              config={"subsampling": {"ClippingSubsampler": {"args": {"precision": "exact",
                                                                       "min_length": 0.0,
                                                                       "max_length": 999999.0}}},
                      "reading": {"yt_args": {"download_size": 360, "download_audio_rate": 44100},
                                  "timeout": 60, "sampler": None},
                      "storage": {"number_sample_per_shard": 1000, "oom_shard_count": 5,
                                  "captions_are_subtitles": False},
                      "distribution": {"processes_count": 1, "thread_count": 4, "subjob_size": 1000,
                                       "distributor": "multiprocessing"}})
"""


def run_timed(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU of the child tree) seconds of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peer_available(python: Path) -> str | None:
    """None when the peer can run, else why not (one line)."""
    if not python.exists():
        return f"{python} not found"
    proc = subprocess.run([str(python), "-c", "import video2dataset.main"], capture_output=True, text=True)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1:] or ["import failed"]
        return f"`import video2dataset.main` fails: {last[0]}"
    return None


def peer_csv(vaar_csv: Path, out: Path) -> Path:
    with open(vaar_csv, newline="") as f, open(out, "w", newline="") as g:
        w = csv.writer(g, lineterminator="\n")
        w.writerow(["url", "clips"])
        for row in csv.DictReader(f):
            w.writerow([row["url"], json.dumps([[float(row["start"]), float(row["end"])]])])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--peer-python", type=Path, default=Path("/tmp/v2d/bin/python"))
    args = ap.parse_args()
    why_not = peer_available(args.peer_python)
    n = args.clips
    with served(n, 5.0, "320x240", START, END) as (root, csv_path, _):
        p_csv = peer_csv(csv_path, root / "peer.csv")
        vaar: list[tuple[float, float]] = []
        peer: list[tuple[float, float]] = []
        for r in range(args.rounds):
            vaar.append(run_timed([sys.executable, "-m", "vaar.cli", "build", str(csv_path),
                                   "--out", str(root / f"vaar{r}"), "--workers", "1", "--allow-private-network"]))  # fmt: skip
            if why_not is None:
                peer.append(run_timed([str(args.peer_python), "-c", PEER_SCRIPT, str(p_csv), str(root / f"peer{r}")]))
    print(f"clips: {n}, rounds: {args.rounds} (A B A B, best round of each)")
    vw, vc = min(vaar)[0], min(c for _, c in vaar)
    print(f"vaar build --workers 1:  {vw / n:.3f} s/clip wall, {vc / n:.3f} s/clip CPU (sync, QC, fingerprint, publish included)")
    if why_not is not None:
        print(f"video2dataset 1.3.0: not run ({why_not}); vaar reported alone")
        return
    pw, pc = min(peer)[0], min(c for _, c in peer)
    print(f"video2dataset 1.3.0:     {pw / n:.3f} s/clip wall, {pc / n:.3f} s/clip CPU (download + exact clipping)")
    print(f"ratio vaar / video2dataset: wall {vw / pw:.2f}x, CPU {vc / pc:.2f}x (target <= 0.5x)")


if __name__ == "__main__":
    main()
