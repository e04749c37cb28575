"""`vaar publish` time and peak memory on a synthetic manifest of N ok clips.

Each clip is a small random "video" (2 KiB) and "audio" (0.5 KiB) file with the manifest's
sha256, so the figures measure publish's own work (manifest read and validation, split, sha256
checks, Parquet shards, card) rather than disk bandwidth. Peak RSS is the publishing process's.

    python benchmarks/bench_publish.py --clips 20000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_build(root: Path, n: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vaar.core.contracts.manifest_schema import empty_row, manifest_schema
    from vaar.core.taxonomy import default_taxonomy

    slugs = default_taxonomy().slugs
    (root / "clips").mkdir(parents=True)
    rows = []
    for i in range(n):
        v, a = os.urandom(2048), os.urandom(512)
        (root / "clips" / f"c{i}.mp4").write_bytes(v)
        (root / "clips" / f"c{i}.flac").write_bytes(a)
        r = empty_row()
        r.update(clip_id=f"c{i:06d}", label=slugs[i % len(slugs)], status="ok", source_id=f"s{i // 3}",
                 video_path=f"clips/c{i}.mp4", audio_path=f"clips/c{i}.flac",
                 video_sha256=hashlib.sha256(v).hexdigest(), audio_sha256=hashlib.sha256(a).hexdigest(),
                 video_bytes=len(v), audio_bytes=len(a), duration=2.0, fps=25.0, width=160, height=120)
        rows.append(r)
    pq.write_table(pa.Table.from_pylist(rows, schema=manifest_schema()), root / "manifest.parquet")
    return root / "manifest.parquet"


def publish_once(manifest: str, out: str) -> None:
    from vaar.curation.publish.folder import PublishConfig, publish

    t = time.perf_counter()
    publish(Path(manifest), None, Path(out), PublishConfig())
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"publish: {wall:.1f} s wall, peak RSS {peak:.0f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=20_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        publish_once(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as d:
        manifest = make_build(Path(d) / "build", args.clips)
        print(f"{args.clips} ok clips")
        # a fresh process, so the peak RSS is publish's alone
        return subprocess.call([sys.executable, __file__, "--child", str(manifest), str(Path(d) / "dataset")])


if __name__ == "__main__":
    sys.exit(main())
