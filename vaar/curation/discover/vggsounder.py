"""Seed ``vggsounder``: the re-annotated VGGSound test metadata of the ``vggsounder`` package.

VGGSounder (Zverev et al., 2025; MIT package) re-annotates VGGSound (labels CC BY 4.0; the videos
are their uploaders', under their own licences: ``license`` stays empty here). It labels each
10 s VGGSound test clip per class with the modality the class is perceived in: ``A`` (heard only),
``V`` (seen only) or ``AV``, plus ``background_music``, ``static_image`` and ``voice_over``.
The package ships this as CSV package data (``vggsounder/data/*.csv``, one row per video and
label); it is read directly, not through the package's loader, so that the columns are checked
and a malformed row is counted, not fatal.

Kept: ``AV`` labels (an anomaly must be heard **and** seen). Dropped: ``static_image`` videos (a
still picture over audio). Flagged in ``seed_flags``: ``background_music``, ``voice_over``.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from importlib import metadata, resources

from vaar.core.errors import ConfigError, MissingDependencyError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.discover.candidate import YOUTUBE_ID_RE, Candidate
from vaar.curation.discover.seeds import SeedOptions, SeedResult, register_seed

DATA_FILE = "data/vggsounder+background-music.csv"  # all videos; background music is a column
COLUMNS = ("video_id", "label", "modality", "background_music", "static_image", "voice_over")
CLIP_S = 10.0
ANNOTATION_LICENSE = "CC-BY-4.0"  # VGGSound's labels; the videos are their uploaders'
_VIDEO_ID = re.compile(r"^(?P<yt>.{11})_(?P<start>\d{1,6})$")


def data_text() -> tuple[str, str]:
    """(CSV text, package version) of the installed ``vggsounder``."""
    try:
        version = metadata.version("vggsounder")
        text = resources.files("vggsounder").joinpath(DATA_FILE).read_text(encoding="utf-8")
    except (ModuleNotFoundError, metadata.PackageNotFoundError):
        raise MissingDependencyError(
            "seed vggsounder needs the vggsounder package (Python >= 3.11): pip install 'vaar[discover]'"
        ) from None
    except (FileNotFoundError, OSError):
        raise ConfigError(
            f"the installed vggsounder package has no {DATA_FILE}; install the pinned version "
            "(pip install -c constraints.txt vggsounder)"
        ) from None
    return text, version


def _true(value: str) -> bool:
    return value.strip().lower() == "true"


def parse(text: str, version: str, taxonomy: Taxonomy) -> SeedResult:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"vggsounder {version}: {DATA_FILE} lacks column(s) {', '.join(missing)}")
    out: list[Candidate] = []
    skipped: Counter[str] = Counter()
    for raw in reader:
        hits = taxonomy.classes_of("vggsound", [raw["label"] or ""])
        if not hits:
            continue  # a class VAAR does not use: not a skip worth reporting
        slug, _, stand_in = hits[0]
        m = _VIDEO_ID.match(raw["video_id"] or "")
        if not m or not YOUTUBE_ID_RE.match(m["yt"]):
            skipped["malformed video_id"] += 1
            continue
        if raw["modality"] != "AV":
            skipped[f"modality {raw['modality']} (not heard and seen)"] += 1
            continue
        if _true(raw["static_image"]):
            skipped["static image"] += 1
            continue
        flags = tuple(f for f in ("background_music", "voice_over") if _true(raw[f]))
        flags += ("stand_in",) if stand_in else ()
        start = float(m["start"])
        out.append(
            Candidate(
                video_id=m["yt"], start=start, end=start + CLIP_S, label=slug, seed="vggsounder",
                seed_labels=(raw["label"],), seed_flags=flags,
                annotation_source=f"VGGSounder {version} (VGGSound test)", annotation_license=ANNOTATION_LICENSE,
                notes=f"VGGSounder {version} test clip {raw['video_id']}",
            )
        )  # fmt: skip
    return out, skipped


@register_seed("vggsounder", needs_source=False, help="VGGSounder test metadata (pip package vggsounder)")
def vggsounder_seed(options: SeedOptions, taxonomy: Taxonomy) -> SeedResult:
    text, version = data_text()
    return parse(text, version, taxonomy)
