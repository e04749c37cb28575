"""The published dataset folder as the baselines see it: clips, labels and cache keys.

The folder is read with ``datasets.load_dataset(DIR)`` (the contract of ``vaar build``); media
columns are cast to ``decode=False`` so that listing clips and labels never decodes anything.
A clip's cache key is its ``video_sha256`` column, or the sha256 of its video bytes when a folder
lacks that column; the audio track is part of the clip, so audio features share the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaar.core.errors import ConfigError, ManifestError

if TYPE_CHECKING:
    import datasets


@dataclass(frozen=True)
class ClipRef:
    clip_id: str
    label: int  # ClassLabel id; -1 in a split published without labels
    key: str  # sha256 of the clip: the feature-cache key


def open_dataset(path: str | Path) -> datasets.DatasetDict:
    """Load the dataset folder with media left undecoded (``{'bytes', 'path'}`` cells)."""
    import datasets

    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"{root}: no such dataset folder; make one with `vaar build`")
    try:
        dd = datasets.load_dataset(str(root))
    except (ValueError, FileNotFoundError) as exc:
        raise ManifestError(f"{root}: not a dataset folder ({str(exc).splitlines()[0]})") from None
    if not isinstance(dd, datasets.DatasetDict):
        raise ManifestError(f"{root}: expected splits train/validation/test")
    for name in dd:
        for col in ("video", "audio"):
            if col in dd[name].column_names:
                dd[name] = dd[name].cast_column(col, type(dd[name].features[col])(decode=False))
    return dd


def class_names(dd: datasets.DatasetDict) -> tuple[str, ...]:
    first = next(iter(dd.values()))
    return tuple(first.features["label"].names)


def require_split(dd: datasets.DatasetDict, split: str, where: str | Path) -> datasets.Dataset:
    if split not in dd:
        raise ConfigError(f"{where}: no split {split!r}; splits: {', '.join(dd)}")
    return dd[split]


def clip_refs(ds: datasets.Dataset) -> list[ClipRef]:
    """Clip ids, labels and cache keys of one split (hashes video bytes only if needed)."""
    has_sha = "video_sha256" in ds.column_names
    cols = ["clip_id", "label"] + (["video_sha256"] if has_sha else ["video"])
    refs = []
    for row in ds.select_columns(cols):
        key = row["video_sha256"] if has_sha else None
        if not key:
            key = hashlib.sha256(media_bytes(row["video"])).hexdigest()
        label = row["label"]
        refs.append(ClipRef(str(row["clip_id"]), -1 if label is None else int(label), str(key)))
    return refs


def media_source(cell: dict[str, Any], root: Path | None = None) -> bytes | str:
    """What a torchcodec decoder reads: embedded bytes, else the file path (maybe folder-relative)."""
    if cell.get("bytes"):
        return bytes(cell["bytes"])
    path = cell.get("path")
    if path:
        p = Path(path)
        if not p.is_file() and root is not None and (root / p).is_file():
            p = root / p
        if p.is_file():
            return str(p)
    raise ManifestError(f"media cell has neither bytes nor a readable path ({path!r})")


def media_bytes(cell: dict[str, Any], root: Path | None = None) -> bytes:
    src = media_source(cell, root)
    return src if isinstance(src, bytes) else Path(src).read_bytes()
