"""What holds a submitted model's process in: its own user, its own process tree, memory and network.

:class:`~vaar.bench.sandbox.ModelProcess` starts the model through :class:`Jail`, which uses the
strongest mechanism this machine allows for each of four things and records the one it used (the
leaderboard entry carries the record, so a reader knows how far a number can be trusted)::

    thing       strongest (root, Linux)                        fallback (recorded as such)
    ─────────   ────────────────────────────────────────────   ──────────────────────────────────
    user        a fresh uid of its own (no passwd entry, no    "same user": the model can read what
                groups): cannot read 0600/0700 files, the      the scorer can, and /proc/<ppid>
                scorer's /proc/<pid>/environ, cwd or fds
    processes   a PID namespace (``unshare --pid --fork        the process group, every process of
                --mount-proc --kill-child``): the model sees   the model's uid (when it has one) and
                only its own processes; when its init dies,    every process whose environment holds
                the kernel kills every process inside; plus    the run's mark (a child that also
                the cgroup's processes and the uid's, killed   clears its environment can survive)
    memory      one memory cgroup (v2 ``memory.max`` or v1     RLIMIT_AS per process (a tree of
                ``memory.limit_in_bytes`` + memsw) for the     processes may use a multiple)
                whole tree; also ``pids.max`` (no fork bomb)
    network     a new network namespace (``unshare --net``):   "network not isolated"
                no interface but a down loopback

The model's process also sets RLIMIT_AS itself (:mod:`vaar.bench.sandbox_model`), under every
mechanism above. ``VAAR_SANDBOX_WEAK=1`` (tests of the fallbacks only) skips the root-only ones.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
UID_BASE = 1_900_000_000  # far above any login or system user; never in /etc/passwd
PIDS_MAX = 512
MARK_VAR = "VAAR_SANDBOX_RUN"  # set in the model's environment; inherited by what it starts
_counter = itertools.count()
# sh joins the cgroups named by its first N arguments, then becomes the rest: no preexec_fn (not
# safe in a threaded scorer), and nothing of the model runs before it is inside them
_JOIN = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 97; shift; n=$((n-1)); done; exec "$@"'


@dataclass(frozen=True)
class Containment:
    """How the model's process was held in (one phrase each; stored in the entry's cost record)."""

    user: str
    processes: str
    memory: str
    network: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _weak() -> bool:
    return os.environ.get("VAAR_SANDBOX_WEAK") == "1"


def _root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and not _weak()


_unshare_ok: bool | None = None


def unshare_allowed() -> bool:
    """``unshare --pid --fork --mount-proc --net`` works here (root, a kernel and container that allow it)."""
    global _unshare_ok
    if _unshare_ok is None:
        exe = shutil.which("unshare")
        ok = False
        if exe and _root():
            try:
                ok = subprocess.run([exe, "--pid", "--fork", "--mount-proc", "--net", "--kill-child", "true"],
                                    capture_output=True, timeout=20).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _unshare_ok = ok
    return _unshare_ok


class _Cgroup:
    """One cgroup per run, v2 or v1 (memory, and pids where mounted); removed by :meth:`remove`."""

    def __init__(self, name: str, memory_bytes: int) -> None:
        self.dirs: list[Path] = []
        self.kind = ""
        self.peak_file: Path | None = None
        v2 = CGROUP_ROOT / "cgroup.controllers"
        if v2.is_file() and "memory" in v2.read_text().split():
            d = CGROUP_ROOT / name
            d.mkdir()
            self.dirs.append(d)
            (d / "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (d / "memory.swap.max").write_text("0")
            with contextlib.suppress(OSError):
                (d / "pids.max").write_text(str(PIDS_MAX))
            self.kind = "cgroup v2 memory.max"
            self.peak_file = d / "memory.peak"
            return
        mem = CGROUP_ROOT / "memory"
        if not (mem / "memory.limit_in_bytes").is_file():
            raise OSError("no memory cgroup controller")
        d = mem / name
        d.mkdir()
        self.dirs.append(d)
        (d / "memory.limit_in_bytes").write_text(str(memory_bytes))
        with contextlib.suppress(OSError):  # swap counts too, where the kernel accounts it
            (d / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        self.kind = "cgroup v1 memory"
        self.peak_file = d / "memory.max_usage_in_bytes"
        pids = CGROUP_ROOT / "pids"
        if (pids / "cgroup.procs").is_file():
            with contextlib.suppress(OSError):
                p = pids / name
                p.mkdir()
                self.dirs.append(p)
                (p / "pids.max").write_text(str(PIDS_MAX))

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                out |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
        return out

    def peak_mb(self) -> float | None:
        try:
            return int((self.peak_file or Path("/nonexistent")).read_text().split()[0]) / (1 << 20)
        except (OSError, ValueError, IndexError):
            return None

    def remove(self) -> None:
        for d in reversed(self.dirs):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _marked_pids(mark: bytes) -> set[int]:
    """Processes whose environment holds ``mark`` (readable for processes of the same user): what the
    model started, a new session or not, unless it also cleared its environment."""
    out: set[int] = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if mark in f.read().split(b"\0"):
                        out.add(int(entry.name))
            except OSError:
                continue
    return out


def _uid_pids(uid: int) -> set[int]:
    """Processes whose real or effective uid is ``uid`` (from /proc)."""
    out: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        ids = line.split()[1:3]
                        if str(uid) in ids:
                            out.add(int(entry.name))
                        break
        except OSError:
            continue
    return out


class Jail:
    """The mechanisms for one model run: :meth:`command` wraps the model's command line,
    :meth:`kill_all` ends every process it started, :meth:`close` removes what was set up."""

    def __init__(self, memory_mb: int, home: Path) -> None:
        self.uid: int | None = None
        self.cgroup: _Cgroup | None = None
        self.namespaces = unshare_allowed()
        root = _root()
        setpriv = shutil.which("setpriv")
        if root and setpriv:
            self.uid = UID_BASE + (os.getpid() * 1000 + next(_counter)) % 100_000_000
            os.chown(home, self.uid, self.uid)
        if root:
            try:
                self.cgroup = _Cgroup(f"vaar-model-{os.getpid()}-{next(_counter)}", memory_mb << 20)
            except OSError:
                self.cgroup = None
        self.home = home
        self.mark = f"{MARK_VAR}={os.getpid()}-{next(_counter)}-{os.urandom(8).hex()}"
        self.containment = Containment(
            user=f"separate user (uid {self.uid})" if self.uid is not None else "same user",
            processes=("pid namespace" if self.namespaces else "process group + environment mark")
            + (" + cgroup" if self.cgroup else "") + (" + uid" if self.uid is not None else ""),
            memory=(f"{self.cgroup.kind} for the process tree" if self.cgroup else "per process (RLIMIT_AS)")
            + f", {memory_mb} MB",
            network="none (network namespace)" if self.namespaces else "network not isolated",
        )

    def command(self, argv: list[str]) -> list[str]:
        cmd = list(argv)
        if self.uid is not None:
            cmd = [str(shutil.which("setpriv")), f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                   "--", *cmd]
        if self.namespaces:
            cmd = [str(shutil.which("unshare")), "--pid", "--fork", "--mount-proc", "--net", "--kill-child", "--", *cmd]
        if self.cgroup is not None:
            files = self.cgroup.procs_files()
            cmd = ["/bin/sh", "-c", _JOIN, "sh", str(len(files)), *files, *cmd]
        return cmd

    def kill_all(self, pgid: int) -> None:
        """SIGKILL the process group and every process in the cgroup or of the model's uid, until none is left."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        for _ in range(100):
            left = set()
            if self.cgroup is not None:
                left |= self.cgroup.pids()
            if self.uid is not None:
                left |= _uid_pids(self.uid)
            if not self.namespaces:  # no namespace init to take the tree down: find what carries the mark
                left |= _marked_pids(self.mark.encode())
            left.discard(os.getpid())
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def peak_memory_mb(self) -> float | None:
        """The whole tree's peak memory as the kernel counted it (None without a cgroup)."""
        return self.cgroup.peak_mb() if self.cgroup is not None else None

    def close(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
