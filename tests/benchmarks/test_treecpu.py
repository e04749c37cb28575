"""benchmarks/treecpu.py counts the CPU of every process of a command's tree, orphans included."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TREECPU = ROOT / "benchmarks" / "treecpu.py"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")

# The grandchild burns BURN s of its own CPU, then writes what it measured; its parent starts it
# and exits at once without waiting for it, so it is orphaned while it runs.
BURN = 0.4
_GRANDCHILD = textwrap.dedent(f"""
    import sys, time
    t = time.process_time()
    while time.process_time() - t < {BURN}:
        pass
    with open(sys.argv[1], "w") as f:
        f.write(str(time.process_time()))
""")
_PARENT = textwrap.dedent("""
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
    # exits without wait(): the grandchild is orphaned
""")


def _orphaning_command(tmp_path: Path, name: str) -> tuple[list[str], Path]:
    done = tmp_path / f"{name}.cpu"
    return [sys.executable, "-c", _PARENT, _GRANDCHILD, str(done)], done


def test_an_orphaned_grandchild_is_waited_for_and_its_cpu_counted(tmp_path: Path) -> None:
    cmd, done = _orphaning_command(tmp_path, "wrapped")
    report = tmp_path / "usage.json"
    subprocess.run([sys.executable, str(TREECPU), "--report", str(report), "--", *cmd], check=True, timeout=120)
    usage = json.loads(report.read_text())
    # the wrapper returned only after the grandchild had finished (it waited for the orphan)
    grandchild_cpu = float(done.read_text())
    assert usage["rc"] == 0
    assert usage["cpu"] >= grandchild_cpu >= BURN
    assert usage["wall_tree"] >= usage["wall"]


def test_without_the_wrapper_the_orphan_is_missed(tmp_path: Path) -> None:
    """The control: plain RUSAGE_CHILDREN of the same command does not see the grandchild."""
    cmd, done = _orphaning_command(tmp_path, "plain")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for _ in range(600):  # let the orphan finish, so it does not load the next test
        if done.exists() and done.read_text():
            break
        time.sleep(0.1)
    assert float(done.read_text()) >= BURN > seen


def test_run_tree_reports_the_exit_status() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from treecpu import run_tree
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    usage = run_tree([sys.executable, "-c", "raise SystemExit(3)"], check=False)
    assert usage.rc == 3
    with pytest.raises(subprocess.CalledProcessError):
        run_tree([sys.executable, "-c", "raise SystemExit(3)"])
