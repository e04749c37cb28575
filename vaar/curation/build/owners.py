"""One owner per clip id in a build folder: a second source list never silently takes another's clip.

Several lists may be built into one ``--out`` (each build keeps the other lists' rows). A clip id is
the key of the ledger, the manifest and the media file names, so a row of list B with the clip id of
list A's clip would replace A's row, label and media while A's clip is orphaned. :func:`check_owners`
refuses that before anything is fetched: one line naming the clip id and both files (a list keeps
its clips when it moves with the build folder: lists are told apart by file name; a row naming the
very same clip, url, span and label, changes nothing). A folder made by ``vaar build --candidates``
(marked by :func:`mark_candidates_folder`) holds previews, not published clips: there ``reviewed.csv``
takes over the candidates' clips, relabelled or trimmed, as the review workflow intends. ``--prune``
(this folder is exactly these lists) is the explicit way to hand a clip id to another list.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vaar.core.contracts.source_list import SourceRow
from vaar.core.errors import ConfigError
from vaar.curation.build.ledger import Ledger


def _same_list(a: str, b: str) -> bool:
    """The same source list: the same file name (a build folder and its list may move or be copied
    together; two lists of one name in one build folder are the same list to a curator too)."""
    return a == b or Path(a).name == Path(b).name


CANDIDATES_MARK = ".vaar-candidates"


def mark_candidates_folder(out: Path) -> None:
    """Mark ``out`` as a preview folder of ``vaar build --candidates`` (clip ids there have no owner)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / CANDIDATES_MARK).write_text("built by vaar build --candidates: previews for vaar review\n")


def check_owners(valid: Sequence[SourceRow], ledger: Ledger) -> None:
    """Raise :class:`ConfigError` when a row's clip id is already built from another source file."""
    if (ledger.path.parent / CANDIDATES_MARK).is_file():
        return
    statuses = ledger.statuses()
    clashes = []
    for r in valid:
        if statuses.get(r.clip_id) in (None, "invalid"):
            continue
        row = ledger.get(r.clip_id) or {}
        owner = str(row.get("source_file") or "")
        same_clip = (row.get("url"), row.get("start"), row.get("end"), row.get("label")) == (r.url, r.start, r.end, r.label)
        if owner and not _same_list(owner, r.source_file) and not same_clip:
            clashes.append((r, owner))
    if clashes:
        r, owner = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ConfigError(
            f"{r.source_file}:{r.source_line}: clip_id {r.clip_id!r} is already built in this folder from "
            f"{owner}{more}; give the row another clip_id, or build into another --out "
            "(--prune hands the id to this list and drops the rows of lists not named)")
