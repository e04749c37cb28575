"""Wall and CPU time of a command's whole process tree, orphans included (Linux).

    python benchmarks/treecpu.py --report USAGE.json -- COMMAND [ARG ...]

``getrusage(RUSAGE_CHILDREN)`` counts a process only once its parent has waited for it. A build
whose workers are children of a multiprocessing forkserver is undercounted that way: the
forkserver waits for the workers, but nobody waits for the forkserver — when the build exits it is
re-parented to init and its CPU (and its workers') is lost to the caller.

This wrapper makes itself a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``), so every
descendant orphaned inside the command's tree is re-parented to it instead of init; it runs the
command, then waits (``os.wait`` until ``ECHILD``) for every orphan, and writes its own
``RUSAGE_CHILDREN``: the user + system time of every process of the tree that exited. A descendant
that is never reaped by its own parent is reaped here, so it counts too.

The report is JSON: ``rc`` (the command's exit status), ``wall`` (seconds until the command
itself exited), ``wall_tree`` (until its last descendant exited), ``user``, ``system`` and
``cpu`` (seconds), ``max_rss_kib`` (the largest RSS of one process of the tree).
:func:`run_tree` runs a command under the wrapper and returns the report as a
:class:`TreeUsage`.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


@dataclass(frozen=True)
class TreeUsage:
    rc: int
    wall: float  # the command itself, s
    wall_tree: float  # until its last descendant exited, s
    user: float
    system: float
    cpu: float  # user + system of every process of the tree, s
    max_rss_kib: int


def become_subreaper() -> None:
    """Orphaned descendants of this process are re-parented to it (not to init)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def reap_all() -> None:
    """Wait for every child, orphans re-parented here included, until there is none left."""
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return
        except InterruptedError:  # pragma: no cover - PEP 475 retries; kept for clarity
            continue


def measure(cmd: list[str], *, stdout: Any = None, stderr: Any = None) -> dict[str, Any]:
    """Run ``cmd`` as a subreaper's child; the tree's usage as a dict (the JSON report)."""
    become_subreaper()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr)
    rc = proc.wait()
    wall = time.perf_counter() - t0
    reap_all()
    wall_tree = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"rc": rc, "wall": wall, "wall_tree": wall_tree, "user": user, "system": system,
            "cpu": user + system, "max_rss_kib": after.ru_maxrss}  # fmt: skip


def run_tree(cmd: list[str], *, quiet: bool = True, check: bool = True) -> TreeUsage:
    """Run ``cmd`` under this wrapper (a fresh process, so the subreaper flag stays there)."""
    with tempfile.TemporaryDirectory(prefix="treecpu-") as d:
        report = Path(d) / "usage.json"
        sink = subprocess.DEVNULL if quiet else None
        subprocess.run([sys.executable, __file__, "--report", str(report), "--", *cmd],
                       stdout=sink, stderr=sink, check=True)  # fmt: skip
        usage = TreeUsage(**json.loads(report.read_text()))
    if check and usage.rc != 0:
        raise subprocess.CalledProcessError(usage.rc, cmd)
    return usage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", type=Path, required=True, help="write the usage here (JSON)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND [ARG ...]")
    args = ap.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command given")
    usage = measure(cmd)
    args.report.write_text(json.dumps(usage) + "\n")
    return 0  # the command's status is in the report


if __name__ == "__main__":
    sys.exit(main())
