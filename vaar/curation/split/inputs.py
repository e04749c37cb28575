"""The manifest as the splitter reads it: the needed columns of every row, validated items."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from vaar.core.contracts.split_params import MANIFEST_COLUMNS_NEEDED, SplitItem
from vaar.core.errors import ManifestError
from vaar.core.taxonomy import Taxonomy, default_taxonomy

# ----------------------------------------------------------------------------- manifest


class ManifestClip(NamedTuple):
    """The columns of one manifest row that splitting and checking use."""

    clip_id: str
    label: str | None
    status: str | None
    source_id: str | None
    dup_group: str | None
    row: int
    source_file: str | None
    source_line: int | None
    uploader: str | None = None  # ``extractor:uploader`` when the manifest records an uploader

    @property
    def origin(self) -> str:
        """Where to fix the row: ``<source file> line <n>`` when recorded, else its row index."""
        if self.source_file and self.source_line:
            return f"{self.source_file} line {self.source_line}"
        return f"row {self.row}"


def read_manifest_clips(manifest: str | Path) -> list[ManifestClip]:
    """Every row of ``manifest.parquet`` with the columns the splitter needs.

    Read through :func:`vaar.core.contracts.manifest_file.read_manifest` (the one manifest reader): raises
    :class:`ManifestError` for a missing file, a file that is not Parquet, a missing needed column
    (``clip_id``, ``label``, ``status``, ``source_id``; ``dup_group`` is optional), a column of the
    wrong type or an unknown status.
    """
    from vaar.core.contracts.manifest_file import read_manifest

    table = read_manifest(manifest, [*MANIFEST_COLUMNS_NEEDED, "dup_group", "source_file", "source_line",
                                     "extractor", "uploader"], required=MANIFEST_COLUMNS_NEEDED)
    n = table.num_rows
    names = set(table.column_names)

    def col(name: str) -> list[Any]:  # Arrow strings (ints for source_line) or None
        return table.column(name).to_pylist() if name in names else [None] * n

    cid, label, status, source, dup = (col(c) for c in (*MANIFEST_COLUMNS_NEEDED, "dup_group"))
    sfile, sline = col("source_file"), col("source_line")
    up = [f"{ex or 'unknown'}:{u}" if u else None for ex, u in zip(col("extractor"), col("uploader"), strict=True)]
    return [ManifestClip(c if c is not None else "", la, st, so, du, i, sf, sl, u)
            for i, (c, la, st, so, du, sf, sl, u) in enumerate(
                zip(cid, label, status, source, dup, sfile, sline, up, strict=True))]


def load_split_items(
    manifest: str | Path,
    taxonomy: Taxonomy | None = None,
    *,
    clips: Sequence[ManifestClip] | None = None,
) -> list[SplitItem]:
    """The ``status == 'ok'`` rows of ``manifest.parquet`` as :class:`SplitItem` s, validated.

    Every error names the manifest, the clip and, where the manifest records it, the source-list
    line to fix. ``clips`` (from :func:`read_manifest_clips`) saves reading ``manifest`` again;
    ``manifest`` then only names it in messages.
    """
    tax = taxonomy if taxonomy is not None else default_taxonomy()
    valid = set(tax.slugs)
    where = str(manifest)
    items: list[SplitItem] = []
    seen: dict[str, str] = {}
    for mc in clips if clips is not None else read_manifest_clips(manifest):
        if mc.status != "ok":
            continue
        if not mc.clip_id:
            raise ManifestError(f"{where} {mc.origin}: ok row without clip_id; rebuild the manifest")
        if mc.clip_id in seen:
            raise ManifestError(f"{where}: clip_id {mc.clip_id!r} appears twice ({seen[mc.clip_id]}, "
                                f"{mc.origin}); clip ids must be unique — fix the source list")
        seen[mc.clip_id] = mc.origin
        if mc.label not in valid:
            raise ManifestError(f"{where}: clip {mc.clip_id} ({mc.origin}) has unknown label "
                                f"{mc.label!r}; use one of {', '.join(tax.slugs)} in the source list")
        items.append(SplitItem(mc.clip_id, str(mc.label), mc.source_id or None, mc.dup_group or None, mc.uploader))
    return items


