"""One owner per clip id in a build folder: a second source list never silently takes another's clip.

Several lists may be built into one ``--out`` (each build keeps the other lists' rows). A clip id is
the key of the ledger, the manifest and the media file names, so a row of list B with the clip id of
list A's clip would replace A's row, label and media while A's clip is orphaned. :func:`check_owners`
refuses that before anything is fetched: one line naming the clip id and both files (a list keeps
its clips when it moves with the build folder: lists are told apart by file name). A row with the
same ``url`` is the same source reviewed again and may update the clip: that is how ``reviewed.csv``
takes over the clips ``vaar build --candidates`` made from ``candidates.csv``. ``--prune``
(this folder is exactly these lists) is the explicit way to hand a clip id to another list.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vaar.curation.ledger import Ledger
from vaar.curation.sources import SourceRow
from vaar.errors import ConfigError


def _same_list(a: str, b: str) -> bool:
    """The same source list: the same file name (a build folder and its list may move or be copied
    together; two lists of one name in one build folder are the same list to a curator too)."""
    return a == b or Path(a).name == Path(b).name


def check_owners(valid: Sequence[SourceRow], ledger: Ledger) -> None:
    """Raise :class:`ConfigError` when a row's clip id is already built from another source file."""
    statuses = ledger.statuses()
    clashes = []
    for r in valid:
        if statuses.get(r.clip_id) in (None, "invalid"):
            continue
        row = ledger.get(r.clip_id) or {}
        owner = str(row.get("source_file") or "")
        same_source = row.get("url") == r.url  # a re-review of the same source (reviewed.csv after candidates)
        if owner and not _same_list(owner, r.source_file) and not same_source:
            clashes.append((r, owner))
    if clashes:
        r, owner = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ConfigError(
            f"{r.source_file}:{r.source_line}: clip_id {r.clip_id!r} is already built in this folder from "
            f"{owner}{more}; give the row another clip_id, or build into another --out "
            "(--prune hands the id to this list and drops the rows of lists not named)")
