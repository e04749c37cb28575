"""The VAAR class taxonomy, loaded from ``curation/taxonomy.yaml`` (shipped as package data).

The repository holds the file once, in ``curation/``; building the wheel copies it to
``vaar/taxonomy.yaml`` (setup.py). An installed vaar reads that copy; a source checkout (or an
editable install, which has no copy) reads ``curation/taxonomy.yaml`` beside the package.

The binary view (normal vs anomaly) is derived here, never stored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from vaar.errors import ConfigError


@dataclass(frozen=True)
class AnomalyClass:
    slug: str
    name: str
    definition: str
    search_phrases: tuple[str, ...]


@dataclass(frozen=True)
class Taxonomy:
    version: int
    classes: tuple[AnomalyClass, ...]
    normal_class: str

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(c.slug for c in self.classes)

    def index(self, slug: str) -> int:
        """Class index of ``slug`` (the ``ClassLabel`` id in the published dataset)."""
        return self.slugs.index(slug)

    def is_anomaly(self, slug: str) -> bool:
        """Binary view: every class except the normal one is an anomaly."""
        return slug != self.normal_class

    def __contains__(self, slug: object) -> bool:
        return slug in self.slugs


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy file; ``None`` loads the packaged VAAR taxonomy."""
    if path is None:
        return default_taxonomy()
    return _parse(Path(path).read_text(encoding="utf-8"), str(path))


@functools.lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return _parse(packaged_taxonomy_bytes().decode("utf-8"), "curation/taxonomy.yaml")


def packaged_taxonomy_bytes() -> bytes:
    """The bytes of the packaged taxonomy (the wheel's copy, else the checkout's one file)."""
    shipped = resources.files("vaar").joinpath("taxonomy.yaml")
    if shipped.is_file():
        return shipped.read_bytes()
    source = Path(__file__).resolve().parent.parent / "curation" / "taxonomy.yaml"
    try:
        return source.read_bytes()
    except OSError:
        raise ConfigError("the packaged taxonomy is missing: reinstall vaar "
                          "(pip install vaar, or `make install` in a checkout)") from None


def _parse(text: str, where: str) -> Taxonomy:
    data = yaml.safe_load(text)
    try:
        classes = tuple(
            AnomalyClass(
                slug=str(c["slug"]),
                name=str(c["name"]),
                definition=str(c["definition"]),
                search_phrases=tuple(str(p) for p in c.get("search_phrases", ())),
            )
            for c in data["classes"]
        )
        tax = Taxonomy(version=int(data["version"]), classes=classes, normal_class=str(data["normal_class"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed taxonomy ({exc}); see curation/taxonomy.yaml") from None
    if len(set(tax.slugs)) != len(tax.slugs):
        raise ConfigError(f"{where}: duplicate class slugs")
    if tax.normal_class not in tax.slugs:
        raise ConfigError(f"{where}: normal_class {tax.normal_class!r} is not one of the classes")
    return tax
