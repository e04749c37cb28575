"""Preview images of a clip, made with ffmpeg once and cached: frame strip, waveform, spectrogram.

Each image spans the whole built clip (left edge = clip start, right edge = clip end), so the page
can mark the reviewed span over it. The cache key is the clip's sha256 from the manifest (or its
size and mtime), so a rebuilt clip gets new images.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Literal

from vaar._util.atomic import atomic_path
from vaar.curation.media import run_tool
from vaar.errors import StageError

Kind = Literal["strip", "wave", "spec"]
KINDS: tuple[Kind, ...] = ("strip", "wave", "spec")
WIDTH = 800
STRIP_FRAMES = 8


def _filter(kind: Kind, duration: float) -> list[str]:
    if kind == "strip":
        rate = STRIP_FRAMES / max(duration, 0.04)
        tile = WIDTH // STRIP_FRAMES
        return ["-an", "-vf", f"fps={rate:.6f},scale={tile}:-2,tile={STRIP_FRAMES}x1", "-frames:v", "1"]
    if kind == "wave":
        return ["-filter_complex", f"[0:a:0]aformat=channel_layouts=mono,showwavespic=s={WIDTH}x90:colors=#7fd1ff",
                "-frames:v", "1"]  # fmt: skip
    return ["-filter_complex", f"[0:a:0]aformat=channel_layouts=mono,showspectrumpic=s={WIDTH}x120:legend=0:color=magma",
            "-frames:v", "1"]  # fmt: skip


class PreviewCache:
    """``get(kind, clip, key, duration)`` -> PNG path, made at most once per clip and kind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, kind: Kind, video: Path, key: str, duration: float) -> Path:
        name = hashlib.sha256(f"{kind}:{key}:{video.name}".encode()).hexdigest()[:32] + ".png"
        path = self.folder / name
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if path.is_file():
                return path
            with atomic_path(path, suffix=".png") as tmp:
                cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(video), *_filter(kind, duration), str(tmp)]
                proc = run_tool(cmd)
                if proc.returncode != 0 or not tmp.stat().st_size:
                    msg = proc.stderr.decode(errors="replace").strip().splitlines()
                    raise StageError(f"ffmpeg could not draw the {kind}: {msg[-1] if msg else 'no output'}")
        return path
