"""What a robustness run will do before it starts: how many corrupted files it must make and how
many the persistent cache already holds, and a rough time for it (``estimate``).

The time is ``to_make x SECONDS_PER_FILE[stage] / workers`` (one worker per usable CPU), a rough
guess for the sample's clips (160x120, 3 s): measured on a quiet 2-core machine, the five
severities of one corruption of one clip take 0.3-0.7 s of one core together (one decode, one
ffmpeg process; ``av_shift``, which re-muxes each severity, 1.3 s). A larger frame, a longer clip
or a busy machine scales it; the model's own time is outside it (only the model knows it). The
progress bar then shows the time remaining as measured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vaar.robustness.corruptions import get_corruption
from vaar.robustness.media_cache import MediaCache

#: seconds of one core to make one corrupted copy of a sample clip, per stage, when the five
#: severities of a corruption are made together (decode + corrupt + encode)
SECONDS_PER_FILE = {"frames": 0.12, "samples": 0.08, "media": 0.2}


@dataclass(frozen=True)
class Plan:
    clips: int
    conditions: int  # corruption x severity pairs (the clean pass not counted)
    cached: int  # (clip, condition) files already in the cache
    to_make: int
    seconds: float  # rough: making the files only, ``workers`` at once
    workers: int = 1

    def describe(self) -> str:
        mins = self.seconds / 60
        when = f"about {mins:.0f} min" if mins >= 1 else f"about {self.seconds:.0f} s"
        return (f"{self.clips} clips x {self.conditions} conditions: {self.cached} corrupted files cached, "
                f"{self.to_make} to make ({when} with {self.workers} process{'es' if self.workers > 1 else ''}, "
                "plus the model's own time)")


def plan(root: Path, split: str, names: Sequence[str], severities: Sequence[int], seed: int, media_dir: Path,
         workers: int | None = None) -> Plan:  # fmt: skip
    """Count the cached and missing corrupted files of a run (hashes the split's videos once)."""
    from vaar.bench.sandbox import iter_media
    from vaar.core._util.cpus import usable_cpus

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
    to_make = clips * len(conds) - cached
    workers = max(1, min(workers or usable_cpus(), clips))  # default: as ModelScorer.prepare runs them
    return Plan(clips, len(conds), cached, to_make, seconds / workers, workers)
