"""Preview images of a clip, made with ffmpeg once and cached: frame strip, waveform, spectrogram.

One ffmpeg run draws the three (the clip is decoded once). Each image spans the whole built clip (left edge = clip start, right edge = clip end), so the page
can mark the reviewed span over it. The cache key is the clip's sha256 from the manifest (or its
size and mtime), so a rebuilt clip gets new images.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Literal

from vaar.core._util.atomic import atomic_path
from vaar.core.errors import StageError
from vaar.curation.build.media import run_tool

Kind = Literal["strip", "wave", "spec"]
KINDS: tuple[Kind, ...] = ("strip", "wave", "spec")
WIDTH = 800
STRIP_FRAMES = 8


def _graph(duration: float) -> str:
    """One filter graph, three pictures: the video is decoded once, the audio once."""
    rate = STRIP_FRAMES / max(duration, 0.04)
    tile = WIDTH // STRIP_FRAMES
    return (
        f"[0:v:0]fps={rate:.6f},scale={tile}:-2,tile={STRIP_FRAMES}x1[strip];"
        "[0:a:0]aformat=channel_layouts=mono,asplit[a1][a2];"
        f"[a1]showwavespic=s={WIDTH}x90:colors=#7fd1ff[wave];"
        f"[a2]showspectrumpic=s={WIDTH}x120:legend=0:color=magma[spec]"
    )


class PreviewCache:
    """``get(kind, clip, key, duration)`` -> PNG path; one ffmpeg run draws a clip's three images."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _path(self, kind: Kind, video: Path, key: str) -> Path:
        return self.folder / (hashlib.sha256(f"{kind}:{key}:{video.name}".encode()).hexdigest()[:32] + ".png")

    def get(self, kind: Kind, video: Path, key: str, duration: float) -> Path:
        paths = {k: self._path(k, video, key) for k in KINDS}
        with self._guard:
            lock = self._locks.setdefault(paths["strip"].name, threading.Lock())
        with lock:
            if not paths[kind].is_file():
                self._draw(video, duration, paths)
        return paths[kind]

    def _draw(self, video: Path, duration: float, paths: dict[Kind, Path]) -> None:
        with ExitStack() as stack:
            tmps = {k: stack.enter_context(atomic_path(p, suffix=".png")) for k, p in paths.items()}
            cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(video), "-filter_complex", _graph(duration)]
            for k in KINDS:
                cmd += ["-map", f"[{k}]", "-frames:v", "1", str(tmps[k])]
            proc = run_tool(cmd)
            if proc.returncode != 0 or not all(t.stat().st_size for t in tmps.values()):
                msg = proc.stderr.decode(errors="replace").strip().splitlines()
                raise StageError(f"ffmpeg could not draw the previews: {msg[-1] if msg else 'no output'}")
