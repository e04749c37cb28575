"""The layers hold: import-linter's contracts (``.importlinter``) pass, the one registry type loads
its modules lazily, and the floors talk upward only through bench's hooks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vaar.core._util.registry import Registry
from vaar.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    """The same check as ``make lint``: a broken layer fails the test run too."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_task_table_in_core_is_the_scorers_table() -> None:
    from vaar.bench.tasks import get_task, task_names
    from vaar.core.contracts.task_meta import TASKS

    assert task_names() == tuple(TASKS)
    for name, meta in TASKS.items():
        task = get_task(name)
        assert (task.title, task.main_score, task.score_labels) == (meta.title, meta.main_score, dict(meta.score_labels))


def test_a_task_without_a_row_in_core_is_refused() -> None:
    from vaar.bench.tasks import Task

    with pytest.raises(TypeError, match="no row in vaar.core.contracts.task_meta.TASKS"):
        type("Rogue", (Task,), {"name": "rogue-task"})


def test_registry_loads_its_modules_on_first_read() -> None:
    reg: Registry[int] = Registry("widget", modules=("vaar.core._util.no_such_module_here",), optional=True)
    assert "x" not in reg and reg.names() == []  # an optional tenant that is not installed: empty
    reg.add("b", 2)
    reg.add("a", 1)
    assert reg.names() == ["b", "a"] and reg["a"] == 1
    with pytest.raises(ConfigError, match=r"unknown widget 'c'; valid: a, b"):
        reg.get("c")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", 3)


def test_registry_refuses_a_missing_required_module() -> None:
    reg: Registry[int] = Registry("widget", modules=("vaar.core._util.no_such_module_here",))
    with pytest.raises(ModuleNotFoundError):
        reg.names()


def test_optional_registry_still_raises_a_broken_tenants_own_import_error() -> None:
    """Only the tenant itself being absent is skipped; a tenant that imports something missing is a bug."""
    reg: Registry[int] = Registry("widget", modules=("vaar.core",), optional=True)
    assert reg.names() == []  # present, registers nothing
    reg2: Registry[int] = Registry("widget", modules=("vaar.no_such_pkg.mod",), optional=True)
    assert reg2.names() == []


def test_seeds_tasks_and_corruptions_come_from_their_modules() -> None:
    from vaar.bench.tasks import TASKS
    from vaar.curation.discover.seeds import SEEDS, seed_names
    from vaar.robustness.corruptions import corruption_names

    assert set(seed_names()) == {"audioset-csv", "kinetics-csv", "vggsound-csv", "vggsounder", "xd-violence-list", "ytsearch"} and SEEDS.modules[0].startswith("vaar.curation.discover.")
    assert {"vaar-cls", "vaar-binary", "xd-violence"} <= set(TASKS)
    assert {"fog", "noise_white", "audio_missing"} <= set(corruption_names())


def test_renderer_has_no_robustness_column_without_its_tenant() -> None:
    from vaar.bench import hooks

    section = hooks.LazySection("no-such-section")
    entry = {"task": "vaar-cls", "robustness": {"mcf1": 0.5}}
    assert not section.has_column("vaar-cls", [entry])
    assert section.md_section([entry], str) == [] and section.html_section([entry]) == ""
    assert hooks.LazySection("robustness").has_column  # the installed tenant answers (vaar.robustness.board)
    assert "robustness" in hooks.BOARD_SECTIONS and "robustness" in hooks.SUBMIT_TRACKS


def test_bench_scoring_imports_no_torch_and_no_floor_above() -> None:
    code = ("import sys, vaar.bench.cmd_score, vaar.bench.render, vaar.bench.tasks, vaar.core.contracts.entry;"
            "vaar.bench.tasks.task_names();"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'timm', 'transformers')"
            " or m.startswith(('vaar.baselines', 'vaar.robustness'))]; print(bad); sys.exit(bool(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_cli_module_is_in_the_independence_contract() -> None:
    """A new ``cmd_*`` module must join the 'no CLI module imports another' contract (.importlinter)."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".importlinter")
    listed = set(cfg["importlinter:contract:cli-leaves"]["modules"].split())
    on_disk = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "vaar").rglob("cmd_*.py")}
    assert on_disk == listed, f"add to .importlinter [cli-leaves]: {sorted(on_disk - listed)}; remove: {sorted(listed - on_disk)}"
