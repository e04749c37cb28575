"""Bytes a build fetches per direct source file (issue 14 target 3: ≤ 1.05× the file's size).

Serves N generated MP4 sources on the loopback server (which counts the body bytes it sends and
the requests by method), builds one clip from each with the real yt-dlp and ffmpeg, and prints
the ratio of bytes sent to each file's size. Before the ``HEAD`` type probe the server sent each
file twice (yt-dlp's generic extractor probes with a ``GET`` whose body the server writes in
full): 1.8–2.0×.

    python benchmarks/bench_bytes.py --sources 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.http_server import FaultyServer  # noqa: E402
from tests.fixtures.media import make_source  # noqa: E402
from vaar.curation.build.download import DownloadConfig  # noqa: E402
from vaar.curation.build.pipeline import BuildConfig, run_build  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=4)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vaar-bytes-"))
    www = root / "www"
    www.mkdir()
    with FaultyServer(www) as srv:
        rows = ["clip_id,url,start,end,label,source_id,license,notes"]
        for i in range(args.sources):
            make_source(www / f"s{i}.mp4", 12.0, size="320x240", variant=i)
            rows.append(f"c{i},{srv.url(f's{i}.mp4')},0.5,2.5,crash,,,")
        (root / "s.csv").write_text("\n".join(rows) + "\n")
        cfg = BuildConfig(workers=1, do_publish=False, download=DownloadConfig(allow_private_network=True))
        run_build([root / "s.csv"], root / "out", cfg)
        worst = 0.0
        for i in range(args.sources):
            name = f"s{i}.mp4"
            size = (www / name).stat().st_size
            ratio = srv.bytes_sent[name] / size
            worst = max(worst, ratio)
            methods = {m: n for (f, m), n in srv.methods.items() if f == name}
            print(f"{name}: {size} bytes, sent {srv.bytes_sent[name]} ({ratio:.3f}x), requests {methods}")
    print(f"bytes fetched / source size, worst of {args.sources}: {worst:.3f}x (target <= 1.05x)")


if __name__ == "__main__":
    main()
