"""Seed ``vggsound-csv``: the full VGGSound list (Chen et al., 2020; CC BY 4.0).

The public ``vggsound.csv`` has no header; each row is ``youtube_id,start_seconds,label,split``
(labels with commas are quoted), each clip 10 s from ``start_seconds``. CC BY 4.0 is the licence
of the *annotations* (``annotation_license``); the videos are their uploaders' (``license`` stays
empty until the build reads the video page). VGGSound labels are
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
ANNOTATION_LICENSE = "CC-BY-4.0"  # of the labels; the videos are their uploaders'


def parse(text: str, taxonomy: Taxonomy) -> SeedResult:
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    for row in csv.reader(text.splitlines(), skipinitialspace=True):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 4:
            skipped[f"{len(row)} fields, not 4 (youtube_id,start,label,split)"] += 1
            continue
        yt, start_s, label, split = (x.strip() for x in row)
        hits = taxonomy.classes_of("vggsound", [label])
        if not hits:
            continue
        slug, _, stand_in = hits[0]
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
                seed_labels=(label,), seed_flags=("av_unchecked", *(("stand_in",) if stand_in else ())),
                annotation_source=f"VGGSound {split}", annotation_license=ANNOTATION_LICENSE,
                notes=f"VGGSound {split} clip",
            )
        )  # fmt: skip
    return out, skipped


@register_seed("vggsound-csv", needs_source=True, help="VGGSound list: youtube_id,start,label,split (no header)")
def vggsound_csv_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    assert options.source is not None
    return parse(read_text(options.source, what="VGGSound list", network=options.network, sha256=options.sha256), taxonomy)
