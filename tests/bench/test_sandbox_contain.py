"""Issue 19 findings 2 and 3: the escapes a submitted ``--model`` tried, each reproduced and shown to fail.

Every model here is a real module; the scorer is ``vaar-bench submit`` in its own process (so its
command line names ``--labels`` and its environment holds ``VAAR_HOST_SECRET``, as on a host). The
containment these tests need is the one CI has (root on a Linux machine: a separate user, PID and
network namespaces, a memory cgroup); where a mechanism is missing the entry says so and the test
that needs it is skipped with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.benchdata import SLUGS, write_labels
from tests.bench.test_sandbox import media_dataset
from vaar.bench.contain import Jail, unshare_allowed

WORKTREE = str(Path(__file__).resolve().parents[2])


def _mechanisms() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as d:
        jail = Jail(64, Path(d))
        try:
            return jail.containment.as_dict()
        finally:
            jail.close()


MECH = _mechanisms()
needs_user = pytest.mark.skipif(MECH["user"] == "same user", reason="needs root: the model's own user")
needs_ns = pytest.mark.skipif(not unshare_allowed(), reason="unshare is not allowed here: network not isolated")
needs_cgroup = pytest.mark.skipif("cgroup" not in MECH["memory"], reason="no writable memory cgroup here")


@pytest.fixture
def code() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vaar-model-code-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _write(code: Path, name: str, source: str) -> None:
    (code / f"{name}.py").write_text(textwrap.dedent(source).replace("SLUGS_HERE", repr(list(SLUGS))))


def _submit(tmp_path: Path, code: Path, spec: str, *extra: str, private: bool = True,
            env: dict[str, str] | None = None, timeout: float = 240) -> tuple[subprocess.CompletedProcess[str], dict]:
    root, ids, y = media_dataset(tmp_path, n=12, labelled=not private, encode_label=False)
    args = ["submit", "--model", spec, "--name", "m", "--dataset", str(root), "--leaderboard", str(tmp_path / "board"),
            "--bootstrap", "20", *extra]
    if private:
        (tmp_path / "host").mkdir()
        args += ["--labels", str(write_labels(tmp_path / "host" / "private.csv", ids, y))]
    full_env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{WORKTREE}", "VAAR_HOST_SECRET": "s3cret-host-token",
                **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "vaar.bench.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)
    entry_path = tmp_path / "board" / "entries" / "vaar-cls" / "m.json"
    return proc, (json.loads(entry_path.read_text()) if entry_path.is_file() else {})


# --------------------------------------------------------------------- finding 2: reading the host


PROC_THIEF = '''
import os
SLUGS = SLUGS_HERE

def _scan():
    found = {"labels": None, "secret": False, "cwd": None}
    for pid in [os.getppid()] + [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
        except OSError:
            continue
        if b"--labels" in argv:
            found["labels"] = argv[argv.index(b"--labels") + 1].decode()
            try:
                found["cwd"] = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                pass
        try:
            if b"s3cret-host-token" in open(f"/proc/{pid}/environ", "rb").read():
                found["secret"] = True
        except OSError:
            pass
    guess = os.environ.get("VAAR_MODEL_GUESS")  # an attacker who guessed the path anyway
    return found, found["labels"] or guess

class Model:
    def __init__(self):
        found, path = _scan()
        if found["secret"]:
            raise RuntimeError("read the host secret from /proc")
        self.truth = {}
        try:
            for line in open(path).read().splitlines()[1:]:
                cid, label = line.split(",")[:2]
                self.truth[cid] = SLUGS.index(label)
        except (OSError, TypeError, ValueError):
            pass
    def predict(self, batch):
        return [[1.0 if self.truth.get(c.clip_id, 0) == k else 0.0 for k in range(len(SLUGS))] for c in batch]

def factory():
    return Model()
'''


@needs_user
@needs_ns
def test_finding2_model_cannot_read_scorer_proc_secret_or_labels(tmp_path: Path, code: Path) -> None:
    _write(code, "proc_thief", PROC_THIEF)
    guess = str(tmp_path / "host" / "private.csv")
    proc, entry = _submit(tmp_path, code, "proc_thief:factory", env={"VAAR_MODEL_GUESS": guess})
    assert proc.returncode == 0, proc.stderr
    assert "host secret" not in proc.stderr
    assert entry["scores"]["accuracy"] < 0.5, "the model read the private labels"
    assert entry["cost"]["measurement"]["sandbox"]["user"].startswith("separate user")


# --------------------------------------------------------------------- finding 2: faked cost

LAZY = '''
import time
import torch
SLUGS = SLUGS_HERE

class Model:
    batch_size = 4
    def __init__(self):
        self.stub = torch.nn.Linear(1, 1)              # 2 parameters when counted after factory()
        self.real = None
    def predict(self, batch):
        if self.real is None:                          # the real network, built late: 16,781,312
            self.real = {"w": torch.zeros(4096, 4096), "b": torch.zeros(4096, 1)}
        if len(batch) > 1:
            time.sleep(0.1 * len(batch))               # the real work, only for scored batches
        return torch.zeros(len(batch), len(SLUGS))

def factory():
    return Model()
'''


def test_finding2_latency_and_parameters_cannot_be_faked(tmp_path: Path, code: Path) -> None:
    pytest.importorskip("torch")
    _write(code, "lazy", LAZY)
    proc, entry = _submit(tmp_path, code, "lazy:factory", "--latency-clips", "2", private=False)
    assert proc.returncode == 0, proc.stderr
    cost = entry["cost"]
    assert cost["parameters"] >= 4096 * 4096 + 4096, cost  # counted after every predict(), the maximum
    # 10 of the 12 scored clips came in batches at >= 100 ms each: the per-clip time of the scored requests
    assert cost["latency_ms_per_clip"] >= 10 * 100 / 12, cost
    assert cost["latency_clips"] == 12 and cost["measurement"]["single_clip_requests"] == 2


# --------------------------------------------------------------------- finding 3: containment

ESCAPER = '''
import os, subprocess, sys
SLUGS = SLUGS_HERE

class Model:
    def __init__(self):
        token = os.environ["VAAR_MODEL_TOKEN"]
        # a grandchild in its own session, outliving everything: the old process-group kill missed it
        subprocess.Popen(["/bin/sh", "-c", "sleep 120; echo " + token],
                         start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    def predict(self, batch):
        return [[1.0] + [0.0] * (len(SLUGS) - 1) for _ in batch]

def factory():
    return Model()
'''


def _alive(token: str) -> list[int]:
    out = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(int(pid))
        except OSError:
            continue
    return out


def test_finding3_no_process_of_the_model_outlives_the_run(tmp_path: Path, code: Path) -> None:
    _write(code, "escaper", ESCAPER)
    token = f"vaar-escape-{os.getpid()}-{time.time_ns()}"
    proc, entry = _submit(tmp_path, code, "escaper:factory", env={"VAAR_MODEL_TOKEN": token})
    try:
        assert proc.returncode == 0, proc.stderr
        assert _alive(token) == [], "a process started by the model outlived the run"
    finally:
        for pid in _alive(token):
            os.kill(pid, 9)


TREE_HOG = '''
import os, subprocess, sys, time
SLUGS = SLUGS_HERE
CHILD = "import sys; b = b'x' * (250 << 20); sys.stdout.write('held\\\\n'); sys.stdout.flush(); sys.stdin.read()"

class Model:
    def predict(self, batch):
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        kids = [subprocess.Popen([python, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                for _ in range(3)]
        held = sum(1 for k in kids if k.stdout.readline() == b"held\\n")
        time.sleep(0.5)
        together = sum(1 for k in kids if k.poll() is None)             # all three hold 250 MB at once?
        for k in kids:
            k.kill()
            k.wait()
        if held == 3 and together == 3:
            raise RuntimeError("escaped: the tree held 750 MB under a 512 MB limit")
        return [[1.0] + [0.0] * (len(SLUGS) - 1) for _ in batch]

def factory():
    return Model()
'''


@needs_cgroup
def test_finding3_memory_is_limited_for_the_whole_tree(tmp_path: Path, code: Path) -> None:
    _write(code, "tree_hog", TREE_HOG)
    proc, entry = _submit(tmp_path, code, "tree_hog:factory", "--model-memory-mb", "512", "--batch-size", "12")
    assert "escaped" not in proc.stderr, proc.stderr
    if proc.returncode == 0:
        assert entry["cost"]["measurement"]["peak_memory_mb"] <= 512 + 1
    else:  # the kernel killed the model's process itself: a clear line naming the limit
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and "512 MB" in lines[-1], proc.stderr


NETWORK = '''
import os, socket
SLUGS = SLUGS_HERE

class Model:
    def predict(self, batch):
        try:
            s = socket.create_connection(("127.0.0.1", int(os.environ["VAAR_MODEL_PORT"])), timeout=3)
            s.sendall(b"stolen: " + ",".join(c.clip_id for c in batch).encode())
            s.close()
        except OSError:
            pass
        return [[1.0] + [0.0] * (len(SLUGS) - 1) for _ in batch]

def factory():
    return Model()
'''


@needs_ns
def test_finding3_model_has_no_network(tmp_path: Path, code: Path) -> None:
    _write(code, "netmodel", NETWORK)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    got: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            got.append(conn.recv(4096))
            conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        proc, entry = _submit(tmp_path, code, "netmodel:factory",
                              env={"VAAR_MODEL_PORT": str(listener.getsockname()[1])})
    finally:
        stop.set()
        t.join(5)
        listener.close()
    assert proc.returncode == 0, proc.stderr
    assert got == [], f"the model sent {got!r}"
    assert entry["cost"]["measurement"]["sandbox"]["network"] == "none (network namespace)"


def test_weak_machine_records_each_missing_mechanism(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where root, unshare or cgroups are missing, the record says what was not isolated."""
    import vaar.bench.contain as contain

    monkeypatch.setenv("VAAR_SANDBOX_WEAK", "1")
    monkeypatch.setattr(contain, "_unshare_ok", None)
    jail = Jail(256, tmp_path)
    try:
        c = jail.containment
        assert c.user == "same user" and c.network == "network not isolated"
        assert c.memory.startswith("per process") and c.processes == "process group + environment mark"
    finally:
        jail.close()
        monkeypatch.setattr(contain, "_unshare_ok", None)


def test_without_root_a_new_session_child_is_still_killed(tmp_path: Path, code: Path) -> None:
    """The fallback (no own user, no namespaces, no cgroup): the run's environment mark finds the
    grandchild that left the process group."""
    _write(code, "escaper", ESCAPER)
    token = f"vaar-escape-weak-{os.getpid()}-{time.time_ns()}"
    proc, entry = _submit(tmp_path, code, "escaper:factory", env={"VAAR_MODEL_TOKEN": token, "VAAR_SANDBOX_WEAK": "1"})
    try:
        assert proc.returncode == 0, proc.stderr
        box = entry["cost"]["measurement"]["sandbox"]
        assert box["processes"] == "process group + environment mark" and box["network"] == "network not isolated"
        assert _alive(token) == [], "a process started by the model outlived the run"
    finally:
        for pid in _alive(token):
            os.kill(pid, 9)
