"""Read a seed's input, a local file or an http(s) URL, as text (one clear line on failure)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from vaar.errors import ConfigError

MAX_BYTES = 1 << 30  # the largest public list (AudioSet unbalanced_train) is ~200 MB


def read_text(source: str, *, what: str, timeout_s: float = 60.0) -> str:
    """The UTF-8 text at ``source`` (a path, or an http(s) URL fetched with urllib)."""
    scheme = urlparse(source).scheme
    if scheme in ("http", "https"):
        data = _get(source, what, timeout_s)
    elif scheme and len(scheme) > 1:  # a Windows drive letter is not a scheme
        raise ConfigError(f"{source}: unsupported {what} location; give a file path or an http(s) URL")
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"{source}: no such {what} file")
        data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: {what} is not UTF-8 (byte {exc.start})") from None


def _get(url: str, what: str, timeout_s: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 (http(s) only)
            data: bytes = resp.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ConfigError(f"{url}: cannot fetch the {what} (HTTP {exc.code} {exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(f"{url}: cannot fetch the {what} ({reason})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{url}: the {what} is larger than {MAX_BYTES >> 20} MiB; download it and pass the file")
    return data
