"""Throughput of `vaar build --backend ray` against the local process pool, on one machine.

    .venv/bin/python benchmarks/bench_ray.py --clips 200 --workers 2

N small local clips (one a source, served on 127.0.0.1, fetched by yt-dlp) are built into fresh
folders with the local pool and on a local Ray instance (``ray.init`` with ``--workers`` CPUs),
in this process, in halves and in ABBA order (local, ray, ray, local) so that drift in the
background load of a shared machine falls on both alike. Ray's start-up (``ray.init`` until the first task has
run) is timed on its own and not counted in its build time. Both builds must give the same
statuses and video sha256s. Printed: clips/s of each, the ratio, and the per-clip costs that
the README's per-node estimate uses. Needs `pip install 'vaar[ray]'`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_build import make_sources, write_csv  # noqa: E402

from vaar.curation.build.download import DownloadConfig  # noqa: E402
from vaar.curation.build.loopback import LoopbackServer  # noqa: E402
from vaar.curation.build.pipeline import BuildConfig, run_build  # noqa: E402


def build(csv: Path, out: Path, cfg: BuildConfig) -> tuple[float, dict[str, tuple[str, str | None]]]:
    import pyarrow.parquet as pq

    t = time.perf_counter()
    report = run_build([csv], out, cfg)
    seconds = time.perf_counter() - t
    assert report.processed > 0
    rows = pq.read_table(out / "manifest.parquet", columns=["clip_id", "status", "video_sha256"]).to_pylist()
    return seconds, {r["clip_id"]: (r["status"], r["video_sha256"]) for r in rows}


def _warm_up() -> None:
    import vaar.curation.build.pipeline  # noqa: F401

    time.sleep(0.5)  # hold the CPU so that the next warm-up lands on another worker


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="source length")
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated sources here")
    args = ap.parse_args()

    try:
        import ray
    except ImportError:
        print("bench_ray: Ray is not installed (pip install 'vaar[ray]'); skipped")
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="vaar-bench-ray-"))
    www = args.keep or tmp / "www"
    www.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    srcs = make_sources(www, args.clips, args.seconds, "160x120")
    print(f"{args.clips} sources ready in {time.perf_counter() - t:.1f}s ({www})", flush=True)
    local_cfg = BuildConfig(workers=args.workers, do_publish=False,
                            download=DownloadConfig(allow_private_network=True))  # loopback sources
    ray_cfg = replace(local_cfg, backend="ray")
    half = args.clips // 2
    seconds = {"local": 0.0, "ray": 0.0}
    rows: dict[str, dict[str, tuple[str, str | None]]] = {"local": {}, "ray": {}}
    try:
        with LoopbackServer(www) as server:
            csvs = []
            for h, part in enumerate((srcs[:half], srcs[half:])):
                csvs.append(tmp / f"sources{h}.csv")
                write_csv(csvs[-1], server.base_url, part, 0.5, 2.5)
            # ABBA: local half 0, ray half 0, ray half 1, local half 1 (drift in a shared
            # machine's background load falls on both backends alike)
            s, r = build(csvs[0], tmp / "local0", local_cfg)
            seconds["local"] += s
            rows["local"].update({f"0/{k}": v for k, v in r.items()})
            print(f"local half 0: {s:.1f}s", flush=True)

            t = time.perf_counter()
            ray_tmp = tempfile.mkdtemp(prefix="r", dir="/tmp")
            ray.init(num_cpus=args.workers, object_store_memory=80 * 2**20, include_dashboard=False,
                     log_to_driver=False, _temp_dir=ray_tmp)  # fmt: skip
            warm = ray.remote(num_cpus=1)(_warm_up)
            ray.get([warm.remote() for _ in range(args.workers)])  # workers up, vaar imported
            startup = time.perf_counter() - t
            print(f"ray start-up: {startup:.1f}s", flush=True)
            for h in (0, 1):
                s, r = build(csvs[h], tmp / f"ray{h}", ray_cfg)
                seconds["ray"] += s
                rows["ray"].update({f"{h}/{k}": v for k, v in r.items()})
                print(f"ray half {h}: {s:.1f}s", flush=True)
            ray.shutdown()
            shutil.rmtree(ray_tmp, ignore_errors=True)

            s, r = build(csvs[1], tmp / "local1", local_cfg)
            seconds["local"] += s
            rows["local"].update({f"1/{k}": v for k, v in r.items()})
            print(f"local half 1: {s:.1f}s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    local_s, ray_s = seconds["local"], seconds["ray"]
    same = rows["local"] == rows["ray"]
    ok = sum(1 for st, _ in rows["local"].values() if st == "ok")
    print(f"\nclips {args.clips} (ok {ok}), workers {args.workers}, identical manifests: {same}")
    print(f"local: {local_s:.1f}s  {args.clips / local_s:.2f} clips/s")
    print(f"ray:   {ray_s:.1f}s  {args.clips / ray_s:.2f} clips/s  (+ {startup:.1f}s start-up, once)")
    print(f"ray/local throughput: {local_s / ray_s:.2f}  (issue #7 asks >= 0.75)")
    print(f"per-clip cost (local): {local_s / args.clips * 1000:.0f} ms wall, "
          f"{local_s * args.workers / args.clips:.2f} core-s  -> one core does "
          f"{args.clips / (local_s * args.workers):.2f} clips/s")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
