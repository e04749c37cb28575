"""Read a seed's input, a local file or an http(s) URL, as text (one clear line on failure).

A URL, and every redirect it answers with, is checked against the network policy before it is
fetched (:mod:`vaar.curation.netguard`): a list URL must not make the curator's machine read
from its own private network (``--allow-private-network`` lifts it, e.g. for a mirror on the LAN).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from vaar.core.errors import ConfigError
from vaar.curation.netguard import NetworkPolicy

MAX_BYTES = 1 << 30  # the largest public list (AudioSet unbalanced_train) is ~200 MB


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(value: str | None, option: str = "--sha256") -> str | None:
    """``value`` lower-cased, or a one-line error when it is not 64 hex digits."""
    if value is None:
        return None
    v = value.strip().lower()
    if not _SHA256.match(v):
        raise ConfigError(f"{option} {value!r}: give the 64 hex digits of the file's sha256")
    return v


def read_text(
    source: str,
    *,
    what: str,
    timeout_s: float = 60.0,
    network: NetworkPolicy = NetworkPolicy(),  # noqa: B008
    sha256: str | None = None,
) -> str:
    """The UTF-8 text at ``source`` (a path, or an http(s) URL fetched with urllib); ``sha256``
    (hex) must match the bytes as fetched, else the list is refused before it is read."""
    scheme = urlparse(source).scheme
    if scheme in ("http", "https"):
        data = _get(source, what, timeout_s, network)
    elif scheme and len(scheme) > 1:  # a Windows drive letter is not a scheme
        raise ConfigError(f"{source}: unsupported {what} location; give a file path or an http(s) URL")
    else:
        path = Path(source)
        if not path.is_file():
            raise ConfigError(f"{source}: no such {what} file")
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"{source}: the {what} is larger than {MAX_BYTES >> 20} MiB")
        data = path.read_bytes()
    if sha256 is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise ConfigError(f"{source}: the {what} has sha256 {got}, not the pinned {sha256}; "
                              "refused (check the URL, or update --sha256 after checking the new file)")  # fmt: skip
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, source, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: {what} is not UTF-8 (byte {exc.start})") from None


class _Refused(Exception):
    pass


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL the policy allows (urllib would follow one to ftp: too)."""

    def __init__(self, network: NetworkPolicy) -> None:
        self.network = network

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        problem = self.network.url_problem(newurl)
        if problem:
            raise _Refused(f"redirected to a refused URL: {problem}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _get(url: str, what: str, timeout_s: float, network: NetworkPolicy) -> bytes:
    problem = network.url_problem(url)
    if problem:
        raise ConfigError(f"{url}: cannot fetch the {what} ({problem})")
    opener = urllib.request.build_opener(_GuardedRedirects(network))
    try:
        with opener.open(url, timeout=timeout_s) as resp:
            data: bytes = resp.read(MAX_BYTES + 1)
    except _Refused as exc:
        raise ConfigError(f"{url}: cannot fetch the {what} ({exc})") from None
    except urllib.error.HTTPError as exc:
        raise ConfigError(f"{url}: cannot fetch the {what} (HTTP {exc.code} {exc.reason})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConfigError(f"{url}: cannot fetch the {what} ({reason})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{url}: the {what} is larger than {MAX_BYTES >> 20} MiB; download it and pass the file")
    return data


def _gunzip(data: bytes, source: str, what: str) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(MAX_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise ConfigError(f"{source}: the {what} is not a valid gzip file ({exc})") from None
    if len(out) > MAX_BYTES:
        raise ConfigError(f"{source}: the {what} decompresses to more than {MAX_BYTES >> 20} MiB")
    return out
