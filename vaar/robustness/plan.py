"""What a robustness run will do before it starts: how many corrupted files it must make and how
many the persistent cache already holds, and a rough time for it (``estimate``).

The time is ``to_make x SECONDS_PER_FILE[stage]``, a rough guess for the sample's clips (160x120,
3 s) on a quiet 2-core machine: on the shared development machine (load 15-21) the 1,800 files
took 18 min wall with six processes, about 3.6 s of wall per file per process, and the constants
assume a machine ten times less busy. A larger frame, a longer clip or a busy machine scales it;
the model's own time is outside it (only the model knows it). The progress bar then shows the
time remaining as measured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vaar.robustness.corruptions import get_corruption
from vaar.robustness.media_cache import MediaCache

#: seconds to make one corrupted copy of a sample clip, per stage (decode + corrupt + encode)
SECONDS_PER_FILE = {"frames": 0.35, "samples": 0.2, "media": 0.15}


@dataclass(frozen=True)
class Plan:
    clips: int
    conditions: int  # corruption x severity pairs (the clean pass not counted)
    cached: int  # (clip, condition) files already in the cache
    to_make: int
    seconds: float  # rough: making the files only

    def describe(self) -> str:
        mins = self.seconds / 60
        return (f"{self.clips} clips x {self.conditions} conditions: {self.cached} corrupted files cached, "
                f"{self.to_make} to make (about {mins:.0f} min on 2 cores, plus the model's own time)")


def plan(root: Path, split: str, names: Sequence[str], severities: Sequence[int], seed: int, media_dir: Path) -> Plan:
    """Count the cached and missing corrupted files of a run (hashes the split's videos once)."""
    from vaar.bench.sandbox import iter_media

    cache = MediaCache(media_dir)
    clips = cached = 0
    seconds = 0.0
    conds = [(get_corruption(n), s) for n in names for s in severities]
    for batch in iter_media(root, split, 16):
        for clip in batch:
            clips += 1
            key = hashlib.sha256(clip.video).hexdigest()
            suffix = Path(clip.video_path or "c.mp4").suffix or ".mp4"
            for c, s in conds:
                if cache.path(c.name, s, seed, key, "video", suffix).is_file():
                    cached += 1
                else:
                    seconds += SECONDS_PER_FILE[c.stage]
    return Plan(clips, len(conds), cached, clips * len(conds) - cached, seconds)
