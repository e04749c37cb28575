"""One clip's work order: what a worker needs to trim, verify and check one clip of a source.

The pipeline (:mod:`vaar.curation.build.pipeline`) makes one per clip once its source is
downloaded and hands it to a worker process; the stages (:mod:`vaar.curation.build.stages`) read
it. It lives on its own so that both can import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vaar.core.contracts.source_list import SourceRow
from vaar.curation.build.media import MediaConfig
from vaar.curation.build.quality import QCConfig


@dataclass(frozen=True)
class ClipTask:
    row: SourceRow
    src: str  # the downloaded source section (a local path)
    offset: float  # seconds of the source before the section's first sample
    has_audio: bool
    info: dict[str, Any]  # yt-dlp's facts about the source (title, uploader, ...)
    out: str  # the build's output folder
    media: MediaConfig
    qc: QCConfig
    versions: dict[str, str]  # vaar, yt-dlp, ffmpeg
