"""Extension points that a floor above bench fills: leaderboard sections and submission tracks.

bench never imports the floors above it (import-linter's layers contract in ``.importlinter``).
A floor above registers itself here — ``BOARD_SECTIONS.add(...)``, ``SUBMIT_TRACKS.add(...)`` at
the end of its module — and is named below as data, a module path, the way the CLI tables name
their subcommands. The module is imported only when the hook is first read; an install without
it leaves the hook empty (no robustness column, and ``submit --robustness`` says the track is not
installed). Today's only tenant is the robustness track (``vaar.robustness``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from vaar.core._util.registry import Registry

Entry = Mapping[str, Any]


class BoardSection(Protocol):
    """What the leaderboard renderer (:mod:`vaar.bench.render`) asks of an extra section."""

    def has_column(self, task: str, entries: Sequence[Entry]) -> bool:
        """Whether the task's table gets this section's column (an entry of the task has its score)."""
        ...

    def cell_text(self, entry: Entry) -> tuple[str, float | None, str]:
        """(cell text, sort value, interval text) of the column for one entry."""
        ...

    def md_section(self, entries: Sequence[Entry], md_text: Any) -> list[str]:
        """Markdown lines appended to ``LEADERBOARD.md`` (none if no entry has the section)."""
        ...

    def html_section(self, entries: Sequence[Entry]) -> str:
        """HTML appended to ``index.html`` (empty if no entry has the section)."""
        ...


#: ``fn(model_spec, limits, dataset, split, leaderboard, task, slug, *, resamples, seed, name,
#: progress) -> block`` — runs the track for a ``--model`` submission, returns the entry's block
SubmitTrack = Callable[..., dict[str, Any]]

BOARD_SECTIONS: Registry[BoardSection] = Registry(
    "leaderboard section", modules=("vaar.robustness.board",), optional=True)
SUBMIT_TRACKS: Registry[SubmitTrack] = Registry(
    "submission track (not installed)", modules=("vaar.robustness.submit_track",), optional=True)

#: ``fn(block, truth, files, max_bytes) -> (status, detail)`` — re-scores an entry's block from its
#: saved predictions for ``leaderboard --rescore`` (status ok, DIFFERS, missing or invalid)
BlockRescorer = Callable[..., tuple[str, str]]
RESCORERS: Registry[BlockRescorer] = Registry(
    "block re-scorer (not installed)", modules=("vaar.robustness.rescore",), optional=True)


class _NoSection:
    """The section of a track that is not installed: no column, nothing rendered."""

    def has_column(self, task: str, entries: Sequence[Entry]) -> bool:
        return False

    def cell_text(self, entry: Entry) -> tuple[str, float | None, str]:
        return "", None, ""

    def md_section(self, entries: Sequence[Entry], md_text: Any) -> list[str]:
        return []

    def html_section(self, entries: Sequence[Entry]) -> str:
        return ""


class LazySection:
    """A :class:`BoardSection` that looks its tenant up on first use (so importing the renderer
    imports no floor above it, and a missing tenant renders as nothing)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._impl: BoardSection | None = None

    def _get(self) -> BoardSection:
        if self._impl is None:
            self._impl = BOARD_SECTIONS[self.name] if self.name in BOARD_SECTIONS else _NoSection()
        return self._impl

    def has_column(self, task: str, entries: Sequence[Entry]) -> bool:
        return self._get().has_column(task, entries)

    def cell_text(self, entry: Entry) -> tuple[str, float | None, str]:
        return self._get().cell_text(entry)

    def md_section(self, entries: Sequence[Entry], md_text: Any) -> list[str]:
        return self._get().md_section(entries, md_text)

    def html_section(self, entries: Sequence[Entry]) -> str:
        return self._get().html_section(entries)
