"""Dedup and per-class balance of candidates: pure functions, independent of input order.

* **dedup**: candidates of one video whose spans overlap (a spanless one overlaps everything of
  its video) become one. Its label is the anomaly class before ``normal``, then the first class in
  taxonomy order; the other classes go into ``seed_flags`` as ``also:<class>`` for the reviewer.
* **balance**: per class, the candidates with the fewest flags first, ties broken by
  ``sha256(hash_seed:clip_id)``; the first ``per_class`` are kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from vaar.curation.discover.candidate import Candidate
from vaar.curation.discover.registry import SeedOptions, get_seed
from vaar.errors import ConfigError
from vaar.taxonomy import Taxonomy


@dataclass
class DiscoverResult:
    candidates: list[Candidate]
    found: Counter[str]  # per class, after dedup, before balance
    skipped: Counter[str]  # seed rows not proposed, by reason


def discover(
    seed: str,
    options: SeedOptions,
    taxonomy: Taxonomy,
    *,
    per_class: int | None = None,
    hash_seed: int = 0,
) -> DiscoverResult:
    """Run one seed, then dedup and balance; ``options.classes`` restricts the classes."""
    s = get_seed(seed)
    if s.needs_source and not options.source:
        raise ConfigError(f"seed {seed!r} reads a file or URL: vaar discover --from {seed} PATH_OR_URL")
    unknown = [c for c in options.classes if c not in taxonomy]
    if unknown:
        raise ConfigError(f"unknown class(es) {', '.join(unknown)}; use one of {', '.join(taxonomy.slugs)}")
    if per_class is not None and per_class < 1:
        raise ConfigError(f"--per-class must be >= 1, got {per_class}")
    raw, skipped = s.fn(options, taxonomy)
    if options.classes:
        raw = [c for c in raw if c.label in options.classes]
    merged = [_flag_xd_test(c) for c in dedup(raw, taxonomy)]
    found = Counter(c.label for c in merged)
    kept = balance(merged, per_class, hash_seed)
    return DiscoverResult(kept, found, skipped)


def _flag_xd_test(c: Candidate) -> Candidate:
    """Flag a candidate cut from an XD-Violence test video (:mod:`vaar.curation.xd_overlap`)."""
    from vaar.curation.xd_overlap import FLAG, xd_test_ids

    if c.video_id not in xd_test_ids() or FLAG in c.seed_flags:
        return c
    return replace(c, seed_flags=tuple(sorted({*c.seed_flags, FLAG})))


def _overlap(a: Candidate, b: Candidate) -> bool:
    """Spans overlap; a spanless candidate covers its whole video, except that two spanless ones
    with different ``span_tag`` (e.g. two XD-Violence segments) are kept apart."""
    if a.start is None and b.start is None:
        return a.span_tag == b.span_tag
    if a.start is None or b.start is None or a.end is None or b.end is None:
        return True
    return a.start < b.end and b.start < a.end


def dedup(cands: Iterable[Candidate], taxonomy: Taxonomy) -> list[Candidate]:
    by_video: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_video[c.video_id].append(c)
    out: list[Candidate] = []
    for vid in sorted(by_video):
        group = sorted(by_video[vid], key=lambda c: (c.start is not None, c.start or 0.0, c.span_tag, c.label, c.seed_labels))
        clusters: list[list[Candidate]] = []
        for c in group:
            for cl in clusters:
                if any(_overlap(c, o) for o in cl):
                    cl.append(c)
                    break
            else:
                clusters.append([c])
        out.extend(_merge(cl, taxonomy) for cl in clusters)
    return out


def _merge(cluster: Sequence[Candidate], taxonomy: Taxonomy) -> Candidate:
    if len(cluster) == 1:
        return cluster[0]
    labels = sorted({c.label for c in cluster}, key=lambda s: (not taxonomy.is_anomaly(s), taxonomy.index(s)))
    first = min(cluster, key=lambda c: (c.label != labels[0], c.start is not None, c.start or 0.0))
    seed_labels = tuple(sorted({x for c in cluster for x in c.seed_labels}))
    flags = {f for c in cluster for f in c.seed_flags} | {f"also:{s}" for s in labels[1:]}
    return replace(first, label=labels[0], seed_labels=seed_labels, seed_flags=tuple(sorted(flags)))


def _rank(c: Candidate, hash_seed: int) -> tuple[int, str]:
    return len(c.seed_flags), hashlib.sha256(f"{hash_seed}:{c.clip_id}".encode()).hexdigest()


def balance(cands: Sequence[Candidate], per_class: int | None, hash_seed: int = 0) -> list[Candidate]:
    by_class: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_class[c.label].append(c)
    out: list[Candidate] = []
    for label in sorted(by_class):
        ranked = sorted(by_class[label], key=lambda c: _rank(c, hash_seed))
        out.extend(ranked if per_class is None else ranked[:per_class])
    return sorted(out, key=lambda c: (c.label, c.clip_id))
