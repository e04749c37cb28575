"""`vaar build --backend ray`: same results as the local pool, and Ray's fault handling.

A small local Ray instance is started once for the module (2 CPUs, 80 MiB object store, no
dashboard) and shut down after (``ray_cluster`` in conftest.py); builds run against the
loopback server with the real yt-dlp and ffmpeg. The end-to-end tests of test_build.py run on
Ray too, through the parametrised ``build_cfg`` fixture (``-m slow``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.fixtures.http_server import FaultyServer
from tests.fixtures.media import make_source
from tests.fixtures.procs import kill_after_ok_clips
from tests.fixtures.sources import sources_csv
from vaar.curation.build.download import DownloadConfig
from vaar.curation.build.pipeline import BuildConfig, run_build

ray = pytest.importorskip("ray")

LOCAL = BuildConfig(workers=2, download=DownloadConfig(retries=1, backoff_s=0.05, allow_private_network=True))
RAY = replace(LOCAL, backend="ray")
# differ from run to run or from machine to machine by design
VOLATILE = {"processed_at"}


def manifest(out: Path) -> dict[str, dict[str, Any]]:
    return {r["clip_id"]: r for r in pq.read_table(out / "manifest.parquet").to_pylist()}


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _sources(server: FaultyServer, tmp: Path, n: int) -> tuple[Path, int]:
    rows = []
    for k in range(n):
        make_source(server.root / f"s{k}.mp4", 4.5, variant=k)
        rows += [(f"s{k}-{j}", server.url(f"s{k}.mp4"), 0.3 + 2 * j, 2.3 + 2 * j, "crash") for j in range(2)]
    return sources_csv(tmp / "s.csv", rows), len(rows)


def test_ray_and_local_builds_are_identical(tmp_path: Path, server: FaultyServer, ray_cluster: str) -> None:
    www = server.root
    rows = []
    for i, label in enumerate(["crash", "explosion", "normal"]):
        for k in range(2):
            name = f"{label}{k}.mp4"
            make_source(www / name, 4.5, variant=2 * i + k)
            rows += [(f"{label}-{k}-a", server.url(name), 0.4, 2.4, label),
                     (f"{label}-{k}-b", server.url(name), 2.4, 4.4, label)]  # fmt: skip
    make_source(www / "noaudio.mp4", 4.0, audio=False)
    make_source(www / "short.mp4", 2.5, variant=7)
    rows += [("gone", server.url("e404-gone.mp4"), 0.5, 2.5, "crash"),
             ("mute", server.url("noaudio.mp4"), 0.5, 2.5, "crash"),
             ("short", server.url("short.mp4"), 0.5, 4.5, "crash")]  # fmt: skip
    csv = sources_csv(tmp_path / "s.csv", rows)
    local = run_build([csv], tmp_path / "local", LOCAL)
    on_ray = run_build([csv], tmp_path / "ray", RAY)
    assert on_ray.counts == local.counts and local.counts["ok"] == 12, local.counts
    assert local.counts["failed"] == 2 and local.counts["rejected"] == 1
    a, b = manifest(tmp_path / "local"), manifest(tmp_path / "ray")
    assert a.keys() == b.keys()
    for clip_id in a:
        ra = {k: v for k, v in a[clip_id].items() if k not in VOLATILE}
        rb = {k: v for k, v in b[clip_id].items() if k not in VOLATILE}
        assert ra == rb, clip_id
    # the same media, byte for byte, and the same published dataset (parquet, card, splits)
    for folder in ("clips", "audio", "dataset"):
        fa, fb = files(tmp_path / "local" / folder), files(tmp_path / "ray" / folder)
        assert fa.keys() == fb.keys() and fa, folder
        assert [k for k in fa if fa[k] != fb[k]] == [], folder


def _trimming_worker_pids(out: Path) -> list[int]:
    """Pids of workers in the middle of a trim: they own a ``.<clip>.mp4.<random>.tmp<pid>`` file now."""
    return sorted({int(p.name.rsplit(".tmp", 1)[1]) for p in out.glob("clips/*/.*.tmp*")})


def test_killed_worker_is_retried_and_no_clip_is_lost_or_doubled(
    tmp_path: Path, server: FaultyServer, ray_cluster: str
) -> None:
    csv, n = _sources(server, tmp_path, 5)
    out = tmp_path / "out"
    result: dict[str, Any] = {}
    build = threading.Thread(target=lambda: result.update(report=run_build([csv], out, RAY)))
    build.start()
    killed: list[int] = []
    deadline = time.time() + 120
    while build.is_alive() and len(killed) < 2 and time.time() < deadline:
        for pid in _trimming_worker_pids(out)[:1]:
            if pid in killed:
                continue
            try:
                os.kill(pid, signal.SIGKILL)  # a Ray worker dies in the middle of a clip
            except ProcessLookupError:
                continue
            killed.append(pid)
            time.sleep(1.0)
        time.sleep(0.02)
    build.join(300)
    assert killed, "no clip was seen being trimmed"
    m = manifest(out)
    assert len(m) == n and all(r["status"] == "ok" for r in m.values()), {
        c: r["error"] for c, r in m.items() if r["status"] != "ok"
    }
    with sqlite3.connect(out / "ledger.sqlite") as con:
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT clip_id) FROM clips").fetchone() == (n, n)
    assert len(list(out.glob("clips/crash/*.mp4"))) == n
    assert not list(out.rglob(".*.tmp*"))


def test_worker_that_keeps_dying_ends_failed_with_a_reason(ray_cluster: str) -> None:
    from vaar.curation.build.backends import RayExecutor

    pool = RayExecutor(max_retries=1)
    fut = pool.submit(os._exit, 3)  # the worker process dies, twice
    with pytest.raises(Exception) as info:
        fut.result(timeout=120)
    assert "worker" in str(info.value).lower() or "died" in str(info.value).lower()
    assert pool.submit(divmod, 7, 2).result(timeout=60) == (3, 1)
    with pytest.raises(ZeroDivisionError):  # the function's own exception, not Ray's wrapper
        pool.submit(divmod, 1, 0).result(timeout=60)
    pool.shutdown()
    assert ray.is_initialized()  # an instance the executor did not start is left running


def test_killed_driver_resumes_from_the_ledger(tmp_path: Path, server: FaultyServer, ray_cluster: str) -> None:
    csv, n = _sources(server, tmp_path, 6)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "vaar.cli", "build", str(csv), "--out", str(out), "--workers", "1",
           "--backend", "ray", "--ray-address", ray_cluster, "--allow-private-network"]  # fmt: skip
    done = kill_after_ok_clips(cmd, out / "ledger.sqlite", 2, timeout=180)
    assert 2 <= done < n, "the build finished before it could be killed"
    report = run_build([csv], out, RAY)
    assert report.skipped >= 2 and report.processed <= n - 2
    m = manifest(out)
    assert len(m) == n and all(r["status"] == "ok" for r in m.values())
    assert not list(out.rglob(".*.tmp*"))
    with sqlite3.connect(out / "ledger.sqlite") as con:
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT clip_id) FROM clips").fetchone() == (n, n)


def test_missing_ray_is_one_line_exit_2(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from vaar.cli import main\n"
        f"sys.exit(main(['build', 'x.csv', '--out', {str(tmp_path / 'o')!r}, '--backend', 'ray']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "vaar build: error: the Ray backend needs Ray: pip install 'vaar[ray]'"
    ]
