"""Seed ``audioset-csv``: AudioSet segment lists (Gemmeke et al., 2017; labels CC BY 4.0).

A segment CSV (``balanced_train_segments.csv``, ``eval_segments.csv``, ...) starts with ``#``
comment lines, then rows ``YTID, start_seconds, end_seconds, positive_labels`` where
``positive_labels`` is a quoted, comma-separated list of ontology ids (``/m/...``). The ontology
JSON (``ontology.json``: a list of ``{"id": ..., "name": ...}``) turns ids into the names that
``taxonomy.yaml`` maps (vocabulary ``audioset``). AudioSet labels are audio labels, so every
candidate is flagged ``av_unchecked``. CC BY 4.0 covers the labels (``annotation_license``); the
videos are their uploaders', so ``license`` stays empty until the build reads the video page.

A row's labels map through :meth:`Taxonomy.classes_of`: one candidate per class, flagged
``stand_in`` when only stand-in labels reached it; ``Crowd`` on a ``Battle cry`` row does not make
it a normal candidate. The committed subset ``curation/sources/seeds/audioset/`` (gzip, with the
official files' names and sha256 in its ``#`` header) is read the same way as the official lists.
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


ANNOTATION_LICENSE = "CC-BY-4.0"
SECTION = "# section: "  # "# section: eval_segments.csv sha256 <hex>" in the committed subset


def parse(text: str, ontology: dict[str, str], taxonomy: Taxonomy, source: str = "AudioSet v1") -> SeedResult:
    mapping = taxonomy.seed_map("audioset")
    by_id = {mid: name for mid, name in ontology.items() if name in mapping}
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith(SECTION):  # the committed subset: rows of one official file follow
            source = f"AudioSet v1 {line[len(SECTION):].split()[0]}"[:80]
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            row = next(csv.reader([line], skipinitialspace=True), [])
        except csv.Error:  # a field over csv's size limit, a NUL byte
            skipped["not a CSV row"] += 1
            continue
        if len(row) != 4:
            skipped[f"{len(row)} fields, not 4 (YTID, start, end, labels)"] += 1
            continue
        yt, start_s, end_s, labels = (x.strip() for x in row)
        ids = [x.strip() for x in labels.split(",") if x.strip()]
        hits = taxonomy.classes_of("audioset", [by_id[i] for i in ids if i in by_id])
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
        for slug, names, stand_in in hits:
            out.append(
                Candidate(
                    video_id=yt, start=start, end=end, label=slug, seed="audioset-csv",
                    seed_labels=names, seed_flags=("av_unchecked", *(("stand_in",) if stand_in else ())),
                    annotation_source=source, annotation_license=ANNOTATION_LICENSE, notes="AudioSet segment",
                )
            )  # fmt: skip
    return out, skipped


@register_seed("audioset-csv", needs_source=True, help="AudioSet segment CSV (needs --ontology ontology.json)")
def audioset_csv_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    assert options.source is not None
    if not options.ontology:
        raise ConfigError("seed audioset-csv needs --ontology FILE (AudioSet's ontology.json)")
    onto_text = read_text(options.ontology, what="AudioSet ontology", network=options.network,
                          sha256=options.ontology_sha256)  # fmt: skip
    ontology = parse_ontology(onto_text, options.ontology)
    text = read_text(options.source, what="AudioSet segment list", network=options.network, sha256=options.sha256)
    name = options.source.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gz")[:60]
    return parse(text, ontology, taxonomy, f"AudioSet v1 {name}")
