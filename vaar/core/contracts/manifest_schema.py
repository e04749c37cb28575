"""The data contracts, defined once.

* :data:`MANIFEST_FIELDS` — ``manifest.parquet``: one row per source row, whatever its fate.
  The Arrow schema (:func:`manifest_schema`) and the ledger both come from this list.
  :func:`validate_manifest` checks a table read from disk against it; the one reader is
  :func:`vaar.core.contracts.manifest_file.read_manifest` (used by ``vaar split`` and ``vaar publish``).
* :func:`published_features` — the published Hugging Face dataset, as data: the
  ``datasets.Features`` (:func:`dataset_features`) and the Arrow schema of its Parquet shards
  (:func:`published_arrow_schema`, which does not import ``datasets``: publishing stays fast)
  come from it.

Statuses: ``ok`` (in the dataset), ``failed`` (a stage broke: download, trim, verify; worth a
``--retry-failed``), ``invalid`` (the source row itself is wrong; fix the CSV), ``rejected``
(the clip was made but is unfit: no audio, silent, frozen, black, out of sync under ``reject``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import pyarrow as pa

if TYPE_CHECKING:
    import datasets

Status = Literal["ok", "failed", "invalid", "rejected"]
AUDIO_SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Field:
    name: str
    type: pa.DataType
    doc: str
    published: bool = False  # also a column of the published HF dataset


_S, _F, _I, _L = pa.string(), pa.float64(), pa.int32(), pa.int64()

MANIFEST_FIELDS: tuple[Field, ...] = (
    # identity
    Field("clip_id", _S, "unique id from the source list; used in file names", True),
    Field("label", _S, "class slug of the taxonomy", False),
    Field("status", _S, "ok | failed | invalid | rejected"),
    Field("error", _S, "why the clip is not ok (null when ok)"),
    Field("stage", _S, "stage that failed: validate | download | trim | verify | sync | quality"),
    Field("source_file", _S, "source list the row came from"),
    Field("source_line", _I, "line number in that file (header is line 1)"),
    # provenance
    Field("url", _S, "source URL as reviewed", True),
    Field("source_id", _S, "groups clips cut from one source video (defaults to the URL)", True),
    Field("license", _S, "the video's licence: a reviewed one (license_reviewed), else the extractor's; null = unknown", True),
    Field("license_source", _S, "where `license` came from: reviewed | extractor | unknown"),
    Field("annotation_source", _S, "where the label came from (a public list, a curator)"),
    Field("annotation_license", _S, "licence of the annotations (never the video's)"),
    Field("notes", _S, "curator notes"),
    Field("extractor", _S, "yt-dlp extractor key"),
    Field("video_id", _S, "extractor's id of the source video"),
    Field("title", _S, "source title"),
    Field("uploader", _S, "source uploader"),
    Field("upload_date", _S, "YYYYMMDD from the extractor"),
    Field("webpage_url", _S, "canonical page of the source"),
    # times
    Field("start", _F, "requested start in the source, seconds", True),
    Field("end", _F, "requested end in the source, seconds", True),
    Field("duration", _F, "measured duration of the clip, seconds", True),
    Field("video_start_time", _F, "video stream start on the presentation timeline, s"),
    Field("audio_start_time", _F, "audio stream start on the presentation timeline, s"),
    # stream facts
    Field("fps", _F, "frame rate of the normalised clip", True),
    Field("width", _I, "width in pixels", True),
    Field("height", _I, "height in pixels", True),
    Field("num_frames", _I, "video frames in the clip"),
    Field("video_codec", _S, "codec of the normalised video"),
    Field("audio_codec", _S, "codec of the normalised video's audio track"),
    Field("sample_rate", _I, "sample rate of the video's audio track"),
    Field("channels", _I, "channels of the video's audio track"),
    Field("precision", _S, "trim precision: accurate | copy"),
    # verification
    Field("av_offset_ms", _F, "estimated audio-video offset, ms, positive = audio late", True),
    Field("sync_confidence", _F, "confidence of the offset estimate in [0, 1]"),
    Field("sync_verdict", _S, "in_sync | out_of_sync | unverifiable | not_checked", True),
    Field("av_offset_ms_before_fix", _F, "offset measured before a `fix` re-mux"),
    Field("silence_fraction", _F, "fraction of audio below the silence threshold"),
    Field("frozen_fraction", _F, "fraction of frames identical to the previous one"),
    Field("black_fraction", _F, "fraction of black frames"),
    Field("dup_group", _S, "near-duplicate group id (clips sharing it are duplicates)", True),
    # media
    Field("video_path", _S, "clip MP4, relative to the build folder"),
    Field("video_sha256", _S, "sha256 of the clip MP4", True),
    Field("video_bytes", _L, "size of the clip MP4"),
    Field("audio_path", _S, "16 kHz mono FLAC, relative to the build folder"),
    Field("audio_sha256", _S, "sha256 of the FLAC"),
    Field("audio_bytes", _L, "size of the FLAC"),
    # reproducibility
    Field("vaar_version", _S, "vaar that made the row"),
    Field("ytdlp_version", _S, "yt-dlp that downloaded the source"),
    Field("ffmpeg_version", _S, "ffmpeg that trimmed and normalised"),
    Field("processed_at", _S, "UTC time the clip finished (ISO 8601)"),
)

MANIFEST_COLUMNS: tuple[str, ...] = tuple(f.name for f in MANIFEST_FIELDS)


def manifest_schema() -> pa.Schema:
    return pa.schema(
        [pa.field(f.name, f.type, metadata={"doc": f.doc}) for f in MANIFEST_FIELDS],
        metadata={"vaar_manifest_version": "1"},
    )


REQUIRED_COLUMNS: tuple[str, ...] = ("clip_id", "label", "status", "source_id")
"""Columns every reader needs; the others may be absent in a manifest of an older vaar."""


def validate_manifest(table: pa.Table, where: str) -> None:
    """Check ``table`` (some or all manifest columns) against :data:`MANIFEST_FIELDS`.

    Raises :class:`~vaar.core.errors.ManifestError` naming the column or row: a known column with
    another Arrow type, a ``status`` outside :data:`Status`, an ``ok`` row without ``clip_id``.
    """
    from vaar.core.errors import ManifestError

    conform_manifest(table, where)
    statuses = get_args(Status)
    if "status" in table.column_names:
        for i, st in enumerate(table.column("status").to_pylist()):
            if st not in statuses:
                raise ManifestError(f"{where} row {i}: status {st!r} is not one of "
                                    f"{', '.join(statuses)}; rebuild it with `vaar build`")


def conform_manifest(table: pa.Table, where: str) -> pa.Table:
    """``table`` with every known column cast to the manifest schema's type.

    A manifest written back by pandas or polars (``large_string``, ``large_list``, other integer
    widths, dictionary-encoded text) is the same manifest: its columns are cast
    (:mod:`vaar.core.contracts.arrow_types`). Only a real mismatch raises
    :class:`~vaar.core.errors.ManifestError`, naming the column.
    """
    from vaar.core.contracts.arrow_types import TypeMismatch, conform, equivalent
    from vaar.core.errors import ManifestError

    types = {f.name: f.type for f in MANIFEST_FIELDS}
    for i, name in enumerate(table.column_names):
        want, got = types.get(name), table.schema.field(name).type
        if want is None or got == want or pa.types.is_null(got):
            continue
        if not equivalent(got, want):
            raise ManifestError(f"{where}: column {name} is {got}, the manifest schema says {want} "
                                "(see vaar/core/contracts/manifest_schema.py); rebuild it with `vaar build`")
        try:
            table = table.set_column(i, pa.field(name, want), conform(table.column(i), want))
        except TypeMismatch as exc:
            raise ManifestError(f"{where}: column {name} {exc}; rebuild it with `vaar build`") from None
    return table


def empty_row() -> dict[str, Any]:
    return {name: None for name in MANIFEST_COLUMNS}


@dataclass(frozen=True)
class PublishedFeature:
    """One column of the published dataset, as data: ``kind`` is a ``datasets`` feature type."""

    name: str
    kind: Literal["Value", "ClassLabel", "Video", "Audio"]
    dtype: str | None = None  # Value only: string | float64 | int32 | int64


_ARROW_TO_VALUE = {_S: "string", _F: "float64", _I: "int32", _L: "int64"}
_MEDIA = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # Video and Audio storage


def published_features() -> tuple[PublishedFeature, ...]:
    """The columns of the published dataset, in order: clip_id, label, video, audio, the facts."""
    head = (PublishedFeature("clip_id", "Value", "string"), PublishedFeature("label", "ClassLabel"),
            PublishedFeature("video", "Video"), PublishedFeature("audio", "Audio"))  # fmt: skip
    facts = tuple(PublishedFeature(f.name, "Value", _ARROW_TO_VALUE[f.type]) for f in MANIFEST_FIELDS
                  if f.published and f.name != "clip_id")  # fmt: skip
    return head + facts


def dataset_features(class_names: tuple[str, ...] | list[str]) -> datasets.Features:
    """Features of the published dataset (:func:`published_features` as ``datasets.Features``)."""
    import datasets

    def feature(f: PublishedFeature) -> Any:
        if f.kind == "ClassLabel":
            return datasets.ClassLabel(names=list(class_names))
        if f.kind == "Audio":
            return datasets.Audio(sampling_rate=AUDIO_SAMPLE_RATE)
        if f.kind == "Video":
            return datasets.Video()
        return datasets.Value(f.dtype)

    return datasets.Features({f.name: feature(f) for f in published_features()})


def published_features_dict(class_names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``dataset_features(class_names).to_dict()``, without importing ``datasets`` (a test
    checks the two agree)."""
    out: dict[str, Any] = {}
    for f in published_features():
        if f.kind == "Value":
            out[f.name] = {"dtype": f.dtype, "_type": "Value"}
        elif f.kind == "ClassLabel":
            out[f.name] = {"names": list(class_names), "_type": "ClassLabel"}
        elif f.kind == "Audio":
            out[f.name] = {"sampling_rate": AUDIO_SAMPLE_RATE, "_type": "Audio"}
        else:
            out[f.name] = {"_type": f.kind}
    return out


def published_arrow_schema(class_names: tuple[str, ...] | list[str]) -> pa.Schema:
    """The Arrow schema of the published Parquet shards, with the ``huggingface`` metadata that
    ``datasets`` reads the features from: ``dataset_features(...).arrow_schema`` plus that
    metadata, without importing ``datasets`` (a test checks the two agree)."""
    import json

    types = {"ClassLabel": pa.int64(), "Video": _MEDIA, "Audio": _MEDIA}
    value = {"string": _S, "float64": _F, "int32": _I, "int64": _L}
    fields = [pa.field(f.name, value[str(f.dtype)] if f.kind == "Value" else types[f.kind])
              for f in published_features()]  # fmt: skip
    meta: dict[bytes | str, bytes | str] = {"huggingface": json.dumps({"info": {"features": published_features_dict(class_names)}})}
    return pa.schema(fields, metadata=meta)


PUBLISHED_FACTS: tuple[str, ...] = tuple(
    f.name for f in MANIFEST_FIELDS if f.published and f.name != "clip_id"
)
