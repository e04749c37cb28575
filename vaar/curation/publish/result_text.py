"""What a publish made, and what a user should know about it, as lines for a console.

``vaar publish`` and ``vaar build`` (which publishes too) print the same lines; they carry rich
markup (``[yellow]``) and are plain text otherwise. The library returns them; the CLIs print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaar.curation.publish.folder import PublishResult


def result_lines(res: PublishResult) -> list[str]:
    """The lines that report ``res`` (folder and counts, warnings, unpublished clips, how to load it)."""
    out: list[str] = []
    counts = ", ".join(f"{k} {v}" for k, v in res.counts.items())
    out.append(f"dataset:  {res.folder}  ({counts})")
    for w in res.warnings:
        out.append(f"[yellow]warning: {w}")
    if res.not_ok_in_splits:
        out.append(f"[yellow]{len(res.not_ok_in_splits)} clip(s) in the split files are not ok in the "
                   f"manifest: {', '.join(res.not_ok_in_splits[:5])}")
    if res.not_in_splits:
        out.append(f"[yellow]{len(res.not_in_splits)} ok clip(s) are in no split file and were not "
                   f"published: {', '.join(res.not_in_splits[:5])}")
    if res.test_identity:
        out.append(f"private test split identity: {res.test_identity}")
    out.append(f"load it:  python -c \"import datasets; print(datasets.load_dataset('{res.folder}'))\"")
    return out
