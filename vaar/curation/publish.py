"""Publish stage: the ``ok`` clips as a Hugging Face dataset folder.

::

    DIR/dataset/
      README.md                            dataset card; YAML: configs, dataset_info, licence
      data/<split>-NNNNN-of-NNNNN.parquet  rows with the video and audio bytes embedded
      splits/{train,validation,test}.csv   the split used, with SHA256SUMS

``datasets.load_dataset("DIR/dataset")`` loads it offline; ``video`` decodes to a torchcodec
``VideoDecoder`` and ``audio`` to 16 kHz samples. Rows are streamed from the ledger into
shards of about ``shard_bytes`` (500 MB default) in small row groups, so memory stays flat.
The folder is built under a temporary name and swapped in at the end: a killed publish leaves
the previous dataset intact.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from vaar import __version__
from vaar._util.atomic import atomic_write_text
from vaar.curation.croissant import write_croissant
from vaar.curation.datasheet import write_datasheet
from vaar.curation.release import ReleaseInfo, resolve_version
from vaar.curation.split import (
    SPLITS,
    SplitItem,
    SplitParams,
    assign_splits,
    compare_to_build,
    read_split_dir,
    split_digest,
    write_split_dir,
)
from vaar.errors import ManifestError
from vaar.schema import PUBLISHED_FACTS, dataset_features
from vaar.taxonomy import Taxonomy

ROW_GROUP_BYTES = 64 << 20


@dataclass(frozen=True)
class PublishConfig:
    ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
    seed: int = 0
    shard_bytes: int = 500 << 20
    splits_dir: Path | None = None  # committed split files to use instead of a new split
    private_test_labels: Path | None = None  # publish test without labels, write them here
    name: str = "VAAR"
    license: str = "other"
    citation: str | None = None  # BibTeX for the card, croissant.json and DATASHEET.md
    version: str | None = None  # dataset version; None: from the split (vaar.curation.release)
    homepage: str | None = None


@dataclass(frozen=True)
class PublishResult:
    folder: Path
    counts: dict[str, int]
    split_sha256: dict[str, str]
    not_ok_in_splits: tuple[str, ...]
    not_in_splits: tuple[str, ...] = ()


def publish(
    ok_rows: Iterable[dict[str, Any]], build_dir: Path, out: Path, taxonomy: Taxonomy, cfg: PublishConfig
) -> PublishResult:
    """Write the dataset folder ``out`` from ``ok_rows`` (manifest rows with status ``ok``)."""
    # Pass 1: only ids, labels, groups and sizes (small) to decide splits and shard counts.
    items: list[SplitItem] = []
    sizes: dict[str, int] = {}
    for r in ok_rows:
        items.append(SplitItem(r["clip_id"], r["label"], r.get("source_id"), r.get("dup_group")))
        sizes[r["clip_id"]] = int(r.get("video_bytes") or 0) + int(r.get("audio_bytes") or 0)
    not_ok: tuple[str, ...] = ()
    not_in_splits: tuple[str, ...] = ()
    if cfg.splits_dir is not None:
        committed = read_split_dir(cfg.splits_dir)
        missing, unsplit = compare_to_build(committed, (it.clip_id for it in items))
        not_ok, not_in_splits = tuple(missing), tuple(unsplit)
        assignment = {c: s for c, s in committed.items() if c not in set(missing)}
        items = [it for it in items if it.clip_id in assignment]
    elif items:
        assignment = assign_splits(items, ratios=cfg.ratios, seed=cfg.seed)
    else:
        assignment = {}
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    split_items = {s: [it for it in items if assignment[it.clip_id] == s] for s in SPLITS}
    private = cfg.private_test_labels is not None
    # with private test labels the published test.csv carries no labels either
    listed = [replace(it, label="") if private and assignment[it.clip_id] == "test" else it for it in items]
    sums = write_split_dir(listed, assignment, tmp / "splits", params=SplitParams(cfg.ratios, cfg.seed))
    release = ReleaseInfo(cfg.license, cfg.citation, cfg.version, cfg.homepage)
    version = resolve_version(release, split_digest(tmp / "splits"))
    if private:
        _write_private_labels(split_items["test"], cfg.private_test_labels, version)  # type: ignore[arg-type]
    features = dataset_features(taxonomy.slugs)
    schema = features.arrow_schema.with_metadata(
        {"huggingface": json.dumps({"info": {"features": features.to_dict()}})}
    )
    want = {it.clip_id for it in items}
    rows_by_split: dict[str, list[str]] = {s: sorted(it.clip_id for it in split_items[s]) for s in SPLITS}
    counts: dict[str, int] = {}
    stats: dict[str, Any] = {"per_class": defaultdict(Counter), "seconds": Counter()}
    lookup = _RowLookup(build_dir)
    try:
        for split in SPLITS:
            ids = rows_by_split[split]
            counts[split] = len(ids)
            if not ids:  # an empty split has no data file and no entry in the card's configs
                continue
            total = sum(sizes[c] for c in ids)
            n_shards = max(1, math.ceil(total / cfg.shard_bytes))
            per_shard = math.ceil(len(ids) / n_shards) if ids else 0
            for k in range(n_shards):
                chunk = ids[k * per_shard : (k + 1) * per_shard]
                path = tmp / "data" / f"{split}-{k:05d}-of-{n_shards:05d}.parquet"
                _write_shard(path, chunk, lookup, build_dir, schema, taxonomy, split, private, stats)
        assert want == {c for ids in rows_by_split.values() for c in ids}
        data_bytes = {s: sum(p.stat().st_size for p in (tmp / "data").glob(f"{s}-*.parquet")) for s in SPLITS}
        (tmp / "README.md").write_text(_card(cfg, taxonomy, counts, data_bytes, stats, sums, version), encoding="utf-8")
        rows = pq.read_table(build_dir / "manifest.parquet").to_pylist()
        write_croissant(tmp, rows, release, name=cfg.name, version=version, taxonomy=taxonomy)
        write_datasheet(tmp, rows, release, name=cfg.name, version=version, taxonomy=taxonomy, private_test=private)
        _swap(tmp, out)
    finally:
        lookup.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return PublishResult(out, counts, sums, not_ok, not_in_splits)


class _RowLookup:
    """Fetches one manifest row at a time from the ledger (keeps memory flat)."""

    def __init__(self, build_dir: Path) -> None:
        from vaar.curation.ledger import Ledger

        self._ledger = Ledger(build_dir / "ledger.sqlite")

    def get(self, clip_id: str) -> dict[str, Any]:
        row = self._ledger.get(clip_id)
        if row is None:
            raise ManifestError(f"clip {clip_id} is not in the ledger")
        return row

    def close(self) -> None:
        self._ledger.close()


def _write_shard(
    path: Path,
    ids: list[str],
    lookup: _RowLookup,
    build_dir: Path,
    schema: pa.Schema,
    taxonomy: Taxonomy,
    split: str,
    private: bool,
    stats: dict[str, Any],
) -> None:
    with pq.ParquetWriter(path, schema) as writer:
        batch: list[dict[str, Any]] = []
        batch_bytes = 0
        for clip_id in ids:
            r = lookup.get(clip_id)
            video = (build_dir / r["video_path"]).read_bytes()
            audio = (build_dir / r["audio_path"]).read_bytes()
            hide = private and split == "test"
            row: dict[str, Any] = {
                "clip_id": clip_id,
                "label": -1 if hide else taxonomy.index(r["label"]),
                "video": {"bytes": video, "path": f"{clip_id}.mp4"},
                "audio": {"bytes": audio, "path": f"{clip_id}.flac"},
            }
            for name in PUBLISHED_FACTS:
                row.setdefault(name, r.get(name))
            batch.append(row)
            batch_bytes += len(video) + len(audio)
            stats["per_class"][split][r["label"]] += 1
            stats["seconds"][split] += float(r.get("duration") or 0.0)
            if batch_bytes >= ROW_GROUP_BYTES:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch, batch_bytes = [], 0
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))


def _write_private_labels(items: list[SplitItem], path: Path, version: str) -> None:
    # the dataset version rides along, so an entry scored on these labels records it
    lines = ["clip_id,label,dataset_version"] + [
        f"{it.clip_id},{it.label},{version}" for it in sorted(items, key=lambda i: i.clip_id)]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _swap(tmp: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def _card(
    cfg: PublishConfig,
    taxonomy: Taxonomy,
    counts: Mapping[str, int],
    data_bytes: Mapping[str, int],
    stats: dict[str, Any],
    sums: Mapping[str, str],
    version: str,
) -> str:
    features = dataset_features(taxonomy.slugs)
    info = {
        "features": _features_yaml(features),
        "splits": [
            {"name": s, "num_bytes": data_bytes[s], "num_examples": counts[s]} for s in SPLITS if counts[s]
        ],
    }
    header = {
        "license": cfg.license,
        "pretty_name": cfg.name,
        "dataset_version": version,
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
        f"# {cfg.name}",
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
    for slug in taxonomy.slugs:
        per = [stats["per_class"][s][slug] for s in SPLITS]
        lines.append(f"| `{slug}` | " + " | ".join(str(n) for n in per) + f" | {sum(per)} |")
    tot = [counts[s] for s in SPLITS]
    lines.append("| **all** | " + " | ".join(str(n) for n in tot) + f" | {sum(tot)} |")
    lines.append(
        "| hours | "
        + " | ".join(f"{stats['seconds'][s] / 3600:.3f}" for s in SPLITS)
        + f" | {sum(stats['seconds'].values()) / 3600:.3f} |"
    )
    lines += ["", "## Split", ""]
    lines.append(
        "Grouped by `source_id` and near-duplicate group (a group never straddles two splits), "
        f"stratified by label, seed {cfg.seed}. sha256 of the split files (`splits/`):"
    )
    lines.append("")
    for name, digest in sorted(sums.items()):
        lines.append(f"- `{name}`: `{digest}`")
    if cfg.private_test_labels is not None:
        lines += ["", "The test split is published without labels (`label` = -1); the host scores it."]
    lines += ["", f"Dataset version `{version}`; `croissant.json` (Croissant 1.0 + RAI) and `DATASHEET.md` describe it."]
    if cfg.homepage:
        lines += ["", f"Project: <{cfg.homepage}>"]
    if cfg.citation:
        lines += ["", "## Citation", "", "```bibtex", cfg.citation.replace("```", "'''"), "```"]
    lines += ["", "## Class definitions", ""]
    for c in taxonomy.classes:
        lines.append(f"- **{c.name}** (`{c.slug}`): {c.definition}")
    return "\n".join(lines) + "\n"


def _features_yaml(features: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, feat in features.items():
        kind = type(feat).__name__
        if kind == "ClassLabel":
            out.append({"name": name, "dtype": {"class_label": {"names": dict(enumerate(feat.names))}}})
        elif kind == "Value":
            out.append({"name": name, "dtype": feat.dtype})
        elif kind == "Audio":
            out.append({"name": name, "dtype": {"audio": {"sampling_rate": feat.sampling_rate}}})
        else:
            out.append({"name": name, "dtype": kind.lower()})
    return out


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M"
