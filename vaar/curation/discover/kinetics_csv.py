"""Seed ``kinetics-csv``: Kinetics-700-2020 annotation CSVs (Smaira et al., 2020; CC BY 4.0).

The official files (``train.csv``, ``validate.csv`` of
``https://storage.googleapis.com/deepmind-media/Datasets/kinetics700_2020.tar.gz``) have a header
``label,youtube_id,time_start,time_end,split``, one 10 s clip a row. The test CSV has no
``label`` column and is refused with one line (it proposes nothing). Labels map through the
taxonomy's ``kinetics`` vocabulary (``slapping`` → abuse, ``tagging graffiti`` → vandalism, ...).

Kinetics labels are *visual*: whether the event is heard was never checked, so every candidate is
flagged ``audio_unchecked``. CC BY 4.0 covers the annotations (``annotation_license``); the videos
are their uploaders', so ``license`` stays empty until the build reads the video page.
"""

from __future__ import annotations

import csv
from collections import Counter

from vaar.core.errors import ConfigError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import YOUTUBE_ID_RE, Candidate
from vaar.curation.discover.fetch import read_text
from vaar.curation.discover.seeds import SeedOptions, SeedResult, register_seed

COLUMNS = ("label", "youtube_id", "time_start", "time_end")
ANNOTATION_LICENSE = "CC-BY-4.0"
MAX_CLIP_S = 60.0  # Kinetics clips are 10 s; a longer span is a malformed row


def parse(text: str, taxonomy: Taxonomy, where: str = "Kinetics CSV") -> SeedResult:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(
            f"{where}: not a Kinetics annotation CSV (missing column(s) {', '.join(missing)}; the header "
            "is label,youtube_id,time_start,time_end,split; the test CSV has no labels)"
        )
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    try:
        for raw in reader:
            _row(raw, taxonomy, out, skipped)
    except csv.Error as exc:  # a field over csv's size limit, a NUL byte: the file is not usable
        raise ConfigError(f"{where}: line {reader.line_num + 1}: not a usable CSV row ({exc}); "
                          "pass the official Kinetics annotation CSV") from None  # fmt: skip
    return out, skipped


def _row(raw: dict[str, str], taxonomy: Taxonomy, out: list[Candidate], skipped: Counter[str]) -> None:
    """One row: a candidate appended to ``out``, or a skip counted."""
    if None in raw or any(raw.get(c) is None for c in COLUMNS):
        skipped["wrong number of fields"] += 1
        return
    label = raw["label"].strip()
    hits = taxonomy.classes_of("kinetics", [label])
    if not hits:
        return
    yt = raw["youtube_id"].strip()
    if not YOUTUBE_ID_RE.match(yt):
        skipped["malformed youtube_id"] += 1
        return
    try:
        start, end = float(raw["time_start"]), float(raw["time_end"])
    except ValueError:
        skipped["malformed time_start/time_end"] += 1
        return
    if not 0 <= start < end < 1e6 or end - start > MAX_CLIP_S:
        skipped["malformed time_start/time_end"] += 1
        return
    split = (raw.get("split") or "").strip()[:20]
    slug, _, stand_in = hits[0]
    out.append(
        Candidate(
            video_id=yt, start=start, end=end, label=slug, seed="kinetics-csv", seed_labels=(label,),
            seed_flags=("audio_unchecked", *(("stand_in",) if stand_in else ())),
            annotation_source=f"Kinetics-700-2020 {split}".strip(), annotation_license=ANNOTATION_LICENSE,
            notes="Kinetics clip (visual label)",
        )
    )  # fmt: skip


@register_seed("kinetics-csv", needs_source=True,
               help="Kinetics-700-2020 CSV: label,youtube_id,time_start,time_end,split")  # fmt: skip
def kinetics_csv_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    assert options.source is not None
    text = read_text(options.source, what="Kinetics CSV", network=options.network, sha256=options.sha256)
    return parse(text, taxonomy, options.source)
