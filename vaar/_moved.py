"""Import paths that moved in the layering reshape (issue 20), kept importable for one release.

``vaar.schema`` is now :mod:`vaar.core.contracts.manifest_schema` and ``vaar.contracts`` (with its
submodules) is :mod:`vaar.core.contracts`. A user script that imports an old path gets the very
same module object plus a :class:`DeprecationWarning` naming the new path. The aliases are a
meta-path finder rather than stub files, so no module lives twice and nothing else is imported
until an old path is asked for. They go away in the release after 0.2.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

#: old dotted path -> new dotted path (a package maps its submodules too)
MOVED: dict[str, str] = {
    "vaar.schema": "vaar.core.contracts.manifest_schema",
    "vaar.contracts": "vaar.core.contracts",
}
REMOVED_IN = "0.3"


def new_path(name: str) -> str | None:
    """The new dotted path of the old module ``name``, or None if ``name`` did not move."""
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


def _caller_stacklevel() -> int:
    """The stacklevel of the first frame outside the import machinery and this module.

    ``warnings.warn`` does not count importlib's bootstrap frames, so neither does this.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None:
        f = frame.f_code.co_filename
        internal = "importlib" in f and "_bootstrap" in f
        if not internal and f != __file__ and not f.replace("\\", "/").endswith("importlib/__init__.py"):
            return level
        if not internal:
            level += 1
        frame = frame.f_back  # type: ignore[assignment]
    return level


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)  # the real module: its own name, file and spec

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the real module was executed under its new name."""


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        new = new_path(fullname)
        if new is None:
            return None
        real = importlib.util.find_spec(new)
        if real is None:
            return None  # no such module under the new name either: the usual ModuleNotFoundError
        warnings.warn(f"{fullname} moved to {new}; the old path is removed in vaar {REMOVED_IN}",
                      DeprecationWarning, stacklevel=_caller_stacklevel())
        is_pkg = real.submodule_search_locations is not None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new), is_package=is_pkg)


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (``import vaar`` does this)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())  # before any path finder: an old name is always the alias
