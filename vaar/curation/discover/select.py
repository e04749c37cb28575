"""Dedup and per-class balance of candidates: pure functions, independent of input order.

* **dedup**: candidates of one video whose spans overlap (a spanless one overlaps everything of
  its video) become one. Its label is an anomaly class before ``normal``, a class named by its own
  seed label before a stand-in, then the first in taxonomy order; the other classes go into ``seed_flags`` as ``also:<class>`` for the reviewer
  (except ``normal`` beside an anomaly: a normal label says only that no anomaly was tagged). It
  is ``stand_in`` only when every candidate of its label was, ``av_unchecked`` only when no seed
  checked that the event is heard and seen; annotation sources are joined.
* **balance**: per class, the candidates with the fewest flags first, ties broken by
  ``sha256(hash_seed:clip_id)``; the first ``per_class`` are kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from vaar.core.errors import ConfigError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import Candidate
from vaar.curation.discover.seeds import SeedOptions, get_seed


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
    return select(raw, skipped, taxonomy, options.classes, per_class, hash_seed)


def select(
    raw: list[Candidate],
    skipped: Counter[str],
    taxonomy: Taxonomy,
    classes: Sequence[str] = (),
    per_class: int | None = None,
    hash_seed: int = 0,
) -> DiscoverResult:
    """Dedup and balance the candidates of one or more seeds."""
    if classes:
        raw = [c for c in raw if c.label in classes]
    merged = [_flag_xd_test(c) for c in dedup(raw, taxonomy)]
    found = Counter(c.label for c in merged)
    kept = balance(merged, per_class, hash_seed)
    return DiscoverResult(kept, found, skipped)


_ALL_OR_NONE = ("stand_in", "av_unchecked", "audio_unchecked")


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
    stand = {s for s in {c.label for c in cluster} if all("stand_in" in c.seed_flags for c in cluster if c.label == s)}
    # an anomaly before normal; a class named by its own label before one only stood in for
    labels = sorted({c.label for c in cluster}, key=lambda s: (not taxonomy.is_anomaly(s), s in stand, taxonomy.index(s)))
    first = min(cluster, key=lambda c: (c.label != labels[0], c.start is not None, c.start or 0.0))
    seed_labels = tuple(sorted({x for c in cluster for x in c.seed_labels}))
    also = [s for s in labels[1:] if not (taxonomy.is_anomaly(labels[0]) and s == taxonomy.normal_class)]
    flags = {f for c in cluster for f in c.seed_flags if f not in _ALL_OR_NONE} | {f"also:{s}" for s in also}
    if labels[0] in stand:
        flags.add("stand_in")
    for f in ("av_unchecked", "audio_unchecked"):  # one seed that checked it (VGGSounder's AV) is enough
        if all(f in c.seed_flags for c in cluster):
            flags.add(f)
    sources = "; ".join(sorted({c.annotation_source for c in cluster if c.annotation_source}))
    licences = "; ".join(sorted({c.annotation_license for c in cluster if c.annotation_license}))
    return replace(first, label=labels[0], seed_labels=seed_labels, seed_flags=tuple(sorted(flags)),
                   annotation_source=sources[:200], annotation_license=licences[:100])  # fmt: skip


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
