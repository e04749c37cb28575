"""Measure the submission host (`vaar-bench serve` + `vaar-bench worker`) on loopback.

    .venv/bin/python benchmarks/bench_host.py upload --uploads 100
    .venv/bin/python benchmarks/bench_host.py worker --submissions 12
    .venv/bin/python benchmarks/bench_host.py memory --concurrent 100

* upload: p50/p95 wall time of one `POST /api/v1/submissions` of a 3,000-row predictions file
  (upload, validation with the local contract, quota check + insert), one after another, seen
  from the client, against a real uvicorn. Target: p95 <= 1 s on 2 cores.
* worker: submissions scored per minute on 3,000-row predictions with 1,000 bootstrap
  resamples (the private part's intervals), with one and with two worker processes draining
  the same queue.
* memory: peak RSS of the server process (VmHWM) while 100 clients upload a 3,000-row file each
  at once. Target: <= 500 MB.

The hidden test set is 3,000 synthetic clips (opaque ids), made here; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bench.host.hostkit import cli, env, make_host, uvicorn_server, write_preds  # noqa: E402
from tests.bench.host.test_e2e import _post  # noqa: E402
from vaar.bench.host.store import add_team  # noqa: E402

N_CLIPS = 3000


def _setup(tmp: Path, **cfg: object) -> tuple[dict[str, object], str, bytes]:
    h = make_host(tmp, n=N_CLIPS, daily_quota=10_000, total_quota=100_000, **cfg)
    token = add_team(Path(str(h["root"])) / "host.db", "bench")
    labels = [lab if i % 3 else "normal" for i, lab in enumerate(h["labels"])]  # type: ignore[arg-type]
    data = write_preds(tmp / "p.csv", h["ids"], labels).read_bytes()  # type: ignore[arg-type]  # ~70% right
    return h, token, data


def upload(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h, token, data = _setup(Path(tmp))
        with uvicorn_server(Path(str(h["root"]))) as url:
            _post(url, token, data)  # warm-up: loads the hidden labels once
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                code = _post(url, token, data)
                times.append(time.perf_counter() - t0)
                assert code == 202, code
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print(f"upload + validation of a {N_CLIPS:,}-row file ({len(data) / 1024:.0f} KB), {n} uploads: "
          f"p50 {1000 * statistics.median(times):.0f} ms, p95 {1000 * p95:.0f} ms")


def _drain(root: Path, workers: int) -> float:
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cli("worker", str(root), "--once"), env=env(), stdout=subprocess.DEVNULL)
             for _ in range(workers)]
    for p in procs:
        assert p.wait() == 0
    return time.perf_counter() - t0


def worker(n: int) -> None:
    from vaar.bench.host.store import Quota, Team, insert_submission, opened

    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            h, _token, data = _setup(Path(tmp), resamples=1000)
            root = Path(str(h["root"]))
            (root / "uploads" / "p.csv").write_bytes(data)
            with opened(root / "host.db") as conn:
                for _ in range(n):
                    insert_submission(conn, Team(1, "bench"), "vaar-cls", "predictions", "p.csv", "p.csv", {},
                                      Quota(10_000, 100_000))
            wall = _drain(root, workers)
            print(f"{workers} worker{'s' if workers > 1 else ''}: {n} submissions of {N_CLIPS:,} rows, 1,000 "
                  f"resamples, in {wall:.1f} s: {60 * n / wall:.1f} scored per minute")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(concurrent: int) -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        h, token, data = _setup(Path(tmp))
        root = Path(str(h["root"]))
        port_proc = None
        with uvicorn_server(root) as url:
            port = url.rsplit(":", 1)[1]
            out = subprocess.run(["pgrep", "-f", f"serve {root} --port {port}"], capture_output=True, text=True)
            pids = [int(p) for p in out.stdout.split() if int(p) != os.getpid()]
            port_proc = pids[0]
            idle = _peak_rss_mb(port_proc)
            codes: list[int] = []
            barrier = threading.Barrier(concurrent)

            def go() -> None:
                barrier.wait()
                codes.append(_post(url, token, data))

            threads = [threading.Thread(target=go) for _ in range(concurrent)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            peak = _peak_rss_mb(port_proc)
    print(f"{concurrent} concurrent uploads of {N_CLIPS:,} rows: {codes.count(202)} accepted in {wall:.1f} s; "
          f"server peak RSS {peak:.0f} MB (after start-up {idle:.0f} MB)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("upload").add_argument("--uploads", type=int, default=100)
    sub.add_parser("worker").add_argument("--submissions", type=int, default=12)
    sub.add_parser("memory").add_argument("--concurrent", type=int, default=100)
    args = p.parse_args()
    if args.what == "upload":
        upload(args.uploads)
    elif args.what == "worker":
        worker(args.submissions)
    else:
        memory(args.concurrent)


if __name__ == "__main__":
    main()
