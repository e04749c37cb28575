"""Read an untrusted small file without reading more than a cap (``--meta`` YAML, entry JSON)."""

from __future__ import annotations

from pathlib import Path


class CappedReadError(ValueError):
    """Why the file was not read: ``kind`` is ``unreadable``, ``too_large`` or ``not_utf8``."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail


def read_text_capped(path: Path, limit: int) -> str:
    """UTF-8 text of ``path`` when it holds at most ``limit`` bytes (reads at most ``limit + 1``)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise CappedReadError("unreadable", exc.strerror or str(exc)) from None
    if len(raw) > limit:
        raise CappedReadError("too_large")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CappedReadError("not_utf8") from None
