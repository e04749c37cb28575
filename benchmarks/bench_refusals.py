"""Peak memory and time of refusing hostile submission files (issue 10 item 9) and hostile
build inputs (issue 19 item 6: an MP4 ``moov`` of thousands of tracks, a Parquet dictionary bomb).

Writes each attacker's file to a temporary folder, runs ``vaar-bench`` (or the MP4 reader) on it in
a fresh Python and prints the exit code, the wall time and the peak RSS (``VmHWM``) of that process::

    .venv/bin/python benchmarks/bench_refusals.py
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODE = ("import sys\nfrom vaar.bench.cli import main\nrc = main(sys.argv[1:])\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print('RESULT', rc, int(hwm) / 1024)")


def run(*args: str) -> tuple[int, float, float, str]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CODE, *args], capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    last = p.stdout.strip().splitlines()[-1].split()
    return int(last[1]), float(last[2]), wall, p.stderr.strip()[:110]


MP4_CODE = ("import sys\nfrom pathlib import Path\nfrom vaar.curation.mp4 import read_mp4_facts\n"
            "rc = 0 if read_mp4_facts(Path(sys.argv[1])) is not None else 2\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
            "print('RESULT', rc, int(hwm) / 1024)")


def run_mp4(path: Path) -> tuple[int, float, float, str]:
    """The moov reader on ``path`` (exit 2: refused, the caller would ask ffprobe)."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", MP4_CODE, str(path)], capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    last = p.stdout.strip().splitlines()[-1].split()
    return int(last[1]), float(last[2]), wall, "refused: ffprobe decides" if last[1] == "2" else "read"


def track_bomb(d: Path, tracks: int) -> Path:
    """An ffmpeg MP4 (moov last) whose video ``trak`` is repeated until ``moov`` holds ``tracks``."""
    import struct

    src = d / "one.mp4"
    if not src.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=2",
                        "-c:v", "libx264", "-preset", "veryfast", str(src)], check=True)  # fmt: skip
    data = src.read_bytes()
    at = data.rindex(b"moov") - 4
    moov, pos, trak = data[at:], 8, b""
    while pos < len(moov):
        size, kind = struct.unpack(">I4s", moov[pos : pos + 8])
        trak = moov[pos : pos + size] if kind == b"trak" else trak
        pos += size
    body = moov[8:] + trak * (tracks - 1)
    out = d / f"tracks{tracks}.mp4"
    out.write_bytes(data[:at] + struct.pack(">I4s", 8 + len(body), b"moov") + body)
    return out


def main() -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        labels = d / "labels.csv"
        with open(labels, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["clip_id", "label"])
            w.writerows([f"clip{i:05d}", "abuse"] for i in range(600))
        preds = d / "preds.csv"
        preds.write_text("clip_id,label\n" + "".join(f"clip{i:05d},abuse\n" for i in range(600)))
        cases: dict[str, list[str]] = {}

        laughs = d / "laughs.yaml"
        rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        rows += [f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
        laughs.write_text("\n".join([*rows, "notes: *i"]) + "\n")
        cases[f"--meta billion laughs ({laughs.stat().st_size} B)"] = [
            "submit", str(preds), "--name", "x", "--labels", str(labels), "--leaderboard", str(d / "b"), "--meta", str(laughs)]

        huge = d / "huge.parquet"
        chunk = pa.table({"clip_id": pa.array(["clip00000"] * 1_000_000).dictionary_encode(),
                          "label": pa.array(["abuse"] * 1_000_000).dictionary_encode()})
        with pq.ParquetWriter(huge, chunk.schema, compression="zstd") as w2:
            for _ in range(10):
                w2.write_table(chunk)
        del chunk
        cases[f"Parquet, 10 M rows ({huge.stat().st_size // 1024} KB)"] = ["score", str(huge), "--labels", str(labels)]

        many = d / "many.csv"
        with open(many, "w") as f:
            f.write("clip_id,label\n")
            f.writelines("clip00000,abuse\n" for _ in range(10_000_000))
        cases[f"CSV, 10 M rows ({many.stat().st_size >> 20} MB)"] = ["score", str(many), "--labels", str(labels), "--max-mb", "1000"]

        jl = d / "many.jsonl"
        with open(jl, "w") as f:
            f.writelines('{"clip_id": "clip00000", "label": "abuse"}\n' for _ in range(4_000_000))
        cases[f"JSONL, 4 M rows ({jl.stat().st_size >> 20} MB)"] = ["score", str(jl), "--labels", str(labels), "--max-mb", "1000"]

        bomb = d / "dict-bomb.parquet"
        ids = [f"clip{i:05d}" for i in range(600)]
        pq.write_table(pa.table({"clip_id": ids, "label": pa.array(["A" * (1 << 20)] * 600).dictionary_encode()}),
                       bomb, compression="zstd")
        cases[f"Parquet dictionary bomb ({bomb.stat().st_size} B, 600 MB as rows)"] = [
            "score", str(bomb), "--labels", str(labels)]

        nested = d / "nested.jsonl"
        nested.write_text('{"clip_id": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}\n")
        cases["JSONL, 1 M-deep nesting"] = ["score", str(nested), "--labels", str(labels)]

        print(f"{'file':<40} {'exit':>4} {'peak RSS MB':>11} {'wall s':>7}  message")
        for name, args in cases.items():
            rc, rss, wall, err = run(*args)
            print(f"{name:<40} {rc:>4} {rss:>11.0f} {wall:>7.1f}  {err}")
        for n in (1, 2, 16, 4096):
            path = track_bomb(d, n)
            rc, rss, wall, err = run_mp4(path)
            print(f"{f'MP4, {n} tracks ({path.stat().st_size // 1024} KB)':<40} {rc:>4} {rss:>11.0f} {wall:>7.1f}  {err}")


if __name__ == "__main__":
    main()
