"""Ground truth: VAAR labels (a labels CSV or a published dataset folder) and XD-Violence.

Published dataset folder (made by ``vaar build``)::

    DIR/README.md                                  Hugging Face card
    DIR/data/{split}-NNNNN-of-NNNNN.parquet        clip_id, label (ClassLabel index; -1 unlabelled)
    DIR/splits/{train,validation,test}.csv         clip_id,label,source_id (label is the slug)
    DIR/splits/SHA256SUMS                          sha256sum format

``split_sha256`` names exactly what was scored: the sha256 of the split CSV's bytes (or of the
``--labels`` file). XD-Violence's ``annotations.txt`` has one line per violent test video,
``video_name start1 end1 [start2 end2 ...]`` in frames.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vaar.errors import ConfigError, ManifestError
from vaar.taxonomy import Taxonomy, default_taxonomy

SPLIT_ALIASES = {"val": "validation", "validation": "val"}


@dataclass(frozen=True)
class TruthSource:
    """Where the ground truth comes from: a labels file, or a dataset folder and split."""

    labels: Path | None = None
    dataset: Path | None = None
    split: str = "test"

    def __post_init__(self) -> None:
        if (self.labels is None) == (self.dataset is None):
            raise ConfigError("give exactly one of --labels FILE or --dataset DIR")


@dataclass(frozen=True)
class LabelSet:
    """VAAR ground truth: clip ids and class indices in taxonomy order, in file order."""

    clip_ids: tuple[str, ...]
    labels: npt.NDArray[np.int64]  # (N,) index into taxonomy.slugs
    sha256: str
    source: str  # file the labels came from (for messages and the entry)
    split: str | None
    dataset_version: str | None = None


@dataclass(frozen=True)
class XDAnnotations:
    """XD-Violence ground truth: violent frame ranges per annotated video."""

    ranges: dict[str, tuple[tuple[int, int], ...]]
    sha256: str
    source: str


def load_labels(source: TruthSource, taxonomy: Taxonomy | None = None) -> LabelSet:
    """Read VAAR labels from ``--labels FILE`` or ``--dataset DIR --split S``."""
    tax = taxonomy or default_taxonomy()
    if source.labels is not None:
        labels = Path(source.labels)
        # a split file of a published folder (DIR/splits/test.csv): the version is in DIR's card
        version = dataset_version(labels.parent.parent) if labels.parent.name == "splits" else None
        return _read_labels_csv(labels, tax, split=None, version=version)
    assert source.dataset is not None
    return _read_dataset_split(Path(source.dataset), source.split, tax)


def _read_labels_csv(path: Path, tax: Taxonomy, split: str | None, version: str | None = None) -> LabelSet:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read labels ({exc.strerror}); check the path") from None
    digest = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: labels file is not UTF-8; re-save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in reader.fieldnames or []]
    if "clip_id" not in fields or "label" not in fields:
        raise ManifestError(f"{path}: labels need columns clip_id,label (found {','.join(fields) or 'none'})")
    ids: list[str] = []
    labels: list[int] = []
    bad: list[str] = []
    unlabelled = 0
    index = {s: i for i, s in enumerate(tax.slugs)}
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        cid, lab = row.get("clip_id", ""), row.get("label", "")
        if not cid:
            continue
        version = version or row.get("dataset_version") or None  # private labels carry it (vaar publish)
        if not lab or lab == "-1":
            unlabelled += 1
            continue
        if lab not in index:
            bad.append(f"line {reader.line_num}: {lab!r}")
            continue
        ids.append(cid)
        labels.append(index[lab])
    if unlabelled:
        raise ManifestError(
            f"{path}: {unlabelled} clips have no label (a split published without labels); "
            "score with --labels FILE holding the private labels")
    if bad:
        raise ManifestError(f"{path}: labels outside the taxonomy ({', '.join(bad[:5])}); "
                            f"use one of {', '.join(tax.slugs)}")
    if not ids:
        raise ManifestError(f"{path}: no labelled clips; check the file")
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dupes = [c for c in ids if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
        raise ManifestError(f"{path}: duplicate clip_id ({', '.join(dupes[:5])}); each clip once")
    return LabelSet(tuple(ids), np.asarray(labels, dtype=np.int64), digest, str(path), split, version)


def _split_csv(root: Path, split: str) -> Path:
    splits = root / "splits"
    for name in (split, SPLIT_ALIASES.get(split, split)):
        if (splits / f"{name}.csv").is_file():
            return splits / f"{name}.csv"
    raise ManifestError(f"{root}: no splits/{split}.csv; is this a dataset folder made by `vaar build`?")


def _verify_sums(root: Path, csv_path: Path) -> None:
    """The split file must match ``splits/SHA256SUMS`` (one rule: :mod:`vaar.contracts.sums`)."""
    from vaar.contracts.sums import verify_listed

    try:
        verify_listed(csv_path.parent, [csv_path.name])  # every listed file present and unchanged
    except ManifestError as exc:
        raise ManifestError(f"{exc} (re-download the dataset)") from None


def dataset_version(root: Path) -> str | None:
    """``version`` (or ``dataset_version``) from the card's YAML front matter, if any."""
    card = root / "README.md"
    if not card.is_file():
        return None
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end < 0:
        return None
    import yaml

    try:
        meta = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return None
    if isinstance(meta, dict):
        for key in ("dataset_version", "version"):
            if meta.get(key) is not None:
                return str(meta[key])
    return None


def _read_dataset_split(root: Path, split: str, tax: Taxonomy) -> LabelSet:
    if not root.is_dir():
        raise ManifestError(f"{root}: not a folder; --dataset takes the folder made by `vaar build`")
    csv_path = _split_csv(root, split)
    _verify_sums(root, csv_path)
    return _read_labels_csv(csv_path, tax, split=split, version=dataset_version(root))


def split_shards(root: Path, split: str) -> list[Path]:
    """The Parquet shards of ``split`` in ``DIR/data``, sorted."""
    for name in (split, SPLIT_ALIASES.get(split, split)):
        shards = sorted((root / "data").glob(f"{name}-*.parquet"))
        if shards:
            return shards
    raise ManifestError(f"{root}: no data/{split}-*.parquet shards; is this a published dataset folder?")


# --- XD-Violence ---------------------------------------------------------------------------

def load_xd_annotations(path: Path) -> XDAnnotations:
    """Parse ``annotations.txt``: ``video start1 end1 [start2 end2 ...]`` per line (frames)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read annotations ({exc.strerror}); check the path") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: annotations are not UTF-8 text; re-save as UTF-8") from None
    ranges: dict[str, tuple[tuple[int, int], ...]] = {}
    bad: list[str] = []
    for i, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        name = parts[0].removesuffix(".mp4")
        try:
            nums = [int(x) for x in parts[1:]]
        except ValueError:
            bad.append(f"line {i}")
            continue
        if not nums or len(nums) % 2 or any(n < 0 for n in nums):
            bad.append(f"line {i}")
            continue
        pairs = tuple((nums[k], nums[k + 1]) for k in range(0, len(nums), 2))
        ranges[name] = ranges.get(name, ()) + pairs
    if bad:
        raise ManifestError(f"{path}: malformed annotation lines ({', '.join(bad[:5])}); "
                            "each line is `video start end [start end ...]` in frames")
    if not ranges:
        raise ManifestError(f"{path}: no annotations; is this XD-Violence's annotations.txt?")
    return XDAnnotations(ranges, hashlib.sha256(raw).hexdigest(), str(path))


def xd_frame_truth(ranges: tuple[tuple[int, int], ...], num_frames: int) -> npt.NDArray[np.int8]:
    """Per-frame 0/1 ground truth of one video, as the official ``make_gt.py`` builds it.

    ``num_frames`` is the number of snippet scores x 16; each annotated ``(start, end)`` marks
    frames ``start .. end-1`` (half-open), clipped to the video's frame count.
    """
    gt = np.zeros(num_frames, dtype=np.int8)
    for start, end in ranges:
        gt[min(start, num_frames): min(end, num_frames)] = 1
    return gt
