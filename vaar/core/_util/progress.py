"""The one progress-bar style of the CLIs (rich, on stderr) and the summary table.

Library code takes an ``update(done, total, text)`` callback (:data:`Update`) and never prints;
the command line passes the one this module makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Update = Callable[[int, int, str], None]  # (done, total, text)


class ProgressBar:
    """``description  ━━━━━━━  done/total  elapsed  remaining  text`` on stderr.

    :meth:`start` shows it (a command starts it once its input is read, so that an unusable
    input is one clean line), :meth:`update` moves it, :meth:`stop` removes nothing but ends it.
    """

    def __init__(self, description: str, *, transient: bool = False) -> None:
        """``transient``: the bar is erased at :meth:`stop` and not drawn at all when stderr is
        not a terminal (a command whose summary must be the last thing printed)."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            console=console, transient=transient, disable=transient and not console.is_terminal,
        )  # fmt: skip
        self._task = self._progress.add_task(description, total=None, info="")

    def start(self, total: int | None = None) -> None:
        if total is not None:
            self._progress.update(self._task, total=total)
        self._progress.start()

    def update(self, done: int, total: int, text: str = "") -> None:
        self._progress.update(self._task, completed=done, total=total, info=text)

    def advance(self, text: str = "") -> None:
        self._progress.update(self._task, advance=1, info=text)

    def stop(self) -> None:
        self._progress.stop()


@contextmanager
def progress_bar(description: str) -> Iterator[Update]:
    """A started :class:`ProgressBar`; yields its ``update(done, total, text)``."""
    bar = ProgressBar(description)
    bar.start()
    try:
        yield bar.update
    finally:
        bar.stop()


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*(str(x) for x in r))
    Console().print(table)
