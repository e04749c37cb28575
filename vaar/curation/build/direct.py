"""A direct media file (a URL that is itself an MP4, WebM, …) recognised from one ``HEAD`` request.

Used by :mod:`vaar.curation.build.download` before asking yt-dlp to extract: yt-dlp's generic
extractor finds a direct link from a ``GET`` whose body the server sends in full.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import PurePosixPath
from typing import Any

_DIRECT_TYPE = re.compile(r"(audio|video)/([a-z0-9.+-]+)$")
_MANIFEST_TYPES = ("mpegurl", "dash", "f4m", "smil")


def direct_info(ydl: Any, url: str) -> dict[str, Any] | None:
    """The info of a direct media file from a ``HEAD`` request (body not sent), else None.

    Mirrors yt-dlp's generic extractor for a direct link, which finds it from a ``GET`` whose
    body the server sends in full. None (let yt-dlp extract) when a site extractor claims the
    URL, the server refuses ``HEAD``, or the type is not a single audio/video file.
    """
    from yt_dlp.networking import HEADRequest
    from yt_dlp.networking.exceptions import RequestError
    from yt_dlp.utils import determine_ext, mimetype2ext

    if any(key != "Generic" and ie.suitable(url) for key, ie in ydl._ies.items()):
        return None
    try:
        resp = ydl.urlopen(HEADRequest(url, headers={"Accept-Encoding": "identity"}))
    except RequestError:
        return None
    try:
        ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        final = str(resp.url)
    finally:
        resp.close()
    m = _DIRECT_TYPE.match(ctype)
    if not m or any(t in m.group(2) for t in _MANIFEST_TYPES):
        return None
    stem = PurePosixPath(final.split("?")[0].rstrip("/").split("/")[-1]).stem
    name = urllib.parse.unquote(stem) or "video"
    ext = determine_ext(final, default_ext=None) or mimetype2ext(ctype, default=None) or "mp4"
    fmt = {"format_id": m.group(2), "url": final, "ext": ext, "vcodec": "none" if m.group(1) == "audio" else None}
    info = {"id": name, "title": name, "formats": [fmt], "direct": True, "webpage_url": final,
            "extractor": "generic", "extractor_key": "Generic", "original_url": url}  # fmt: skip
    processed: dict[str, Any] | None = ydl.process_ie_result(info, download=False)
    return processed
