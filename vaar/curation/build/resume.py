"""What a rerun of ``vaar build`` redoes: rows not in the ledger, rows whose span or URL changed,
``ok`` clips whose media went missing, ``failed`` ones with ``--retry-failed``, and every clip made
with other settings than this run's (:func:`clip_settings`: trim targets, height cap, QC
thresholds), so that ``--fps 30`` after a 25 fps build does not silently keep 25 fps clips.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vaar.core.contracts.source_list import SourceRow
from vaar.curation.build.ledger import Ledger
from vaar.curation.build.media import MediaConfig
from vaar.curation.build.quality import QCConfig
from vaar.curation.licences import refreshed_provenance

_CLIP_SETTINGS = ("precision", "fps", "max_short_side", "crf", "preset", "audio_bitrate", "audio_rate",
                  "video_audio_rate")  # fmt: skip


def clip_settings(media: MediaConfig, max_height: int | None, qc: QCConfig) -> str:
    """The settings a clip's bytes and verdict depend on, as canonical JSON (stored per ledger
    row): the trim's targets, the download's height cap and every QC threshold."""
    from dataclasses import asdict

    data = {k: getattr(media, k) for k in _CLIP_SETTINGS}
    data["max_height"] = max_height
    data["qc"] = asdict(qc)
    return json.dumps(data, sort_keys=True, default=str)


def changed_settings(old: str, new: str) -> list[str]:
    """The names of the settings that differ between two :func:`clip_settings` strings."""
    a, b = json.loads(old), json.loads(new)
    flat_a = {**{k: v for k, v in a.items() if k != "qc"}, **{f"qc.{k}": v for k, v in a.get("qc", {}).items()}}
    flat_b = {**{k: v for k, v in b.items() if k != "qc"}, **{f"qc.{k}": v for k, v in b.get("qc", {}).items()}}
    return sorted(k for k in flat_a.keys() | flat_b.keys() if flat_a.get(k) != flat_b.get(k))


def rows_to_build(valid: list[SourceRow], ledger: Ledger, out: Path, retry_failed: bool, settings: str = "",
          rebuilt: Counter[str] | None = None) -> list[SourceRow]:
    """The rows to (re)build. An ``ok`` or ``rejected`` clip made with other settings
    (:func:`clip_settings`; rows of an older ledger have none and are kept) is rebuilt, and the
    changed setting names are counted in ``rebuilt``."""
    statuses = ledger.statuses()
    configs = ledger.configs() if settings else {}
    todo = []
    for r in valid:
        st = statuses.get(r.clip_id)
        old = configs.get(r.clip_id)
        if st is None or st == "invalid" or (st == "failed" and retry_failed):
            todo.append(r)
        elif st in ("ok", "rejected") and old and old != settings:
            todo.append(r)
            if rebuilt is not None:
                rebuilt.update(changed_settings(old, settings))
        elif st == "ok":
            row = ledger.get(r.clip_id) or {}
            same = (row.get("url"), row.get("start"), row.get("end"), row.get("label")) == (
                r.url, r.start, r.end, r.label,
            )
            files = all((out / str(row.get(k) or "")).is_file() for k in ("video_path", "audio_path"))
            if not (same and files):
                todo.append(r)
        elif st in ("failed", "rejected"):
            row = ledger.get(r.clip_id) or {}
            if (row.get("url"), row.get("start"), row.get("end")) != (r.url, r.start, r.end):
                todo.append(r)
    return todo


def refresh_provenance(ledger: Ledger, kept: Sequence[SourceRow]) -> None:
    """Clips reused from an earlier build take their row's licence and annotation fields as the
    list states them now (a licence reviewed since, a stale claim dropped)."""
    updates = {}
    for r in kept:
        built = ledger.get(r.clip_id) or {}
        new = refreshed_provenance(built, r.license_reviewed, r.license, (r.annotation_source, r.annotation_license))
        if any(built.get(k) != v for k, v in new.items()):
            updates[r.clip_id] = new
    ledger.update_fields(updates)
