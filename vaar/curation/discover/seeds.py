"""The seed registry: ``@register_seed(name)`` on a function that yields candidates.

A seed is ``fn(options, taxonomy) -> (candidates, skipped)``, where ``skipped`` counts the seed's
rows that were read but not proposed, by reason (a report for the curator, never silent).
Seeds are imported lazily, so ``vaar --help`` stays fast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from vaar.core._util.registry import Registry
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import Candidate
from vaar.curation.netguard import NetworkPolicy


@dataclass(frozen=True)
class SeedOptions:
    """What a seed reads: ``source`` (a file or http(s) URL), ``ontology`` (AudioSet JSON),
    ``search_results`` (ytsearch hits per phrase), ``classes`` (the classes asked for),
    ``network`` (which addresses a list URL, and its redirects, may resolve to) and ``sha256`` /
    ``ontology_sha256`` (the pinned hashes of the list and the ontology; refused on mismatch)."""

    source: str | None = None
    ontology: str | None = None
    search_results: int = 20
    classes: tuple[str, ...] = ()
    network: NetworkPolicy = NetworkPolicy()
    sha256: str | None = None
    ontology_sha256: str | None = None


SeedResult = tuple[list[Candidate], Counter[str]]
SeedFn = Callable[[SeedOptions, Taxonomy], SeedResult]


@dataclass(frozen=True)
class Seed:
    name: str
    fn: SeedFn
    needs_source: bool
    help: str


SEEDS = Registry[Seed]("seed", modules=(
    "vaar.curation.discover.vggsounder", "vaar.curation.discover.vggsound_csv", "vaar.curation.discover.audioset_csv",
    "vaar.curation.discover.xd_violence_list", "vaar.curation.discover.kinetics_csv", "vaar.curation.discover.ytsearch"))


def register_seed(name: str, *, needs_source: bool, help: str) -> Callable[[SeedFn], SeedFn]:
    def deco(fn: SeedFn) -> SeedFn:
        SEEDS.add(name, Seed(name, fn, needs_source, help))
        return fn

    return deco


def seed_names() -> list[str]:
    return sorted(SEEDS.names())


def get_seed(name: str) -> Seed:
    """The seed called ``name``; an unknown name is one line listing the valid ones."""
    return SEEDS.get(name)
