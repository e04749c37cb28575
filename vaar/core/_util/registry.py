"""Registries by decorator: names are data, an unknown name lists the valid ones.

::

    MODELS = Registry[ModelFactory]("model")

    @MODELS.register("avarnet")
    def _avarnet(...): ...

    MODELS.get("avarnet")        # the factory
    MODELS.get("avarnett")       # ConfigError: unknown model 'avarnett'; valid: audio_only, ...

Names keep their registration order (:meth:`Registry.names`); error messages list them sorted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from vaar.core.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object table filled by the ``register`` decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

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
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(sorted(self._items))}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
