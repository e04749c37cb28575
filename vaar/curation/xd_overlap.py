"""Rows cut from an XD-Violence *test* video (Wu et al., ECCV 2020): flagged, and the build warns.

A VAAR clip whose source is one of the YouTube videos of XD-Violence's test set (the 800 release
names in ``vaar/bench/data/xd_violence_test_videos.txt``; 423 carry a ``v=<id>``, of 352
videos) overlaps the
XD-Violence track's test set: a model trained on it and scored on that track has seen test videos.
``vaar discover`` adds the seed flag :data:`FLAG` to such candidates (whatever the seed), the review
page shows it with the other flags, and ``vaar build`` prints one warning line naming them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources
from urllib.parse import parse_qs, urlparse

FLAG = "xd_violence_test"
_NAME_ID = re.compile(r"^v=([A-Za-z0-9_-]{11})__#")
_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com")


@functools.cache
def xd_test_ids() -> frozenset[str]:
    """YouTube ids of the XD-Violence test videos (from the release names shipped with vaar)."""
    text = resources.files("vaar").joinpath("bench", "data", "xd_violence_test_videos.txt").read_text("utf-8")
    return frozenset(m.group(1) for line in text.splitlines() if (m := _NAME_ID.match(line.strip())))


def youtube_id(url: str) -> str | None:
    """The video id of a YouTube watch, shorts, embed or youtu.be URL; None for anything else."""
    try:
        u = urlparse(url)
    except ValueError:
        return None
    host = (u.hostname or "").lower()
    vid = None
    if host == "youtu.be":
        vid = u.path.strip("/").split("/")[0]
    elif host in _HOSTS:
        if u.path == "/watch":
            vid = (parse_qs(u.query).get("v") or [""])[0]
        elif u.path.startswith(("/shorts/", "/embed/", "/live/")):
            vid = u.path.split("/")[2]
    return vid if vid and _ID.match(vid) else None


def overlapping(rows: Iterable[tuple[str, str]]) -> list[str]:
    """The clip ids of ``(clip_id, url)`` rows cut from an XD-Violence test video, in input order."""
    ids = xd_test_ids()
    return [cid for cid, url in rows if youtube_id(url) in ids]


def warning(clip_ids: list[str]) -> str | None:
    """The build's one warning line (None when no row overlaps)."""
    if not clip_ids:
        return None
    shown = ", ".join(clip_ids[:5]) + (f" and {len(clip_ids) - 5} more" if len(clip_ids) > 5 else "")
    return (f"warning: {len(clip_ids)} row(s) are cut from XD-Violence test videos ({shown}): keep them out of "
            "any split used to train a model scored on the XD-Violence track")
