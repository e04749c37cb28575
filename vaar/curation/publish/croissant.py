"""``croissant.json``: Croissant 1.0 metadata of a published dataset folder, with the RAI fields.

Croissant (MLCommons) is the JSON-LD description that dataset hubs and the NeurIPS Datasets and
Benchmarks track read: what the files are (``distribution``, with sha256), what a record holds
(``recordSet``: the Parquet columns, ``label`` referencing the class list) and the
Responsible-AI vocabulary (``rai:dataCollection``, ``rai:dataBiases``, ...), filled here from the
build. The document is written as plain JSON (no dependency) and, when ``mlcroissant`` is
installed (``pip install 'vaar[release]'``; the dev install has it), checked with
``mlcroissant.Dataset(jsonld=...)``: an error there stops the publish.

The check costs about 0.6 s (mostly mlcroissant's import). A ``validated`` file (``vaar build``
keeps one in its ``cache/``) lists the documents that passed, by the sha256 of their bytes and
the mlcroissant version that checked them: a rerun whose document is byte-identical and whose
validator is the same skips the repeat; any other document is checked.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vaar.core._util.atomic import atomic_write_text
from vaar.core._util.hashing import sha256_bytes, sha256_file
from vaar.core.contracts.manifest_schema import MANIFEST_FIELDS, PUBLISHED_FACTS
from vaar.core.errors import ManifestError, MissingDependencyError
from vaar.core.taxonomy import Taxonomy
from vaar.curation.licences import annotation_licence_counts, describe, video_licence_counts
from vaar.curation.publish.release import ReleaseInfo

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "dct": "http://purl.org/dc/terms/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
_TYPES = {"string": "sc:Text", "double": "sc:Float", "int32": "sc:Integer", "int64": "sc:Integer"}


def write_croissant(
    folder: Path,
    rows: Sequence[Mapping[str, Any]],
    release: ReleaseInfo,
    *,
    name: str,
    version: str,
    taxonomy: Taxonomy,
    validate: bool = True,
    validated: Path | None = None,
) -> Path:
    """Write ``folder/croissant.json`` for the dataset folder (its ``data/`` and ``splits/``);
    ``validated``: the file of documents already checked (see the module docstring)."""
    doc = croissant_document(folder, rows, release, name=name, version=version, taxonomy=taxonomy)
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if validate:
        key = _validation_key(text)
        if key is None or validated is None or key not in _read_keys(validated):
            problems = validate_croissant(doc)
            if problems:
                raise ManifestError(f"{folder}/croissant.json does not validate: {problems[0]}")
            if key is not None and validated is not None:
                _remember(validated, key)
    path = folder / "croissant.json"
    atomic_write_text(path, text)
    return path


_KEPT_KEYS = 64


def _validation_key(text: str) -> str | None:
    """``mlcroissant-<version> <sha256 of the document>``; None when mlcroissant is absent."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        checker = version("mlcroissant")
    except PackageNotFoundError:
        return None
    return f"mlcroissant-{checker} {sha256_bytes(text.encode('utf-8'))}"


def _read_keys(validated: Path) -> set[str]:
    try:
        return set(validated.read_text(encoding="utf-8").splitlines())
    except OSError:
        return set()


def _remember(validated: Path, key: str) -> None:
    """Add ``key`` (the last ``_KEPT_KEYS`` are kept); a folder that cannot be written is no error."""
    try:
        keys = [k for k in validated.read_text(encoding="utf-8").splitlines() if k != key]
    except OSError:
        keys = []
    try:
        validated.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(validated, "\n".join([*keys[-(_KEPT_KEYS - 1):], key]) + "\n")
    except OSError:
        pass


def _publication_date() -> str:
    """Today (UTC), or the day of ``SOURCE_DATE_EPOCH`` when set (reproducible releases)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch.isdigit() else datetime.now(timezone.utc)
    return when.date().isoformat()


def validate_croissant(doc: Mapping[str, Any]) -> list[str]:
    """mlcroissant's own check; returns its errors (empty: valid). Skipped when not installed."""
    try:
        import mlcroissant as mlc
    except ImportError:
        return []
    try:  # a deep copy: mlcroissant adds keys (an "@base") to the document it is given
        mlc.Dataset(jsonld=copy.deepcopy(dict(doc)))
    except mlc.ValidationError as exc:
        return [line.strip() for line in str(exc).splitlines() if line.strip().startswith("-")] or [str(exc)]
    return []


def require_mlcroissant() -> None:
    try:
        import mlcroissant  # noqa: F401
    except ImportError:
        raise MissingDependencyError("mlcroissant is not installed: pip install 'vaar[release]'") from None


def croissant_document(
    folder: Path, rows: Sequence[Mapping[str, Any]], release: ReleaseInfo, *, name: str, version: str,
    taxonomy: Taxonomy,
) -> dict[str, Any]:  # fmt: skip
    ok = [r for r in rows if r.get("status") == "ok"]
    shards = sorted((folder / "data").glob("*.parquet"))
    splits = sorted((folder / "splits").glob("*.csv"))
    distribution: list[dict[str, Any]] = []
    for p in [*shards, *splits]:
        rel = p.relative_to(folder).as_posix()
        distribution.append({
            "@type": "cr:FileObject", "@id": rel, "name": rel, "contentUrl": rel,
            "contentSize": f"{p.stat().st_size} B",
            "encodingFormat": "application/x-parquet" if p.suffix == ".parquet" else "text/csv",
            "sha256": sha256_file(p),
        })  # fmt: skip
    distribution.append({
        "@type": "cr:FileSet", "@id": "parquet-shards", "name": "parquet-shards",
        "description": "All Parquet shards, data/<split>-NNNNN-of-NNNNN.parquet; the split is in the file name.",
        "encodingFormat": "application/x-parquet", "includes": "data/*.parquet",
    })  # fmt: skip
    field_types = {f.name: _TYPES.get(str(f.type), "sc:Text") for f in MANIFEST_FIELDS}
    docs = {f.name: f.doc for f in MANIFEST_FIELDS}

    def column(col: str, dtype: str, description: str, **extra: Any) -> dict[str, Any]:
        return {
            "@type": "cr:Field", "@id": f"clips/{col}", "name": col, "description": description,
            "dataType": dtype, "source": {"fileSet": {"@id": "parquet-shards"}, "extract": {"column": col}},
            **extra,
        }  # fmt: skip

    fields = [
        column("clip_id", "sc:Text", docs["clip_id"]),
        column("label", "sc:Integer", "class index into the `classes` record set (-1: label withheld)",
               references={"field": {"@id": "classes/index"}}),  # fmt: skip
        column("video", "sc:VideoObject", "the clip: H.264 + AAC MP4, 25 fps; Parquet struct {bytes, path}"),
        column("audio", "sc:AudioObject", "its audio: 16 kHz mono FLAC; Parquet struct {bytes, path}"),
    ]
    fields += [column(n, field_types.get(n, "sc:Text"), docs.get(n, n)) for n in PUBLISHED_FACTS]
    classes = {
        "@type": "cr:RecordSet", "@id": "classes", "name": "classes",
        "description": "The VAAR taxonomy: the label index, slug, name and definition of each class.",
        "key": {"@id": "classes/index"},
        "field": [
            {"@type": "cr:Field", "@id": f"classes/{k}", "name": k, "dataType": t}
            for k, t in (("index", "sc:Integer"), ("slug", "sc:Text"), ("name", "sc:Text"), ("definition", "sc:Text"))
        ],
        "data": [
            {"classes/index": i, "classes/slug": c.slug, "classes/name": c.name, "classes/definition": c.definition}
            for i, c in enumerate(taxonomy.classes)
        ],
    }  # fmt: skip
    clips = {"@type": "cr:RecordSet", "@id": "clips", "name": "clips",
             "description": "One record per published clip.", "key": {"@id": "clips/clip_id"}, "field": fields}  # fmt: skip
    doc: dict[str, Any] = {
        "@context": dict(CONTEXT),
        "@type": "sc:Dataset",
        "name": name,
        "description": (
            f"{name}: audio-visual anomaly recognition clips in {len(taxonomy.slugs)} classes, each cut from "
            "a public video, normalised and verified (streams, duration, audio-video sync, quality) by vaar."
        ),
        "conformsTo": CONFORMS_TO,
        "version": version,
        "datePublished": _publication_date(),
        "license": release.license_url() or release.license,
        "keywords": ["audio-visual", "anomaly detection", "video classification", "audio classification"],
        "isLiveDataset": False,
        "distribution": distribution,
        "recordSet": [classes, clips],
        **rai_fields(ok, rows),
    }
    if release.citation:
        doc["citeAs"] = release.citation
    if release.homepage:
        doc["url"] = release.homepage
    return doc


def rai_fields(ok: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The Responsible-AI fields, with the numbers of this build."""
    status = Counter(str(r.get("status")) for r in rows)
    verdicts = Counter(str(r.get("sync_verdict") or "not_checked") for r in ok)
    lic, ann = video_licence_counts(ok), annotation_licence_counts(ok)
    dates = sorted(str(r["upload_date"]) for r in ok if r.get("upload_date"))
    timeframe = [_iso(dates[0]), _iso(dates[-1])] if dates else []
    return {
        "rai:dataCollection": (
            "Clips are cut from public online videos listed in reviewed source lists (clip_id, url, start, end, "
            "label); candidates come from public metadata (e.g. VGGSound/VGGSounder annotations) and each "
            "row is accepted, trimmed or rejected by a curator in `vaar review`. yt-dlp downloads the spans, "
            f"ffmpeg trims them frame-accurately. This build: {status.get('ok', 0)} ok, {status.get('failed', 0)} "
            f"failed, {status.get('invalid', 0)} invalid, {status.get('rejected', 0)} rejected rows."
        ),
        "rai:dataCollectionType": ["Web Scraping", "Manual Human Curation"],
        "rai:dataCollectionTimeframe": timeframe,
        "rai:dataCollectionMissingData": (
            "Rows whose source is gone, private or unreadable are `failed`; the manifest in the build folder keeps "
            "every row with its reason. Videos can disappear after publication (`vaar audit` checks)."
        ),
        "rai:dataPreprocessingProtocol": [
            "Re-encoded to H.264 + AAC MP4 at 25 fps, short side at most 360 px; 16 kHz mono FLAC",
            "Verified: both streams present, duration within one frame of the requested span",
            "Audio-video offset estimated from onsets; sync verdict per clip "
            + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())),
            "Silent, frozen and black clips rejected; near-duplicates grouped (dup_group) and kept in one split",
        ],
        "rai:dataAnnotationProtocol": (
            "One label per clip from the taxonomy's class definitions; a curator watches and hears each clip "
            "and accepts, relabels, trims or rejects it. Two curators' decisions can be compared with "
            "`vaar review --agreement` (Cohen's kappa)."
        ),
        "rai:dataAnnotationPlatform": "vaar review (local web page)",
        "rai:annotationsPerItem": "1",
        "rai:dataBiases": (
            "Sources are online videos found through public annotation sets and searches: they over-represent "
            "events that people film and upload (e.g. sirens, fireworks) and regions, languages and camera types "
            "common online; staged or compilation footage may occur. Class balance follows what was found."
        ),
        "rai:dataLimitations": (
            "Labels are per clip, not per frame; clips are short (seconds). Some classes (abuse, intruder, "
            "vandalism) have few public audio-visual sources. Sources may be removed, so a rebuild can be smaller. "
            f"Video licences (per clip, as the video's page or a reviewer stated them): {describe(lic)}; "
            "unknown means none was stated: not redistributable by default. "
            f"Annotation licences (where the labels came from, not the videos): {describe(ann)}."
        ),
        "rai:dataUseCases": (
            "Benchmarking audio-visual classification and anomaly detection (vaar-bench). Not for identifying, "
            "tracking or profiling people, nor for automated decisions about individuals."
        ),
        "rai:dataSocialImpact": (
            "Helps build systems that notice emergencies from sound and picture; the same systems could be used "
            "for surveillance. Clips may show real harm and distressing events."
        ),
        "rai:personalSensitiveInformation": (
            "Clips may show faces, voices, licence plates and places of people who did not consent to this use; "
            "the source title and uploader are kept in the build manifest for provenance, not in the media."
        ),
        "rai:dataReleaseMaintenancePlan": (
            "Splits are versioned (splits/vN, SHA256SUMS) and never edited in place; a new release gets a new "
            "version. Takedown requests remove rows (`vaar build --exclude`)."
        ),
    }


def _iso(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]}" if len(yyyymmdd) == 8 else yyyymmdd
