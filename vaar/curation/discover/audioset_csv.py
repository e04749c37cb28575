"""Seed ``audioset-csv``: AudioSet segment lists (Gemmeke et al., 2017; labels CC BY 4.0).

A segment CSV (``balanced_train_segments.csv``, ``eval_segments.csv``, ...) starts with ``#``
comment lines, then rows ``YTID, start_seconds, end_seconds, positive_labels`` where
``positive_labels`` is a quoted, comma-separated list of ontology ids (``/m/...``). The ontology
JSON (``ontology.json``: a list of ``{"id": ..., "name": ...}``) turns ids into the names that
``taxonomy.yaml`` maps (vocabulary ``audioset``). AudioSet labels are audio labels, so every
candidate is flagged ``av_unchecked``. The videos' own licences vary: ``license`` is left empty
for the reviewer.
"""

from __future__ import annotations

import csv
import json
from collections import Counter

from vaar.core.errors import ConfigError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import YOUTUBE_ID_RE, Candidate
from vaar.curation.discover.fetch import read_text
from vaar.curation.discover.seeds import SeedOptions, SeedResult, register_seed


def parse_ontology(text: str, where: str) -> dict[str, str]:
    """``{ontology id: name}``."""
    try:
        data = json.loads(text)
        return {str(d["id"]): str(d["name"]) for d in data}
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{where}: not an AudioSet ontology (a JSON list of objects with 'id' and 'name')"
        ) from None


def parse(text: str, ontology: dict[str, str], taxonomy: Taxonomy) -> SeedResult:
    mapping = taxonomy.seed_map("audioset")
    by_id = {mid: mapping[name] for mid, name in ontology.items() if name in mapping}
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for row in csv.reader(lines, skipinitialspace=True):
        if len(row) != 4:
            skipped[f"{len(row)} fields, not 4 (YTID, start, end, labels)"] += 1
            continue
        yt, start_s, end_s, labels = (x.strip() for x in row)
        ids = [x.strip() for x in labels.split(",") if x.strip()]
        hits = sorted({(by_id[i], ontology[i]) for i in ids if i in by_id})
        if not hits:
            continue
        if not YOUTUBE_ID_RE.match(yt):
            skipped["malformed YTID"] += 1
            continue
        try:
            start, end = float(start_s), float(end_s)
        except ValueError:
            skipped["malformed start/end"] += 1
            continue
        if not 0 <= start < end < 1e6:
            skipped["malformed start/end"] += 1
            continue
        for slug, name in hits:
            out.append(
                Candidate(
                    video_id=yt, start=start, end=end, label=slug, seed="audioset-csv",
                    seed_labels=(name,), seed_flags=("av_unchecked",), notes="AudioSet segment",
                )
            )  # fmt: skip
    return out, skipped


@register_seed("audioset-csv", needs_source=True, help="AudioSet segment CSV (needs --ontology ontology.json)")
def audioset_csv_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    assert options.source is not None
    if not options.ontology:
        raise ConfigError("seed audioset-csv needs --ontology FILE (AudioSet's ontology.json)")
    ontology = parse_ontology(read_text(options.ontology, what="AudioSet ontology", network=options.network), options.ontology)
    return parse(read_text(options.source, what="AudioSet segment list", network=options.network), ontology, taxonomy)
