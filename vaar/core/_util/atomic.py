"""Atomic file writes: a temporary file in the target's folder, then ``os.replace``.

A reader sees the old file or the new one, never half of one; a crash leaves at most a
``.<name>.<random>.tmp<pid>`` file beside the target (hidden, matched by ``.*.tmp*``; the pid
tells which process was writing it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644  # mkstemp makes 0600; written artefacts are shared data


@contextmanager
def atomic_path(path: str | Path, *, suffix: str = "") -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; on a clean exit it replaces ``path``.

    For writers that need a file name (ffmpeg, Parquet, ``np.save``). ``suffix`` is appended
    after ``.tmp<pid>`` for tools that pick a format by extension. On an exception the temporary
    file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{os.getpid()}{suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (flushed and fsynced before the rename)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8 with the line ends given (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))
