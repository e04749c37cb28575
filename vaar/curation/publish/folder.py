"""``vaar publish``: a manifest (+ a split) → a Hugging Face dataset folder.

::

    manifest.parquet ─┬─ ok rows ─► split (committed --splits DIR, or made here) ─► splits/
    (+ clips/, audio/)└─ media  ─► data/<split>-NNNNN-of-NNNNN.parquet ─► README.md (card)

    DATASET/
      README.md                            dataset card; YAML: configs, dataset_info, licence
      data/<split>-NNNNN-of-NNNNN.parquet  rows with the video and audio bytes embedded
      splits/{train,validation,test}.csv   the split used, with split.json and SHA256SUMS

:func:`publish` reads only the manifest (through :func:`vaar.core.contracts.manifest_file.read_manifest`,
the one reader of that contract) and the media files it points to, relative to the manifest's
folder; every file's sha256 is checked against the manifest. ``vaar build`` (``--publish``, the
default) calls the same function on the manifest it has just written.

``datasets.load_dataset(DATASET)`` loads the folder offline; ``video`` decodes to a torchcodec
``VideoDecoder`` and ``audio`` to 16 kHz samples. Rows go into shards of about ``shard_bytes``
(500 MB default) in small row groups, so memory stays flat. The folder is built under a temporary
name and swapped in at the end: a killed publish leaves the previous dataset intact. When
publishing cannot happen (no ok clip, a split that does not match) the previous folder is moved
aside to ``DATASET.stale`` — an old dataset must not look like the result of this run — and the
error says so.

A build too small to stratify is still published, with the group-only fallback split of
:mod:`vaar.curation.publish.fallback_split` and a warning. Private test labels:
:mod:`vaar.core.contracts.private_split`. ``PublishConfig.hooks`` run on the finished temporary folder before
the swap (extra files such as a datasheet); each gets a :class:`PublishContext`.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vaar.core._util.hashing import sha256_bytes
from vaar.core.contracts import private_split as private
from vaar.core.contracts.manifest_file import read_manifest
from vaar.core.contracts.manifest_schema import PUBLISHED_FACTS, published_arrow_schema
from vaar.core.contracts.sums import SUMS_FILE, render_sums
from vaar.core.csvsafe import csv_bytes
from vaar.core.errors import ConfigError, ManifestError
from vaar.core.taxonomy import Taxonomy, default_taxonomy
from vaar.curation.licences import describe, licence_facts, licence_family
from vaar.curation.publish import fallback_split
from vaar.curation.publish.card import CardFacts, render_card
from vaar.curation.publish.croissant import write_croissant
from vaar.curation.publish.datasheet import write_datasheet
from vaar.curation.publish.private_sources import assign_with_test, check_test_sources, test_clips
from vaar.curation.publish.release import ReleaseInfo, resolve_version
from vaar.curation.split import (
    PARAMS_FILE,
    SPLITS,
    SplitItem,
    SplitParams,
    assign_splits,
    compare_to_build,
    load_split_items,
    read_manifest_clips,
    read_split_dir,
    render_split_files,
    split_digest,
    write_files,
)

ROW_GROUP_BYTES = 64 << 20
MEDIA_COLUMNS: tuple[str, ...] = (
    "clip_id", "label", "status", "duration", "video_path", "video_sha256", "video_bytes",
    "audio_path", "audio_sha256", "audio_bytes",
)  # fmt: skip
HIDDEN_ON_PRIVATE_TEST: tuple[str, ...] = ("url", "start", "end", "video_sha256", "av_offset_ms")
"""Published facts blanked for private test clips: they lead back to the source (url, span), or let
an attacker who rebuilds a candidate row match it to an opaque id (the clip's hash, its measured
offset). ``duration`` is rounded to whole seconds (:data:`PRIVATE_DURATION_STEP`); source ids and
duplicate groups become opaque; title, uploader, sizes and the audio hash are never published."""
PRIVATE_DURATION_STEP = 1.0


@dataclass(frozen=True)
class PublishContext:
    """What a hook sees: the temporary folder (swapped in after the hooks), and the result."""

    folder: Path
    manifest: Path
    config: PublishConfig
    result: PublishResult


PublishHook = Callable[[PublishContext], None]


@dataclass(frozen=True)
class PublishConfig:
    ratios: tuple[float, float, float] = (0.7, 0.1, 0.2)
    seed: int = 0
    shard_bytes: int = 500 << 20
    private_test_labels: Path | None = None  # publish test without labels, write them here
    host_secret_file: Path | None = None  # else $VAAR_HOST_SECRET; needed with private labels
    public_sources: tuple[Path, ...] = ()  # lists anyone can read: no private test clip may come from them
    test_sources: tuple[Path, ...] = ()  # the two-list workflow: test = the clips of these (host-only) lists
    name: str = "VAAR"
    license: str = "other"
    citation: str | None = None  # BibTeX for the card, croissant.json and DATASHEET.md
    version: str | None = None  # dataset version; None: from the split (vaar.curation.publish.release)
    homepage: str | None = None
    croissant_validated: Path | None = None  # croissant.json documents already checked (vaar build: DIR/cache)
    licenses: frozenset[str] | None = None  # publish only clips whose video licence family is here (licences.py)
    hooks: tuple[PublishHook, ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class PublishResult:
    folder: Path
    counts: dict[str, int]
    split_sha256: dict[str, str]
    not_ok_in_splits: tuple[str, ...]
    not_in_splits: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    test_identity: str | None = None  # HMAC identity of a private test split


def publish(
    manifest_path: Path,
    splits_dir: Path | None,
    out_dir: Path,
    options: PublishConfig = PublishConfig(),
    *,
    taxonomy: Taxonomy | None = None,
) -> PublishResult:
    """Write the dataset folder ``out_dir`` from the ``ok`` clips of ``manifest_path``.

    ``splits_dir``: a committed split folder (verified against its ``SHA256SUMS``) to use as it
    is; ``None`` makes a split with ``options.ratios`` and ``options.seed``. Raises
    :class:`ConfigError` for unusable options and :class:`ManifestError` when the manifest or
    split cannot be published (the previous ``out_dir`` is then moved to ``<out_dir>.stale``).
    """
    tax = taxonomy or default_taxonomy()
    secret = private.load_secret(options.host_secret_file) if options.private_test_labels else None
    # a mistyped path is a plain input error; the old dataset is retired only when the inputs
    # exist and still cannot be published
    if not Path(manifest_path).is_file():
        raise ManifestError(f"{manifest_path}: no such manifest; pass the manifest.parquet written by `vaar build`")
    _check_out(Path(manifest_path), Path(out_dir))
    labels = options.private_test_labels
    if labels is not None and Path(labels).resolve().is_relative_to(Path(out_dir).resolve()):
        raise ConfigError(f"--private-test-labels {labels}: inside the published folder {out_dir}; "
                          "keep the host's labels outside it (e.g. host/test_labels.csv)")
    if splits_dir is not None and not Path(splits_dir).is_dir():
        raise ManifestError(f"{splits_dir}: no such split folder; make one with `vaar split MANIFEST --out DIR`")
    try:
        return _publish(Path(manifest_path), splits_dir, Path(out_dir), options, tax, secret)
    except ManifestError as exc:
        moved = retire(Path(out_dir))
        note = f"; the previous {out_dir} was moved to {moved} so it does not look current" if moved else ""
        raise ManifestError(f"{exc}{note}") from None


def _check_out(manifest: Path, out: Path) -> None:
    """``out`` is replaced as a whole: it must not hold the build, and must be a dataset folder."""
    if manifest.resolve().is_relative_to(out.resolve()):
        raise ConfigError(f"--out {out}: holds the manifest {manifest}; the dataset folder is replaced "
                          "as a whole — publish into a folder of its own (e.g. build/dataset)")
    if out.is_dir() and any(out.iterdir()) and not ((out / "README.md").is_file() and (out / "data").is_dir()):
        raise ConfigError(f"--out {out}: an existing folder that is not a published dataset (no README.md "
                          "and data/); it would be replaced — pick a new or empty folder")


def retire(out: Path) -> Path | None:
    """Move an existing dataset folder aside (atomically) to ``<out>.stale``; returns where."""
    if not out.exists():
        return None
    stale = out.with_name(f"{out.name}.stale")
    shutil.rmtree(stale, ignore_errors=True)
    os.replace(out, stale)
    return stale


def _publish(
    manifest: Path, splits_dir: Path | None, out: Path, cfg: PublishConfig, tax: Taxonomy, secret: bytes | None
) -> PublishResult:
    items = load_split_items(manifest, tax, clips=read_manifest_clips(manifest))
    if not items:
        raise ManifestError(f"{manifest}: no clip has status ok, nothing to publish; see the "
                            "manifest's error column (or the build summary) for why")
    if cfg.test_sources and splits_dir is not None:
        raise ConfigError("--test-sources and --splits both choose the test split; pass one of them")
    fixed = test_clips(manifest, cfg.test_sources) if cfg.test_sources else None
    assignment, not_ok, not_in_splits, fallback = (_split(items, splits_dir, cfg) if fixed is None
                                                   else (assign_with_test(items, fixed, cfg.ratios, cfg.seed), [], [], None))
    if cfg.licenses is not None:  # after the split: a clip keeps its split in the filtered release
        assignment = _only_licences(manifest, assignment, cfg.licenses)
    items = [it for it in items if it.clip_id in assignment]
    rows = _media_rows(manifest)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)
    try:
        private_test = cfg.private_test_labels is not None and secret is not None
        if private_test:  # the two-list workflow: a hidden test set's sources are in no public list
            test_ids = {c for c, s in assignment.items() if s == "test"}
            check_test_sources([r for r in read_manifest(manifest, ["clip_id", "source_file", "url", "start", "end"])
                                .to_pylist() if r["clip_id"] in test_ids], cfg.public_sources)
        pub_id = _public_ids(items, assignment, secret if private_test else None)
        sums = _write_splits(items, assignment, pub_id, tmp / "splits", cfg, fallback, secret)
        release = ReleaseInfo(cfg.license, cfg.citation, cfg.version, cfg.homepage)
        version = resolve_version(release, split_digest(tmp / "splits"))
        identity = None
        if private_test:
            identity = _write_private_labels(items, assignment, pub_id, cfg.private_test_labels, secret,  # type: ignore[arg-type]
                                             version)  # fmt: skip
        counts, per_class, seconds = _write_data(tmp / "data", items, assignment, pub_id, rows, manifest,
                                                 tax, cfg, secret if private_test else None)
        data_bytes = {s: sum(p.stat().st_size for p in (tmp / "data").glob(f"{s}-*.parquet")) for s in SPLITS}
        release_rows = _release_rows(manifest, assignment)
        facts = CardFacts(cfg.name, cfg.license, cfg.seed, counts, data_bytes, per_class, seconds, sums,
                          private_test, identity, fallback, version, cfg.homepage, cfg.citation,
                          licence_facts(release_rows, cfg.licenses))  # fmt: skip
        (tmp / "README.md").write_text(render_card(facts, tax), encoding="utf-8")
        write_croissant(tmp, release_rows, release, name=cfg.name, version=version, taxonomy=tax,
                        validated=cfg.croissant_validated)  # fmt: skip
        write_datasheet(tmp, release_rows, release, name=cfg.name, version=version, taxonomy=tax,
                        private_test=private_test)  # fmt: skip
        warnings = (fallback,) if fallback else ()
        result = PublishResult(out, counts, sums, tuple(not_ok), tuple(not_in_splits), warnings, identity)
        for hook in cfg.hooks:
            hook(PublishContext(tmp, manifest, cfg, result))
        _swap(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _split(
    items: list[SplitItem], splits_dir: Path | None, cfg: PublishConfig
) -> tuple[dict[str, str], list[str], list[str], str | None]:
    """(assignment, clips of the split not ok here, ok clips in no split, fallback reason)."""
    if splits_dir is not None:
        committed = read_split_dir(splits_dir)
        missing, unsplit = compare_to_build(committed, (it.clip_id for it in items))
        gone = set(missing)
        assignment = {c: s for c, s in committed.items() if c not in gone}
        if not assignment:
            raise ManifestError(f"{splits_dir}: none of its clips is ok in the manifest; "
                                "publish with the split made for this manifest (`vaar split`)")
        return assignment, missing, unsplit, None
    fallback = fallback_split.needs_fallback(items, cfg.ratios)
    if fallback:
        return fallback_split.assign_unstratified(items, cfg.ratios, cfg.seed), [], [], fallback
    return assign_splits(items, ratios=cfg.ratios, seed=cfg.seed), [], [], None


def _public_ids(items: list[SplitItem], assignment: dict[str, str], secret: bytes | None) -> dict[str, str]:
    """Published clip id of every clip: itself, or opaque for a private test clip."""
    out = {it.clip_id: it.clip_id for it in items}
    if secret is not None:
        for it in items:
            if assignment[it.clip_id] == "test":
                out[it.clip_id] = private.opaque_id(secret, it.clip_id)
        if len(set(out.values())) != len(out):
            raise ManifestError("opaque test ids collide with published ids; rename the clashing clip")
    return out


def _write_splits(
    items: list[SplitItem],
    assignment: dict[str, str],
    pub_id: dict[str, str],
    folder: Path,
    cfg: PublishConfig,
    fallback: str | None,
    secret: bytes | None,
) -> dict[str, str]:
    listed = []
    for it in items:
        if pub_id[it.clip_id] != it.clip_id and secret is not None:  # a private test clip
            it = SplitItem(pub_id[it.clip_id], "", private.opaque_group(secret, it.source_id), None)
        listed.append(it)
    public = {pub_id[c]: s for c, s in assignment.items()}
    if fallback:
        files = render_split_files(listed, public, params=None)
        files.pop(SUMS_FILE)
        files[PARAMS_FILE] = fallback_split.params_json(cfg.ratios, cfg.seed)
        files[SUMS_FILE] = render_sums({n: sha256_bytes(b) for n, b in files.items()}).encode("utf-8")
    else:
        files = render_split_files(listed, public, params=SplitParams(cfg.ratios, cfg.seed))
    return write_files(folder, files)


def _write_private_labels(
    items: list[SplitItem],
    assignment: dict[str, str],
    pub_id: dict[str, str],
    path: Path,
    secret: bytes,
    version: str,
) -> str:
    """Write ``opaque id,label,dataset_version`` of the test clips to ``path`` (host only); returns
    the identity. The version rides along, so an entry scored on these labels records it."""
    test = sorted((pub_id[it.clip_id], it.label) for it in items if assignment[it.clip_id] == "test")
    data = csv_bytes(("clip_id", "label", "dataset_version"), ((c, lab, version) for c, lab in test))
    path.parent.mkdir(parents=True, exist_ok=True)
    # host only: mkstemp makes the file 0600 from the start (not vaar.core._util.atomic, which shares 0644)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{os.getpid()}", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return private.split_identity(secret, data)


def _only_licences(manifest: Path, assignment: dict[str, str], families: frozenset[str]) -> dict[str, str]:
    """The clips of ``assignment`` whose video licence family is one of ``families``."""
    table = read_manifest(manifest, ["clip_id", "license"])
    family = dict(zip(table.column("clip_id").to_pylist(),
                      map(licence_family, table.column("license").to_pylist()), strict=True))  # fmt: skip
    kept = {c: s for c, s in assignment.items() if family.get(c, "unknown") in families}
    if not kept:
        found = describe(Counter(family.get(c, "unknown") for c in assignment))
        raise ManifestError(f"{manifest}: no clip's video licence is in --licenses {','.join(sorted(families))} "
                            f"(the clips' licences: {found}); nothing to publish")  # fmt: skip
    return kept


def _release_rows(manifest: Path, assignment: Mapping[str, str]) -> list[dict[str, Any]]:
    """Manifest rows for croissant.json and DATASHEET.md: every row's facts, no media bytes; ok
    clips that this split leaves out are not counted as published."""
    rows = read_manifest(manifest).to_pylist()
    return [r for r in rows if r.get("status") != "ok" or r["clip_id"] in assignment]


class _MediaRows:
    """The manifest's ok rows (metadata only, no media) with a clip_id index."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self._index = {c: i for i, c in enumerate(table.column("clip_id").to_pylist())}

    def get_many(self, clip_ids: list[str]) -> list[dict[str, Any]]:
        """Rows of ``clip_ids``, in that order (one Arrow ``take``: a few hundred at a time)."""
        return self._table.take(pa.array([self._index[c] for c in clip_ids], pa.int64())).to_pylist()

    def media_bytes(self, clip_id: str) -> int:
        i = self._index[clip_id]
        v, a = self._table.column("video_bytes")[i].as_py(), self._table.column("audio_bytes")[i].as_py()
        return int(v or 0) + int(a or 0)


def _media_rows(manifest: Path) -> _MediaRows:
    cols = list(dict.fromkeys([*MEDIA_COLUMNS, *PUBLISHED_FACTS]))
    table = read_manifest(manifest, cols)
    return _MediaRows(table.filter(pc.equal(table.column("status"), pa.scalar("ok"))))


def _media(build_dir: Path, manifest: Path, row: dict[str, Any], kind: str) -> bytes:
    rel = row.get(f"{kind}_path") or ""
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel:
        raise ManifestError(f"{manifest}: clip {row['clip_id']}: {kind}_path {rel!r} is not a path inside "
                            "the build folder; rebuild the manifest with `vaar build`")
    path = build_dir / p
    try:
        data = path.read_bytes()
    except OSError:
        raise ManifestError(f"{path}: missing (clip {row['clip_id']} of {manifest}); rerun `vaar build` "
                            "to remake it") from None
    want = row.get(f"{kind}_sha256")
    if want and sha256_bytes(data) != want:
        raise ManifestError(f"{path}: sha256 differs from {manifest} (clip {row['clip_id']}); the file "
                            "changed after the build — rerun `vaar build` to remake it")
    return data


def _write_data(
    folder: Path,
    items: list[SplitItem],
    assignment: dict[str, str],
    pub_id: dict[str, str],
    rows: _MediaRows,
    manifest: Path,
    tax: Taxonomy,
    cfg: PublishConfig,
    secret: bytes | None,
) -> tuple[dict[str, int], dict[str, dict[str, int]], dict[str, float]]:
    schema = published_arrow_schema(tax.slugs)  # with the features datasets reads back
    counts: dict[str, int] = {}
    per_class: dict[str, Counter[str]] = defaultdict(Counter)
    seconds: dict[str, float] = defaultdict(float)
    for split in SPLITS:
        # sorted by published id: a private test split's order says nothing about its clips
        ids = sorted((it.clip_id for it in items if assignment[it.clip_id] == split), key=lambda c: pub_id[c])
        counts[split] = len(ids)
        if not ids:  # an empty split has no data file and no entry in the card's configs
            continue
        total = sum(rows.media_bytes(c) for c in ids)
        n_shards = max(1, math.ceil(total / cfg.shard_bytes))
        per_shard = math.ceil(len(ids) / n_shards)
        hide = secret if split == "test" else None
        for k in range(n_shards):
            chunk = ids[k * per_shard : (k + 1) * per_shard]
            path = folder / f"{split}-{k:05d}-of-{n_shards:05d}.parquet"
            with pq.ParquetWriter(path, schema) as writer:
                batch: list[dict[str, Any]] = []
                batch_bytes = 0
                for clip_id, r in _batched_rows(rows, chunk):
                    row = _row(r, pub_id[clip_id], manifest, tax, hide)
                    batch.append(row)
                    batch_bytes += len(row["video"]["bytes"]) + len(row["audio"]["bytes"])
                    per_class[split][r["label"]] += 1
                    seconds[split] += float(r.get("duration") or 0.0)
                    if batch_bytes >= ROW_GROUP_BYTES:
                        writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                        batch, batch_bytes = [], 0
                if batch:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    return counts, {s: dict(per_class[s]) for s in SPLITS}, dict(seconds)


def _batched_rows(rows: _MediaRows, ids: list[str], n: int = 256) -> Iterator[tuple[str, dict[str, Any]]]:
    for k in range(0, len(ids), n):
        part = ids[k : k + n]
        yield from zip(part, rows.get_many(part), strict=True)


def _row(r: dict[str, Any], pub: str, manifest: Path, tax: Taxonomy, secret: bytes | None) -> dict[str, Any]:
    build_dir = manifest.parent  # media paths are relative to the manifest's folder
    row: dict[str, Any] = {
        "clip_id": pub,
        "label": -1 if secret is not None else tax.index(r["label"]),
        "video": {"bytes": _media(build_dir, manifest, r, "video"), "path": f"{pub}.mp4"},
        "audio": {"bytes": _media(build_dir, manifest, r, "audio"), "path": f"{pub}.flac"},
    }
    for name in PUBLISHED_FACTS:
        row.setdefault(name, r.get(name))
    if secret is not None:  # a private test clip: nothing that leads back to its source
        for name in HIDDEN_ON_PRIVATE_TEST:
            row[name] = None
        if isinstance(row.get("duration"), (int, float)):
            row["duration"] = float(round(row["duration"] / PRIVATE_DURATION_STEP) * PRIVATE_DURATION_STEP)
        row["source_id"] = private.opaque_group(secret, r.get("source_id"))
        row["dup_group"] = private.opaque_group(secret, r.get("dup_group"))
    return row


def _swap(tmp: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}.old{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(out.with_name(f"{out.name}.stale"), ignore_errors=True)  # a fresh dataset is current
