"""Ground truth: VAAR labels (a labels CSV or a published dataset folder) and XD-Violence.

Published dataset folder (made by ``vaar build``)::

    DIR/README.md                                  Hugging Face card
    DIR/data/{split}-NNNNN-of-NNNNN.parquet        clip_id, label (ClassLabel index; -1 unlabelled)
    DIR/splits/{train,validation,test}.csv         clip_id,label,source_id (label is the slug)
    DIR/splits/SHA256SUMS                          sha256sum format

``split_sha256`` names exactly what was scored: the sha256 of the split CSV's bytes (or of the
``--labels`` file).

**Private labels** (the host file written by ``vaar publish --private-test-labels``): a
``--labels`` file is private when its header has a ``dataset_version`` column (publish always
writes ``clip_id,label,dataset_version``) or any of its clip ids is opaque (``t`` + 20 hex digits,
:func:`vaar.core.contracts.private_split.opaque_id`). Its identity is then not a plain sha256, which a
submitter could brute-force from the public ids, but the card's ``hmac-sha256:<hex>``
(:func:`vaar.core.contracts.private_split.split_identity` of the file's bytes), so the entry pins the same
test set the card names. That needs the host secret that published it (``--host-secret-file`` or
``$VAAR_HOST_SECRET``); private labels without one are refused. A wrong secret gives another
identity, which the leaderboard's pinned test set refuses.

XD-Violence ground truth is the host's, never the submission's. ``--labels`` names the host's
``annotations.txt`` (or the folder holding it); beside it::

    annotations.txt   one line per violent test video: ``video start1 end1 [start2 end2 ...]``
                      (frames; half-open ranges)
    frames.csv        ``video,frames``: every official test video and its number of video
                      frames, as decoded from the host's copy of the test video (made by
                      ``vaar-bench xd-frames --root XD``)

The test set is the 800 videos of the official release (``vaar/bench/data/
xd_violence_test_videos.txt``: 500 violent, 300 normal ``label_A``); ``frames.csv`` must list
exactly those. Video ``v`` has ``(frames_v - 1) // 16`` snippets, as the official features
(and ``make_gt.py``'s ground truth of 16 frames a snippet) have; a submission must send exactly
that many scores for every video. ``split_sha256`` is the sha256 of the three files' bytes
(annotations, frame counts, official list), each followed by a NUL byte.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vaar.core.csvsafe import checked, header_of
from vaar.core.errors import ConfigError, ManifestError
from vaar.core.taxonomy import Taxonomy, default_taxonomy

SPLIT_ALIASES = {"val": "validation", "validation": "val"}


@dataclass(frozen=True)
class TruthSource:
    """Where the ground truth comes from: a labels file, or a dataset folder and split."""

    labels: Path | None = None
    dataset: Path | None = None
    split: str = "test"
    host_secret_file: Path | None = None  # private labels: else $VAAR_HOST_SECRET

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
    #: the bootstrap's resampling unit per clip: its ``source_id`` (clips cut from one source video
    #: are correlated and a split keeps them together), the clip id where a row has none; None
    #: when the file has no source_id column (then clips are resampled one by one)
    groups: tuple[str, ...] | None = None


@dataclass(frozen=True)
class XDAnnotations:
    """XD-Violence ground truth: violent frame ranges per annotated video and, for the scorer,
    the fixed test set: every test video's frame count, in the official order."""

    ranges: dict[str, tuple[tuple[int, int], ...]]
    sha256: str
    source: str
    frames: dict[str, int] | None = None  # None: annotations only (training's own AP)

    def snippets(self, video: str) -> int:
        """Snippet scores expected for ``video``: ``(frames - 1) // 16``."""
        assert self.frames is not None
        return xd_snippet_count(self.frames[video])


def load_labels(source: TruthSource, taxonomy: Taxonomy | None = None) -> LabelSet:
    """Read VAAR labels from ``--labels FILE`` or ``--dataset DIR --split S``."""
    tax = taxonomy or default_taxonomy()
    if source.labels is not None:
        labels = Path(source.labels)
        # a split file of a published folder (DIR/splits/test.csv): the version is in DIR's card
        version = dataset_version(labels.parent.parent) if labels.parent.name == "splits" else None
        return _read_labels_csv(labels, tax, split=None, version=version, secret_file=source.host_secret_file)
    assert source.dataset is not None
    return _read_dataset_split(Path(source.dataset), source.split, tax)


OPAQUE_CLIP_ID = re.compile(r"t[0-9a-f]{20}")  # vaar.core.contracts.private_split.opaque_id


def is_private_labels(fields: list[str], clip_ids: list[str]) -> bool:
    """A host's private labels file: a ``dataset_version`` column, or any opaque clip id."""
    return "dataset_version" in fields or any(OPAQUE_CLIP_ID.fullmatch(c) for c in clip_ids)


def keyed_file_identity(truth_identity: str, path: Path, plain_sha256: str, secret_file: Path | None) -> str:
    """How an entry names a file scored on ``truth_identity``: its sha256, or on a private split
    (an ``hmac-sha256:`` identity) an HMAC under the host secret, so that a submitted perfect
    labelling cannot be brute-forced back from the public entry."""
    if not truth_identity.startswith("hmac-sha256:"):
        return plain_sha256
    from vaar.core.contracts.private_split import file_identity, load_secret

    return file_identity(load_secret(secret_file), path.read_bytes())


def private_identity(path: Path, raw: bytes, secret_file: Path | None) -> str:
    """The card's ``hmac-sha256:<hex>`` of a private labels file; refused without the host secret."""
    from vaar.core.contracts.private_split import SECRET_ENV, load_secret, split_identity

    if secret_file is None and not os.environ.get(SECRET_ENV, "").strip():
        raise ConfigError(f"{path}: private test labels (a dataset_version column or opaque ids) are named by "
                          f"the card's HMAC identity: pass --host-secret-file FILE or set ${SECRET_ENV} "
                          "(the secret they were published with)")
    return split_identity(load_secret(secret_file), raw)


def _read_labels_text(path: Path) -> tuple[bytes, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read labels ({exc.strerror}); check the path") from None
    try:
        return raw, raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: labels file is not UTF-8; re-save it as UTF-8") from None


def _read_labels_csv(path: Path, tax: Taxonomy, split: str | None, version: str | None = None,
                     secret_file: Path | None = None) -> LabelSet:
    raw, text = _read_labels_text(path)
    digest = hashlib.sha256(raw).hexdigest()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = [f.strip() for f in header_of(reader, str(path), ManifestError)]
    if "clip_id" not in fields or "label" not in fields:
        raise ManifestError(f"{path}: labels need columns clip_id,label (found {','.join(fields) or 'none'})")
    ids: list[str] = []
    labels: list[int] = []
    groups: list[str] = []
    bad: list[str] = []
    unlabelled = 0
    index = {s: i for i, s in enumerate(tax.slugs)}
    for row in checked(reader, str(path), ManifestError):
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
        groups.append(row.get("source_id") or cid)
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
    if split is None and is_private_labels(fields, ids):  # --labels FILE: the host's private labels?
        digest = private_identity(path, raw, secret_file)
    return LabelSet(tuple(ids), np.asarray(labels, dtype=np.int64), digest, str(path), split, version,
                    tuple(groups) if "source_id" in fields else None)


def _split_csv(root: Path, split: str) -> Path:
    splits = root / "splits"
    for name in (split, SPLIT_ALIASES.get(split, split)):
        if (splits / f"{name}.csv").is_file():
            return splits / f"{name}.csv"
    raise ManifestError(f"{root}: no splits/{split}.csv; is this a dataset folder made by `vaar build`?")


def _verify_sums(root: Path, csv_path: Path) -> None:
    """The split file must match ``splits/SHA256SUMS`` (one rule: :mod:`vaar.core.contracts.sums`)."""
    from vaar.core.contracts.sums import verify_listed

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
    from vaar.core._util.yamlsafe import YamlRefused, load_yaml

    try:
        meta = load_yaml(text[3:end])
    except YamlRefused:
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


XD_SNIPPET_FRAMES = 16
XD_FRAMES_FILE = "frames.csv"
_XD_LIST = "data/xd_violence_test_videos.txt"
XD_NORMAL_MARKER = "label_A"


def xd_snippet_count(frames: int) -> int:
    """Snippets of 16 frames in a video of ``frames`` frames: ``(frames - 1) // 16`` (no partial
    last snippet), the count of the official XD-Violence features."""
    return max(0, (int(frames) - 1) // XD_SNIPPET_FRAMES)


def xd_official_test_videos() -> tuple[str, ...]:
    """The 800 official test video names (500 violent, 300 ``label_A``), in release order."""
    from importlib.resources import files

    text = (files("vaar.bench") / _XD_LIST).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _official_list_bytes() -> bytes:
    from importlib.resources import files

    return (files("vaar.bench") / _XD_LIST).read_bytes()


def load_xd_truth(path: Path, official: tuple[str, ...] | None = None) -> XDAnnotations:
    """The host's XD-Violence ground truth: ``annotations.txt`` (or its folder) + ``frames.csv``.

    ``official`` is the fixed test set (default: the 800 official names). Any mismatch in the
    host's files is a :class:`ManifestError` naming the file and the videos.
    """
    ann_path = path / "annotations.txt" if path.is_dir() else path
    frames_path = ann_path.parent / XD_FRAMES_FILE
    ann = load_xd_annotations(ann_path)
    names = official if official is not None else xd_official_test_videos()
    frames, frames_raw = _read_frames_csv(frames_path)
    expected = set(names)
    missing = [v for v in names if v not in frames]
    extra = [v for v in frames if v not in expected]
    if missing or extra:
        what = "; ".join(x for x in (
            f"{len(missing)} test video(s) missing ({', '.join(missing[:5])})" if missing else "",
            f"{len(extra)} not in the official test list ({', '.join(extra[:5])})" if extra else "") if x)
        raise ManifestError(f"{frames_path}: {what}; list every official XD-Violence test video "
                            "once (`vaar-bench xd-frames --root XD` measures them)")
    unknown = [v for v in ann.ranges if v not in expected]
    if unknown:
        raise ManifestError(f"{ann_path}: {len(unknown)} annotated video(s) not in the official test list "
                            f"({', '.join(unknown[:5])}); use XD-Violence's annotations.txt")
    unannotated = [v for v in names if XD_NORMAL_MARKER not in v and v not in ann.ranges]
    if unannotated:
        raise ManifestError(f"{ann_path}: {len(unannotated)} violent test video(s) without annotation "
                            f"({', '.join(unannotated[:5])}); use XD-Violence's complete annotations.txt")
    digest = hashlib.sha256()
    for part in (ann_path.read_bytes(), frames_raw, "\n".join(names).encode() if official is not None
                 else _official_list_bytes()):
        digest.update(part + b"\0")
    ordered = {v: frames[v] for v in names}
    return XDAnnotations(ann.ranges, digest.hexdigest(), str(ann_path), ordered)


def _read_frames_csv(path: Path) -> tuple[dict[str, int], bytes]:
    """``video,frames`` rows -> {video: frames}; the host's file, checked strictly."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read the test videos' frame counts ({exc.strerror}); "
                            "make it with `vaar-bench xd-frames --root XD --out XD/frames.csv`") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not UTF-8 text; re-save as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = checked(reader, str(path), ManifestError)
    header = [h.strip() for h in next(rows, [])]
    if header != ["video", "frames"]:
        raise ManifestError(f"{path}: header must be `video,frames` (found {','.join(header) or 'nothing'})")
    out: dict[str, int] = {}
    bad: list[str] = []
    for row in rows:
        if not row or not "".join(row).strip():
            continue
        line = reader.line_num
        if len(row) != 2:
            bad.append(f"line {line}")
            continue
        name, count = row[0].strip().removesuffix(".mp4"), row[1].strip()
        if not count.isdigit() or len(count) > 9 or not name or name in out:
            bad.append(f"line {line}")
            continue
        out[name] = int(count)
    if bad:
        raise ManifestError(f"{path}: malformed or duplicate rows ({', '.join(bad[:5])}); each row is "
                            "`video,frames` with a whole number of frames, each video once")
    return out, raw


def xd_frame_truth(ranges: tuple[tuple[int, int], ...], num_frames: int) -> npt.NDArray[np.int8]:
    """Per-frame 0/1 ground truth of one video, as the official ``make_gt.py`` builds it.

    ``num_frames`` is the number of snippet scores x 16; each annotated ``(start, end)`` marks
    frames ``start .. end-1`` (half-open), clipped to the video's frame count.
    """
    gt = np.zeros(num_frames, dtype=np.int8)
    for start, end in ranges:
        gt[min(start, num_frames): min(end, num_frames)] = 1
    return gt
