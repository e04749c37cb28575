"""The dataset card (``README.md``) of a published folder: YAML front matter for the Hub and
``datasets.load_dataset`` (configs, features, split sizes), then counts, split and classes.

Under private test labels the per-class test counts are not shown (see :mod:`vaar.core.contracts.private_split`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from vaar import __version__
from vaar.core.contracts.manifest_schema import AUDIO_SAMPLE_RATE, published_features
from vaar.core.taxonomy import Taxonomy
from vaar.curation.licences import LicenceFacts, licence_section
from vaar.curation.publish.datasheet import md
from vaar.curation.split import SPLITS


@dataclass(frozen=True)
class CardFacts:
    """What the card says, gathered while the shards are written."""

    name: str
    license: str
    seed: int
    counts: Mapping[str, int]
    data_bytes: Mapping[str, int]
    per_class: Mapping[str, Mapping[str, int]]  # split -> label -> clips
    seconds: Mapping[str, float]
    sums: Mapping[str, str]
    private_test: bool = False
    test_identity: str | None = None
    fallback: str | None = None  # why the split is not stratified
    version: str | None = None  # dataset version (vaar.curation.publish.release)
    homepage: str | None = None
    citation: str | None = None
    licences: LicenceFacts | None = None  # the published clips' video and annotation licences


def render_card(facts: CardFacts, taxonomy: Taxonomy) -> str:
    counts = facts.counts
    info = {
        "features": _features_yaml(taxonomy.slugs),
        "splits": [
            {"name": s, "num_bytes": facts.data_bytes[s], "num_examples": counts[s]} for s in SPLITS if counts[s]
        ],
    }
    header = {
        "license": facts.license,
        "pretty_name": facts.name,
        "dataset_version": facts.version,
        "task_categories": ["video-classification", "audio-classification"],
        "tags": ["audio-visual", "anomaly-detection", "vaar"],
        "size_categories": [_size_category(sum(counts.values()))],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in SPLITS if counts[s]],
            }
        ],
        "dataset_info": info,
    }
    lines = ["---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---", ""]
    lines += [
        f"# {facts.name}",
        "",
        "Audio-visual anomaly recognition clips curated with "
        f"vaar {__version__}: each clip was downloaded, trimmed frame-accurately, "
        "normalised (H.264 + AAC MP4, 16 kHz mono FLAC) and verified (both streams present, "
        "duration, audio-video sync and quality checks). Only clips with status `ok` are here; "
        "`manifest.parquet` in the build folder has every clip with its fate.",
        "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset('path/to/dataset')",
        "row = ds['train'][0]",
        "frame = row['video'].get_frame_at(0).data   # (C, H, W) uint8",
        "audio = row['audio'].get_all_samples().data # (1, N) at 16 kHz",
        "```",
        "",
        "## Classes and counts",
        "",
        "| class | " + " | ".join(SPLITS) + " | total |",
        "|---|" + "---:|" * (len(SPLITS) + 1),
    ]
    hidden = {"test"} if facts.private_test else set()
    for slug in taxonomy.slugs:
        per = [facts.per_class[s].get(slug, 0) for s in SPLITS]
        if hidden:  # no per-class test counts, and no total that would give them back
            shown = ["—" if s in hidden else str(n) for s, n in zip(SPLITS, per, strict=True)]
            lines.append(f"| `{slug}` | " + " | ".join(shown) + " | — |")
        else:
            lines.append(f"| `{slug}` | " + " | ".join(str(n) for n in per) + f" | {sum(per)} |")
    tot = [counts[s] for s in SPLITS]
    lines.append("| **all** | " + " | ".join(str(n) for n in tot) + f" | {sum(tot)} |")
    lines.append(
        "| hours | "
        + " | ".join(f"{facts.seconds.get(s, 0.0) / 3600:.3f}" for s in SPLITS)
        + f" | {sum(facts.seconds.values()) / 3600:.3f} |"
    )
    if facts.licences is not None:
        lines += ["", *licence_section(facts.licences, md)]
    lines += ["", "## Split", ""]
    if facts.fallback:
        lines.append(
            "Grouped by `source_id` and near-duplicate group (a group never straddles two splits), "
            f"**not stratified by label**: {facts.fallback}. Seed {facts.seed}. sha256 of the split "
            "files (`splits/`):"
        )
    else:
        lines.append(
            "Grouped by `source_id` and near-duplicate group (a group never straddles two splits), "
            f"stratified by label, seed {facts.seed}. sha256 of the split files (`splits/`):"
        )
    lines.append("")
    for name, digest in sorted(facts.sums.items()):
        lines.append(f"- `{name}`: `{digest}`")
    if facts.private_test:
        lines += ["", "The test split is published without labels (`label` = -1) and with opaque clip "
                  "ids; the host scores it."]
        if facts.test_identity:
            lines.append(f"Its identity (keyed by the host): `{facts.test_identity}`.")
    lines += ["", f"Dataset version `{facts.version}`; `croissant.json` (Croissant 1.0 + RAI) and "
              "`DATASHEET.md` describe it."]
    if facts.homepage:
        lines += ["", f"Project: <{facts.homepage}>"]
    if facts.citation:
        lines += ["", "## Citation", "", "```bibtex", facts.citation.replace("```", "'''"), "```"]
    lines += ["", "## Class definitions", ""]
    for c in taxonomy.classes:
        lines.append(f"- **{c.name}** (`{c.slug}`): {c.definition}")
    return "\n".join(lines) + "\n"


def _features_yaml(class_names: tuple[str, ...]) -> list[dict[str, Any]]:
    """The card's ``dataset_info.features``: :func:`vaar.core.contracts.manifest_schema.published_features` in the Hub's
    YAML form."""
    out: list[dict[str, Any]] = []
    for f in published_features():
        if f.kind == "ClassLabel":
            out.append({"name": f.name, "dtype": {"class_label": {"names": dict(enumerate(class_names))}}})
        elif f.kind == "Value":
            out.append({"name": f.name, "dtype": f.dtype})
        elif f.kind == "Audio":
            out.append({"name": f.name, "dtype": {"audio": {"sampling_rate": AUDIO_SAMPLE_RATE}}})
        else:
            out.append({"name": f.name, "dtype": f.kind.lower()})
    return out


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M"
