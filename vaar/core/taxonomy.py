"""The VAAR class taxonomy, loaded from ``curation/taxonomy.yaml`` (shipped as package data).

The repository holds the file once, in ``curation/``; building the wheel copies it to
``vaar/taxonomy.yaml`` (setup.py). An installed vaar reads that copy; a source checkout (or an
editable install, which has no copy) reads ``curation/taxonomy.yaml`` beside the package.

The binary view (normal vs anomaly) is derived here, never stored. The file's ``seeds`` section
maps labels of public lists (a *vocabulary*: ``vggsound``, ``audioset``, ``xd-violence``) to the
classes, for ``vaar discover``; it is validated on load (known classes, each seed label once).
A class's seed labels are a list, or ``{labels: [...], stand_in: [...]}``: a *stand-in* label is
public metadata that only stands in for the class (``Slap, smack`` for abuse, ``Car alarm`` for
intruder) — its candidates carry the flag ``stand_in`` and review must accept or reject each one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vaar.core._util.yamlsafe import YamlRefused, load_yaml
from vaar.core.errors import ConfigError

MAX_TAXONOMY_BYTES = 256 * 1024  # the packaged one is ~10 KB


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
    # vocabulary -> ((class slug, (seed label, ...), (stand-in label, ...)), ...), in file order
    seeds: tuple[tuple[str, tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]], ...] = ()

    def seed_map(self, vocabulary: str) -> dict[str, str]:
        """``{seed label: class slug}`` of one vocabulary, stand-ins included (empty when none)."""
        for name, per_class in self.seeds:
            if name == vocabulary:
                return {label: slug for slug, labels, stand in per_class for label in (*labels, *stand)}
        return {}

    def stand_ins(self, vocabulary: str) -> frozenset[str]:
        """The seed labels of ``vocabulary`` that only stand in for their class."""
        for name, per_class in self.seeds:
            if name == vocabulary:
                return frozenset(label for _, _, stand in per_class for label in stand)
        return frozenset()

    def classes_of(self, vocabulary: str, labels: Iterable[str]) -> list[tuple[str, tuple[str, ...], bool]]:
        """The classes one seed row's ``labels`` map to: ``[(slug, (its labels, ...), stand_in)]``
        in taxonomy order. ``stand_in`` is true when every label of that class is a stand-in. A
        normal-class label counts only when no anomaly class is present (``Crowd`` beside
        ``Battle cry`` says nothing about normality)."""
        mapping, stand = self.seed_map(vocabulary), self.stand_ins(vocabulary)
        hits: dict[str, list[str]] = {}
        for label in labels:
            if label in mapping:
                hits.setdefault(mapping[label], []).append(label)
        if any(self.is_anomaly(s) for s in hits):
            hits.pop(self.normal_class, None)
        return [(s, tuple(sorted(set(hits[s]))), all(x in stand for x in hits[s])) for s in self.slugs if s in hits]

    def vocabularies(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.seeds)

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
    from vaar.core._util.capped import CappedReadError, read_text_capped

    try:
        text = read_text_capped(Path(path), MAX_TAXONOMY_BYTES)
    except CappedReadError as exc:
        why = {"unreadable": f"cannot read it ({exc.detail})", "not_utf8": "not UTF-8",
               "too_large": f"larger than {MAX_TAXONOMY_BYTES // 1024} KB"}[exc.kind]  # fmt: skip
        raise ConfigError(f"{path}: taxonomy {why}; see curation/taxonomy.yaml") from None
    return _parse(text, str(path))


@functools.lru_cache(maxsize=1)
def default_taxonomy() -> Taxonomy:
    return _parse(packaged_taxonomy_bytes().decode("utf-8"), "curation/taxonomy.yaml")


def packaged_taxonomy_bytes() -> bytes:
    """The bytes of the packaged taxonomy (the wheel's copy, else the checkout's one file)."""
    shipped = resources.files("vaar").joinpath("taxonomy.yaml")
    if shipped.is_file():
        return shipped.read_bytes()
    source = Path(__file__).resolve().parents[2] / "curation" / "taxonomy.yaml"
    try:
        return source.read_bytes()
    except OSError:
        raise ConfigError("the packaged taxonomy is missing: reinstall vaar "
                          "(pip install vaar, or `make install` in a checkout)") from None


def _parse(text: str, where: str) -> Taxonomy:
    try:
        data = load_yaml(text, max_bytes=MAX_TAXONOMY_BYTES)
    except YamlRefused as exc:
        raise ConfigError(f"{where}: taxonomy refused ({exc}); see curation/taxonomy.yaml") from None
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
        tax = Taxonomy(
            version=int(data["version"]),
            classes=classes,
            normal_class=str(data["normal_class"]),
            seeds=_parse_seeds(data.get("seeds") or {}, {c.slug for c in classes}, where),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{where}: malformed taxonomy ({exc}); see curation/taxonomy.yaml") from None
    if len(set(tax.slugs)) != len(tax.slugs):
        raise ConfigError(f"{where}: duplicate class slugs")
    if tax.normal_class not in tax.slugs:
        raise ConfigError(f"{where}: normal_class {tax.normal_class!r} is not one of the classes")
    return tax


def _labels(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise ConfigError(f"{where} must be a list of non-empty strings "
                          "(or {labels: [...], stand_in: [...]} for a class)")  # fmt: skip
    return tuple(value)


def _parse_seeds(
    data: object, slugs: set[str], where: str
) -> tuple[tuple[str, tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]], ...]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: `seeds` must map a vocabulary to {{class: [seed labels]}}")
    out = []
    for vocab, per_class in data.items():
        if not isinstance(per_class, dict):
            raise ConfigError(f"{where}: seeds.{vocab} must map class slugs to lists of seed labels")
        seen: dict[str, str] = {}
        entries = []
        for slug, value in per_class.items():
            if slug not in slugs:
                raise ConfigError(
                    f"{where}: seeds.{vocab}: unknown class {slug!r}; use one of {', '.join(sorted(slugs))}"
                )
            at = f"{where}: seeds.{vocab}.{slug}"
            if isinstance(value, dict):
                extra = sorted(set(value) - {"labels", "stand_in"})
                if extra:
                    raise ConfigError(f"{at}: unknown key(s) {', '.join(map(str, extra))}; use labels, stand_in")
                labels = _labels(value.get("labels", []), f"{at}.labels")
                stand = _labels(value.get("stand_in", []), f"{at}.stand_in")
            else:
                labels, stand = _labels(value, at), ()
            for label in (*labels, *stand):
                if label in seen:
                    raise ConfigError(
                        f"{where}: seeds.{vocab}: seed label {label!r} is listed under both "
                        f"{seen[label]} and {slug}; keep it under one class"
                    )
                seen[label] = str(slug)
            entries.append((str(slug), labels, stand))
        out.append((str(vocab), tuple(entries)))
    return tuple(out)
