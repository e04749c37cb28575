"""The old import paths ``vaar.schema`` and ``vaar.contracts`` still work for one release: the
same module objects as their new homes in ``vaar.core.contracts``, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

import vaar.core.contracts
import vaar.core.contracts.entry
import vaar.core.contracts.manifest_schema
from vaar import _moved


@pytest.fixture()
def fresh_aliases() -> Iterator[None]:
    """Forget any earlier alias import so the finder runs (and warns) again."""
    def drop() -> None:
        for name in [n for n in sys.modules if _moved.new_path(n)]:
            del sys.modules[name]
    drop()
    yield
    drop()


@pytest.mark.parametrize(("old", "new"), [
    ("vaar.schema", vaar.core.contracts.manifest_schema),
    ("vaar.contracts", vaar.core.contracts),
    ("vaar.contracts.entry", vaar.core.contracts.entry),
])
def test_old_path_is_the_new_module_with_a_warning(fresh_aliases: None, old: str, new: object) -> None:
    with pytest.warns(DeprecationWarning) as record:
        mod = importlib.import_module(old)
    assert mod is new
    assert f"{old} moved to {new.__name__}" in {str(w.message).split(";")[0] for w in record}  # type: ignore[attr-defined]


def test_from_import_of_an_old_path(fresh_aliases: None) -> None:
    with pytest.warns(DeprecationWarning):
        from vaar.schema import validate_manifest  # type: ignore[import-not-found]
    assert validate_manifest is vaar.core.contracts.manifest_schema.validate_manifest


def test_unmoved_and_unknown_names_are_not_aliased(fresh_aliases: None) -> None:
    assert _moved.new_path("vaar.schemas") is None
    assert _moved.new_path("vaar.contracts_extra") is None
    assert _moved.new_path("vaar.core.contracts") is None
    with pytest.warns(DeprecationWarning), pytest.raises(ModuleNotFoundError):  # (the warning: vaar.contracts)
        importlib.import_module("vaar.contracts.no_such_module")


def test_warning_points_at_the_users_line(tmp_path: object) -> None:
    """A user's script sees the warning on its own import line, by default (no -W flag)."""
    proc = subprocess.run([sys.executable, "-c", "import vaar.schema"], capture_output=True, text=True,
                          check=True)
    assert "<string>:1: DeprecationWarning: vaar.schema moved to vaar.core.contracts.manifest_schema" in proc.stderr
