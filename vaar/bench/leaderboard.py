"""The leaderboard folder: entries on disk, a lock, atomic writes, and re-rendering.

::

    leaderboard/
      entries/<task>/<slug>.json     one entry a submission (schema: vaar.bench.entry)
      LEADERBOARD.md                 generated: one table a task
      index.html                     generated: self-contained page (vaar.bench.render)
      .lock                          taken while a submission writes (not in git)

Concurrency: a submission holds ``.lock`` (filelock) from the existence check to the last
rename, so two submissions at once both land and the last render sees both. Crash safety: every
file is written to a temporary file in the same folder and renamed over the old one
(``os.replace`` is atomic), and all three outputs are rendered in memory before the first write,
so a crash leaves the previous files intact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vaar._util.atomic import atomic_write_text
from vaar.bench.entry import check_entry
from vaar.errors import ManifestError, SubmissionError

LOCK_TIMEOUT_S = 300.0


def entry_path(root: Path, task: str, slug: str) -> Path:
    return root / "entries" / task / f"{slug}.json"


def load_entries(root: Path) -> list[dict[str, Any]]:
    """Every entry under ``root/entries``, validated, in a stable order (task, slug)."""
    out: list[dict[str, Any]] = []
    for path in sorted((root / "entries").glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(f"{path}: unreadable entry ({type(exc).__name__}); fix or remove it") from None
        out.append(check_entry(data, path))
    return out


def dumps_entry(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _lock(root: Path) -> Any:
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    return FileLock(str(root / ".lock"), timeout=LOCK_TIMEOUT_S)


def _render_all(root: Path, entries: list[dict[str, Any]]) -> dict[Path, str]:
    from vaar.bench.render import render_html, render_markdown

    return {root / "LEADERBOARD.md": render_markdown(entries), root / "index.html": render_html(entries)}


def submit_entry(root: Path, entry: Mapping[str, Any], *, replace: bool = False) -> Path:
    """Write ``entry`` and re-render the pages, under the lock. Returns the entry's path."""
    target = entry_path(root, str(entry["task"]), str(entry["slug"]))
    with _lock(root):
        if target.exists() and not replace:
            raise SubmissionError(
                f"{target}: an entry {entry['slug']!r} for {entry['task']} exists; "
                "pass --replace to overwrite it, or choose another --name")
        entries = [e for e in load_entries(root) if entry_path(root, e["task"], e["slug"]) != target]
        entries.append(dict(entry))
        outputs = _render_all(root, entries)  # render before writing anything
        atomic_write_text(target, dumps_entry(entry))
        for path, text in outputs.items():
            atomic_write_text(path, text)
    return target


def rerender(root: Path) -> list[Path]:
    """Re-render ``LEADERBOARD.md`` and ``index.html`` from the entries on disk."""
    with _lock(root):
        outputs = _render_all(root, load_entries(root))
        for path, text in outputs.items():
            atomic_write_text(path, text)
    return list(outputs)
