"""Registries by decorator: names are data, an unknown name lists the valid ones.

::

    MODELS = Registry[ModelFactory]("model")

    @MODELS.register("avarnet")
    def _avarnet(...): ...

    MODELS.get("avarnet")        # the factory
    MODELS.get("avarnett")       # ConfigError: unknown model 'avarnett'; valid: audio_only, ...

Names keep their registration order (:meth:`Registry.names`); error messages list them sorted.

Lazy modules: ``Registry("seed", modules=("vaar.curation.discover.vggsounder", ...))`` imports the
named modules (whose decorators fill the table) the first time the table is read, so the table's
owner never imports its entries at import time (``--help`` stays fast; no import cycle). Modules are
full dotted paths, so a rename tool rewrites them like any import. ``optional=True`` skips a module
that is not installed (a hook that a floor above fills, when that floor is present).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from vaar.core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object table filled by the ``register`` decorator."""

    def __init__(self, kind: str, *, modules: Sequence[str] = (), optional: bool = False) -> None:
        self.kind = kind
        self.modules = tuple(modules)
        self.optional = optional
        self._items: dict[str, T] = {}
        self._loaded = not self.modules

    def load(self) -> None:
        """Import the registering modules, once (a module that registers is never imported twice)."""
        if self._loaded:
            return
        self._loaded = True  # first: a module that reads the table while registering sees it
        for module in self.modules:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if not (self.optional and exc.name is not None and module.startswith(exc.name)):
                    raise

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: add the decorated object under ``name`` (twice is a programming error)."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj

    def get(self, name: str) -> T:
        self.load()
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(sorted(self._items))}"
            ) from None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        self.load()
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        self.load()
        return list(self._items.items())

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(self._items)

    def __len__(self) -> int:
        self.load()
        return len(self._items)
