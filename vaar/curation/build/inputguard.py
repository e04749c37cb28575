"""What ffmpeg and ffprobe may do with a downloaded (untrusted) file: demux one media container.

A server can answer ``clip.mp4`` with an HLS playlist (``#EXTM3U`` … ``file:///home/…/secret.ts``),
a DASH manifest or an ffconcat script. ffmpeg probes content, not names, so without limits it
opens the playlist and reads the local files it names, and the build publishes them. Two locks:

* :func:`sniff_problem` refuses a file whose first bytes are a playlist, manifest, script or
  plain text (a clear ``failed`` row: "download is an HLS playlist ...");
* :func:`input_args` go before ``-i`` of every ffmpeg/ffprobe run on such a file: only the
  ``file`` protocol (no network, no nested ``http``/``data``) and only the demuxers of real
  container formats (:data:`MEDIA_FORMATS`; not ``hls``, ``dash``, ``concat``, ``image2``, …).

Both are part of :class:`vaar.curation.build.media.MediaConfig` use, so they hold in every worker
process and on every Ray node that trims a clip.
"""

from __future__ import annotations

from pathlib import Path

#: ffmpeg demuxers accepted for downloaded media (``ffmpeg -demuxers``): ISO-BMFF/QuickTime,
#: Matroska/WebM, MPEG-TS (HLS downloads), FLV, AVI, Ogg, and plain audio containers.
MEDIA_FORMATS = "mov,mp4,m4a,3gp,matroska,webm,mpegts,flv,avi,ogg,wav,mp3,aac,flac"

_MARKERS: tuple[tuple[bytes, str], ...] = (
    (b"#EXTM3U", "an HLS playlist (#EXTM3U)"),
    (b"#EXT", "an HLS playlist (#EXT)"),
    (b"[playlist]", "a PLS playlist"),
    (b"ffconcat", "an ffconcat script"),
    (b"<?xml", "an XML document (DASH manifest or playlist)"),
    (b"<MPD", "a DASH manifest"),
    (b"<smil", "a SMIL playlist"),
    (b"<asx", "an ASX playlist"),
    (b"#!", "a script"),
)


def input_args(formats: str = MEDIA_FORMATS) -> list[str]:
    """ffmpeg/ffprobe input options: the ``file`` protocol and the ``formats`` demuxers only."""
    return ["-protocol_whitelist", "file", "-format_whitelist", formats]


def sniff_problem(path: Path) -> str | None:
    """Why ``path`` is not a media file (a playlist, manifest, script, text), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        return f"cannot read the downloaded file: {exc.strerror or exc}"
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff\x00 \t\r\n").lower()
    for marker, what in _MARKERS:
        if text.startswith(marker.lower()):
            return f"download is {what}, not a media file; playlists and manifests are refused"
    if head and _is_text(head):
        return "download is a text file, not a media file"
    return None


def _is_text(head: bytes) -> bool:
    """No container starts with printable text only (MP4 boxes carry NUL bytes in their size)."""
    if b"\x00" in head:
        return False
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the read
            return False
        decoded = head[: exc.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\r\n" for c in decoded)
