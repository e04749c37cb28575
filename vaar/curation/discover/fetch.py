"""Read a seed's input, a local file or an http(s) URL, as text (one clear line on failure).

A URL, and every redirect it answers with, is checked against the network policy before it is
fetched (:mod:`vaar.curation.netguard`): a list URL must not make the curator's machine read
from its own private network (``--allow-private-network`` lifts it, e.g. for a mirror on the LAN).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from vaar.core.errors import ConfigError
from vaar.curation.netguard import NetworkPolicy

MAX_BYTES = 1 << 30  # the largest public list (AudioSet unbalanced_train) is ~200 MB


def read_text(source: str, *, what: str, timeout_s: float = 60.0, network: NetworkPolicy = NetworkPolicy()) -> str:  # noqa: B008
    """The UTF-8 text at ``source`` (a path, or an http(s) URL fetched with urllib)."""
    scheme = urlparse(source).scheme
    if scheme in ("http", "https"):
        data = _get(source, what, timeout_s, network)
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
