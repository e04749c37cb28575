"""``vaar audit``: are the sources of a list still reachable? Metadata only, no media.

Each distinct URL is probed once with the yt-dlp API (``extract_info(download=False,
process=False)``: the extractor reads the page or, for a direct file, the response headers and
first bytes; no format is chosen and nothing is downloaded). The outcome is one of
:data:`AuditStatus`, mapped from yt-dlp's error message (:func:`classify`):

==================  =================================================================
``available``       metadata came back: the clip can be rebuilt
``removed``         HTTP 404 / 410; "Video unavailable", "has been removed", "no longer
                    available", "does not exist", terminated account, copyright claim
``private``         HTTP 401 / 403 (the host refuses access); "private video",
                    members-only / "join this channel"
``age_restricted``  "Sign in to confirm your age", "age-restricted", "inappropriate for
                    some users" (rebuildable with ``--cookies`` of an adult account)
``geo_blocked``     HTTP 451; "not available in your country", "geo restricted",
                    "blocked it in your country" (rebuildable from elsewhere)
``error``           anything else: network errors, HTTP 429 / 5xx, a bot check ("confirm
                    you're not a bot"), an unsupported URL — transient or unknown, so
                    *not* counted as removed; audit again later
==================  =================================================================

Each row also reports the video's licence as its page states it *now* (yt-dlp's ``license``;
empty when it states none, family ``unknown``): an uploader can change it, and a clip published
as CC BY should be re-checked before a new release.

The rules are tried in this order: the bot check (``error``), ``age_restricted``, ``private``,
``geo_blocked``, ``removed``, then the HTTP code. Order matters: YouTube says "Video unavailable.
This video is private", which is ``private``, not ``removed``.
"""

from __future__ import annotations

import io
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from vaar.core._util.atomic import atomic_write_text
from vaar.core.contracts.source_list import read_rows
from vaar.core.csvsafe import write_rows
from vaar.core.errors import ConfigError, StageError
from vaar.core.textsafe import one_line, tool_message
from vaar.curation.licences import clean_licence, licence_family
from vaar.curation.netguard import NetworkPolicy

AuditStatus = Literal["available", "removed", "private", "age_restricted", "geo_blocked", "error"]
STATUSES: tuple[AuditStatus, ...] = ("available", "removed", "private", "age_restricted", "geo_blocked", "error")
REPORT_COLUMNS = ("clip_id", "url", "label", "status", "detail", "license", "license_family")

_HTTP = re.compile(r"HTTP Error (\d{3})")
_RULES: tuple[tuple[AuditStatus, re.Pattern[str]], ...] = (
    ("error", re.compile(r"not a bot|too many requests", re.I)),
    ("age_restricted", re.compile(r"confirm your age|age[- ]restricted|inappropriate for some users", re.I)),
    ("private", re.compile(r"private video|video is private|members[- ]only|join this channel", re.I)),
    ("geo_blocked", re.compile(r"in your country|geo[- ]?restrict|geo[- ]?block", re.I)),
    ("removed", re.compile(
        r"video unavailable|has been removed|no longer available|does not exist|account .*terminated|"
        r"copyright (claim|grounds)|removed by the uploader", re.I)),
)  # fmt: skip
_HTTP_STATUS: dict[int, AuditStatus] = {404: "removed", 410: "removed", 401: "private", 403: "private", 451: "geo_blocked"}


@dataclass(frozen=True)
class AuditConfig:
    workers: int = 4
    socket_timeout_s: float = 20.0
    cookies: str | None = None
    allow_private_network: bool = False  # as the build's flag: tests and the sample use 127.0.0.1


@dataclass(frozen=True)
class AuditRow:
    clip_id: str
    url: str
    label: str
    status: AuditStatus
    detail: str
    license: str = ""  # the video's licence as its page states it now ("" = none stated)

    @property
    def license_family(self) -> str:
        return licence_family(self.license)


@dataclass
class AuditReport:
    rows: list[AuditRow]

    def by_class(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.rows:
            out[r.label][r.status] += 1
        return dict(sorted(out.items()))

    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.rows)

    def licences(self) -> Counter[str]:
        """Available rows per video licence family (``unknown``: the page states none)."""
        return Counter(r.license_family for r in self.rows if r.status == "available")


def classify(message: str) -> AuditStatus:
    """The status of a yt-dlp error message (see the module docstring for the table)."""
    for status, pattern in _RULES:
        if pattern.search(message):
            return status
    m = _HTTP.search(message)
    if m:
        return _HTTP_STATUS.get(int(m.group(1)), "error")
    return "error"


class _Quiet:
    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


class _Prober:
    """One ``YoutubeDL`` per thread (building one costs most of a second)."""

    def __init__(self, cfg: AuditConfig) -> None:
        self.cfg = cfg
        self.local = threading.local()
        self.policy = NetworkPolicy(allow_private=cfg.allow_private_network)

    def _ydl(self) -> Any:
        if not hasattr(self.local, "ydl"):
            # the build's guarded YoutubeDL: every request and redirect obeys the network policy
            from vaar.curation.build.download import guarded_youtubedl

            params: dict[str, Any] = {
                "quiet": True, "no_warnings": True, "skip_download": True, "noplaylist": True,
                "socket_timeout": self.cfg.socket_timeout_s, "extractor_retries": 0, "logger": _Quiet(),
            }  # fmt: skip
            if self.cfg.cookies:
                params["cookiefile"] = self.cfg.cookies
            self.local.ydl = guarded_youtubedl(self.policy)(params)
        return self.local.ydl

    def probe(self, url: str) -> tuple[AuditStatus, str, str]:
        """(status, detail, the licence the page states or "")."""
        status, detail, info = self._probe(url)
        stated = clean_licence((info or {}).get("license"))
        return status, detail, stated

    def _probe(self, url: str) -> tuple[AuditStatus, str, dict[str, Any] | None]:
        import yt_dlp

        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            return "error", f"unsupported URL {url!r}: only http(s) URLs are audited", None
        problem = self.policy.url_problem(url)
        if problem:
            return "error", f"not probed: {problem}", None
        try:
            info = self._ydl().extract_info(url, download=False, process=False)
        except yt_dlp.utils.DownloadError as exc:
            msg = tool_message(str(exc), "unknown error")
            return classify(msg), msg, None
        except StageError as exc:  # the network policy refused a request or redirect
            return "error", f"not probed: {exc.reason}", None
        except Exception as exc:  # an extractor bug must not end the audit of the other rows
            return "error", tool_message(f"{type(exc).__name__}: {exc}", "unknown error"), None
        if not isinstance(info, dict):
            return "error", "yt-dlp returned no metadata", None
        title = one_line(str(info.get("title") or ""), 80)
        return "available", title, info


def audit_sources(
    path: Path, cfg: AuditConfig = AuditConfig(), *, on_row: Callable[[AuditRow], None] | None = None
) -> AuditReport:
    """Probe every distinct URL of the list at ``path``; one :class:`AuditRow` a row."""
    if cfg.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {cfg.workers}")
    rows = [raw for _, raw in read_rows(path)]
    urls = sorted({r.get("url", "") for r in rows})
    prober = _Prober(cfg)
    results: dict[str, tuple[AuditStatus, str, str]] = {}
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        for url, res in zip(urls, pool.map(prober.probe, urls), strict=True):
            results[url] = res
    out = []
    for raw in rows:
        status, detail, stated = results[raw.get("url", "")]
        row = AuditRow(raw.get("clip_id", ""), raw.get("url", ""), raw.get("label", ""), status, detail, stated)
        out.append(row)
        if on_row:
            on_row(row)
    return AuditReport(out)


def write_report(path: Path, rows: Sequence[AuditRow]) -> None:
    """The per-row report as CSV, written atomically."""
    buf = io.StringIO()
    write_rows(buf, REPORT_COLUMNS, ([r.clip_id, r.url, r.label, r.status, r.detail, r.license, r.license_family]
                                     for r in rows))  # fmt: skip
    atomic_write_text(path, buf.getvalue())
