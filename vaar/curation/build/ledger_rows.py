"""The ledger rows a clip's outcome becomes: the row of a source row, of a page's facts, of a failure,
and of a row the validation refused. Text that came from a server is stripped of control characters
before it reaches the manifest (a terminal or spreadsheet shows it later)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from vaar.core.contracts.manifest_schema import empty_row
from vaar.core.contracts.source_list import InvalidRow, SourceRow
from vaar.core.errors import StageError
from vaar.core.textsafe import strip_controls
from vaar.curation.licences import video_license


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def base_row(r: SourceRow, versions: dict[str, str]) -> dict[str, Any]:
    row = empty_row()
    row.update(
        clip_id=r.clip_id,
        label=r.label,
        source_file=r.source_file,
        source_line=r.source_line,
        url=r.url,
        source_id=r.source_id,
        license=r.reviewed_license,
        license_source="reviewed" if r.license_reviewed else None,  # else: set once the page is read
        annotation_source=r.annotation_source,
        annotation_license=r.annotation_license,
        notes=r.notes,
        start=r.start,
        end=r.end,
        sync_verdict="not_checked",
        processed_at=now(),
        **versions,
    )
    return row


def manifest_text(value: Any) -> str | None:
    """A server's text for the manifest: no escape sequences or control characters."""
    return strip_controls(str(value)) if value is not None else None


def provenance(info: dict[str, Any], r: SourceRow) -> dict[str, Any]:
    return {
        "extractor": info.get("extractor_key"),
        "video_id": info.get("id"),
        "title": manifest_text(info.get("title")),
        "uploader": manifest_text(info.get("uploader")),
        "upload_date": info.get("upload_date"),
        "webpage_url": info.get("webpage_url"),
        # the video's licence: a reviewer's (checked on the page) wins, else what the page states;
        # absent is unknown, never filled from the source list or the annotations
        **video_license(r.license_reviewed, r.license, info),
    }


def failed_row(r: SourceRow, exc: StageError, versions: dict[str, str], stage: str | None = None) -> dict[str, Any]:
    row = base_row(r, versions)
    row.update(status=exc.status, error=exc.reason, stage=stage or exc.stage)
    return row


def invalid_row(bad: InvalidRow, versions: dict[str, str]) -> dict[str, Any]:
    row = empty_row()
    raw = bad.raw

    def num(key: str) -> float | None:
        try:
            return float(raw.get(key, ""))
        except ValueError:
            return None

    row.update(
        clip_id=bad.clip_id,
        label=raw.get("label") or None,
        status="invalid",
        error=bad.message(),
        stage="validate",
        source_file=bad.source_file,
        source_line=bad.source_line,
        url=raw.get("url") or None,
        source_id=raw.get("source_id") or None,
        license=None,  # an invalid row vouches for nothing (and is never published)
        annotation_source=raw.get("annotation_source") or None,
        annotation_license=raw.get("annotation_license") or None,
        notes=raw.get("notes") or None,
        start=num("start"),
        end=num("end"),
        processed_at=now(),
        **versions,
    )
    return row
