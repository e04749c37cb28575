"""Seed ``vggsound-csv``: the full VGGSound list (Chen et al., 2020; CC BY 4.0).

The public ``vggsound.csv`` has no header; each row is ``youtube_id,start_seconds,label,split``
(labels with commas are quoted), each clip 10 s from ``start_seconds``. VGGSound labels are
audio labels: whether the event is also seen is unchecked, so every candidate carries the flag
``av_unchecked`` (the vggsounder seed, which has per-modality labels, does not need it).
"""

from __future__ import annotations

import csv
from collections import Counter

from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import YOUTUBE_ID_RE, Candidate
from vaar.curation.discover.fetch import read_text
from vaar.curation.discover.seeds import SeedOptions, SeedResult, register_seed

CLIP_S = 10.0
LICENSE = "CC-BY-4.0"


def parse(text: str, taxonomy: Taxonomy) -> SeedResult:
    mapping = taxonomy.seed_map("vggsound")
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 4:
            skipped[f"{len(row)} fields, not 4 (youtube_id,start,label,split)"] += 1
            continue
        yt, start_s, label, split = (x.strip() for x in row)
        slug = mapping.get(label)
        if slug is None:
            continue
        if not YOUTUBE_ID_RE.match(yt):
            skipped["malformed youtube_id"] += 1
            continue
        try:
            start = float(start_s)
        except ValueError:
            skipped["malformed start"] += 1
            continue
        if not 0 <= start < 1e6:
            skipped["malformed start"] += 1
            continue
        out.append(
            Candidate(
                video_id=yt, start=start, end=start + CLIP_S, label=slug, seed="vggsound-csv",
                seed_labels=(label,), seed_flags=("av_unchecked",), license=LICENSE,
                notes=f"VGGSound {split} clip",
            )
        )  # fmt: skip
    return out, skipped


@register_seed("vggsound-csv", needs_source=True, help="VGGSound list: youtube_id,start,label,split (no header)")
def vggsound_csv_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    assert options.source is not None
    return parse(read_text(options.source, what="VGGSound list", network=options.network), taxonomy)
