"""Progress bars and summary tables of the baseline commands (rich, on the CLI side only)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

Update = Callable[[int, int, str], None]  # (done, total, text)


@contextmanager
def progress_bar(description: str) -> Iterator[Update]:
    """A rich progress bar on stderr; yields ``update(done, total, text)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), TextColumn("{task.fields[info]}"), console=Console(stderr=True),
    ) as prog:  # fmt: skip
        task = prog.add_task(description, total=None, info="")

        def update(done: int, total: int, text: str = "") -> None:
            prog.update(task, completed=done, total=total, info=text)

        yield update


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*(str(x) for x in r))
    Console().print(table)
