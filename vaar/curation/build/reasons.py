"""Reason codes: why a clip is not ok, as a short stable code (``download.http_404``,
``quality.silent``, ``validate.end_before_start``…) for the build summary.

The manifest keeps the full ``error`` text; the summary groups rows by code and shows one real
example (clip id and its error) per code. A code is ``<stage>.<kind>``; an error no pattern knows
is ``<stage>.other``.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[str, str], ...] = (
    # source-list validation
    (r"unsafe clip_id", "validate.unsafe_clip_id"),
    (r"duplicate clip_id", "validate.duplicate_clip_id"),
    (r"unknown label", "validate.unknown_label"),
    (r"unsupported URL", "validate.bad_url"),
    (r"malformed number|must be a finite number", "validate.bad_number"),
    (r"must be after start", "validate.end_before_start"),
    (r"duration .* outside", "validate.duration_out_of_range"),
    (r"private (or|/) (loopback|internal)|resolves to a (private|loopback)", "validate.private_address"),
    # download: what the site says about the video (as `vaar audit` names it), then the network
    (r"not a bot", "download.bot_check"),
    (r"confirm your age|age[- ]restricted|inappropriate for some users", "download.age_restricted"),
    (r"private video|video is private", "download.private"),
    (r"in your country|geo[- ]?restrict", "download.geo_blocked"),
    (r"video unavailable|has been removed|account .* terminated", "download.removed"),
    (r"Name or service not known|No address associated|nodename nor servname|Failed to resolve|"
     r"getaddrinfo failed|does not resolve", "download.dns"),
    (r"non-public address", "download.refused_address"),
    (r"Connection refused", "download.connection_refused"),
    (r"HTTP Error (\d{3})", r"download.http_\1"),
    (r"timed? ?out", "download.timeout"),
    (r"Unsupported URL", "download.unsupported_url"),
    (r"no downloaded section covers", "download.section_missing"),
    (r"IncompleteRead|Connection (reset|refused|aborted)|connection", "download.connection"),
    # content checks
    (r"no audio track", "quality.no_audio"),
    (r"silent audio", "quality.silent"),
    (r"black video", "quality.black"),
    (r"frozen video", "quality.frozen"),
    (r"out of sync", "sync.out_of_sync"),
    (r"could not fix the offset", "sync.fix_failed"),
    (r"short clip", "verify.short_clip"),
    (r"long clip", "verify.long_clip"),
    (r"audio track is short", "verify.short_audio"),
    (r"undecodable|no video frames", "verify.undecodable"),
    (r"ffprobe cannot read|cannot probe", "verify.unreadable"),
    (r"playlist|not a (real )?container", "verify.not_a_media_file"),
    (r"ffmpeg failed|ffmpeg could not", "trim.ffmpeg_failed"),
)
_COMPILED = tuple((re.compile(p, re.IGNORECASE), code) for p, code in _PATTERNS)


def reason_code(stage: str | None, error: str) -> str:
    """The code of ``error`` (a manifest ``error``) raised in ``stage``."""
    text = re.sub(r"^[^\s:]+:\d+: ", "", error)  # drop the source list's `file:line: ` prefix
    if text.startswith("internal error"):
        return f"{stage or 'build'}.internal_error"
    for pattern, code in _COMPILED:
        m = pattern.search(text)
        if m:
            return m.expand(code)
    return f"{stage or 'build'}.other"
