"""A discover recipe: several seeds, their pinned inputs and the balance, in one YAML file.

``vaar discover --recipe curation/sources/seeds/vaar-open-v1.yaml --out ...`` runs every seed of
the recipe, then dedups and balances their candidates together (one video and overlapping span →
one candidate, whichever seed proposed it). Every list a recipe reads carries its ``sha256``, so
the same recipe gives the same bytes or refuses to run::

    per_class: 100          # optional; the cap per class
    hash_seed: 0            # optional
    seeds:
      - from: vggsounder    # package data, pinned by constraints.txt
      - from: audioset-csv
        source: audioset/segments-subset.csv.gz     # relative to this file, or an http(s) URL
        sha256: <64 hex>
        ontology: audioset/ontology.json.gz
        ontology_sha256: <64 hex>

``xd_test_names: {source: ..., sha256: ...}`` names the XD-Violence *test* list: a candidate of
one of its YouTube videos, from any seed, is flagged ``xd_violence_test`` (it overlaps the XD-Violence
track's test set: keep it out of anything that trains or tunes a model scored on that track).

A path is relative to the recipe's folder and must stay inside it (a recipe arrives by pull
request like a source list).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

from vaar.core._util.yamlsafe import YamlRefused, load_yaml
from vaar.core.errors import ConfigError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import Candidate
from vaar.curation.discover.fetch import check_sha256, read_text
from vaar.curation.discover.seeds import SeedOptions, get_seed
from vaar.curation.discover.select import DiscoverResult, select
from vaar.curation.discover.xd_violence_list import release_name
from vaar.curation.xd_overlap import FLAG as XD_FLAG

MAX_RECIPE_BYTES = 64 * 1024
_YT_NAME = re.compile(r"^v=(?P<id>[A-Za-z0-9_-]{11})__#")
_KEYS = {"from", "source", "sha256", "ontology", "ontology_sha256"}


@dataclass(frozen=True)
class Recipe:
    seeds: tuple[tuple[str, SeedOptions], ...]
    per_class: int | None
    hash_seed: int
    xd_test: SeedOptions | None = None  # the XD-Violence test list (source, sha256)


def _resolve(value: object, base: Path, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string (a path relative to the recipe, or a URL)")
    if urlparse(value).scheme in ("http", "https"):
        return value
    path = (base / value).resolve()
    if not path.is_relative_to(base.resolve()):
        raise ConfigError(f"{where} {value!r} leaves the recipe's folder; keep the lists beside the recipe")
    return str(path)


def _seed_entry(item: object, base: Path, at: str, base_options: SeedOptions) -> tuple[str, SeedOptions]:
    if not isinstance(item, dict) or not isinstance(item.get("from"), str):
        raise ConfigError(f"{at}: give `from: SEED` (one of the seeds of vaar discover --from)")
    extra = sorted(set(map(str, item)) - _KEYS)
    if extra:
        raise ConfigError(f"{at}: unknown key(s) {', '.join(extra)}; use {', '.join(sorted(_KEYS))}")
    seed = get_seed(item["from"])
    opts = base_options
    if "source" in item:
        if "sha256" not in item:
            raise ConfigError(f"{at}: `source` needs `sha256` (a recipe pins every list it reads)")
        opts = replace(opts, source=_resolve(item["source"], base, f"{at}.source"),
                       sha256=check_sha256(str(item["sha256"]), f"{at}.sha256"))  # fmt: skip
    if "ontology" in item:
        if "ontology_sha256" not in item:
            raise ConfigError(f"{at}: `ontology` needs `ontology_sha256` (a recipe pins every list it reads)")
        opts = replace(opts, ontology=_resolve(item["ontology"], base, f"{at}.ontology"),
                       ontology_sha256=check_sha256(str(item["ontology_sha256"]), f"{at}.ontology_sha256"))  # fmt: skip
    if seed.needs_source and not opts.source:
        raise ConfigError(f"{at}: seed {seed.name} reads a list: give `source` and `sha256`")
    return seed.name, opts


def load_recipe(path: Path, base_options: SeedOptions) -> Recipe:
    """The recipe at ``path``; ``base_options`` gives the network policy and classes."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the recipe ({exc.strerror})") from None
    try:
        data = load_yaml(raw.decode("utf-8"), max_bytes=MAX_RECIPE_BYTES)
    except (YamlRefused, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: recipe refused ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("seeds"), list) or not data["seeds"]:
        raise ConfigError(f"{path}: a recipe maps `seeds` to a non-empty list of {{from: SEED, ...}}")
    base = path.parent
    seeds = [_seed_entry(item, base, f"{path}: seeds[{i}]", base_options) for i, item in enumerate(data["seeds"], 1)]
    xd_test = None
    if "xd_test_names" in data:
        item = data["xd_test_names"]
        at = f"{path}: xd_test_names"
        if not isinstance(item, dict) or "source" not in item or "sha256" not in item:
            raise ConfigError(f"{at}: give {{source: PATH_OR_URL, sha256: HEX}}")
        xd_test = replace(base_options, source=_resolve(item["source"], base, f"{at}.source"),
                          sha256=check_sha256(str(item["sha256"]), f"{at}.sha256"))  # fmt: skip
    unknown_keys = sorted(set(map(str, data)) - {"seeds", "per_class", "hash_seed", "xd_test_names"})
    if unknown_keys:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown_keys)}; use seeds, per_class, hash_seed, xd_test_names")
    per_class = data.get("per_class")
    hash_seed = data.get("hash_seed", 0)
    if per_class is not None and (not isinstance(per_class, int) or per_class < 1):
        raise ConfigError(f"{path}: per_class must be an integer >= 1, got {per_class!r}")
    if not isinstance(hash_seed, int):
        raise ConfigError(f"{path}: hash_seed must be an integer, got {hash_seed!r}")
    return Recipe(tuple(seeds), per_class, hash_seed, xd_test)


def xd_test_videos(options: SeedOptions) -> frozenset[str]:
    """The YouTube ids of the XD-Violence test names at ``options.source``."""
    assert options.source is not None
    text = read_text(options.source, what="XD-Violence test list", network=options.network, sha256=options.sha256)
    ids = set()
    for line in text.splitlines():
        m = _YT_NAME.match(release_name(line))
        if m:
            ids.add(m["id"])
    return frozenset(ids)


def run_recipe(recipe: Recipe, taxonomy: Taxonomy, classes: tuple[str, ...] = ()) -> tuple[DiscoverResult, Counter[str]]:
    """(the balanced candidates of all seeds, found per seed before dedup)."""
    raw: list[Candidate] = []
    skipped: Counter[str] = Counter()
    per_seed: Counter[str] = Counter()
    for name, opts in recipe.seeds:
        cands, sk = get_seed(name).fn(opts, taxonomy)
        raw.extend(cands)
        per_seed[name] += len(cands)
        skipped.update({f"{name}: {reason}": n for reason, n in sk.items()})
    if recipe.xd_test is not None:
        test_ids = xd_test_videos(recipe.xd_test)
        raw = [replace(c, seed_flags=(*c.seed_flags, XD_FLAG)) if c.video_id in test_ids else c for c in raw]
    return select(raw, skipped, taxonomy, classes, recipe.per_class, recipe.hash_seed), per_seed
