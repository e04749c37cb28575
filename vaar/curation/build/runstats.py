"""What a build run records about itself besides its clips' rows: the wall and CPU time of each
stage, how its sources were fetched and what that cost the site, pauses, and an early stop."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageTimes:
    """Wall and CPU seconds per stage of a run. Download threads overlap (wall is summed over
    sources); the CPU of a clip stage includes its ffmpeg; resolve and download count the
    download thread's own CPU (yt-dlp, Range requests), not its ffmpeg children."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, wall: float, cpu: float) -> None:
        self.wall[stage] = self.wall.get(stage, 0.0) + wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {k: {"wall_s": round(self.wall.get(k, 0.0), 3), "cpu_s": round(self.cpu.get(k, 0.0), 3)} for k in STAGE_NAMES}


STAGE_NAMES = ("resolve", "download", "trim+checks", "verify", "ledger", "publish")
STAGE_OF = {"trim": "trim+checks", "sync": "trim+checks", "quality": "trim+checks", "verify": "verify"}


def clock() -> tuple[float, float]:
    """(wall, CPU of this process and its finished children) now."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), time.process_time() + kids.ru_utime + kids.ru_stime


def since(start: tuple[float, float]) -> tuple[float, float]:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


def stage_of(clip_stage: str) -> str:
    """The row of the time table a per-clip stage (:data:`vaar.curation.build.stages.CLIP_STAGES`) adds to."""
    return STAGE_OF.get(clip_stage, clip_stage)


@dataclass
class RunLog:
    """What one run did besides its clips' rows: time per stage, how sources were fetched (and
    what it cost the site), throttling pauses, rebuilds for changed settings, an early stop."""

    stages: StageTimes = field(default_factory=StageTimes)
    fetch: Counter[str] = field(default_factory=Counter)  # sources by method (index, section, full)
    fallbacks: Counter[str] = field(default_factory=Counter)  # why the index could not be used
    fetched_bytes: int = 0
    requests: int = 0
    throttle_pauses: int = 0
    pauses_before: int = 0
    rebuilt: Counter[str] = field(default_factory=Counter)  # setting -> clips rebuilt because it changed
    recorded: int = 0
    pending: int = 0  # clips not attempted (the run stopped): a plain rerun builds them
    stopped: str | None = None  # why the run stopped early (repeated bot checks)

    def add_fetch(self, fetch: dict[str, Any]) -> None:
        method = str(fetch.get("method") or "?")
        self.fetch[method + (" (cached)" if fetch.get("cached") else "")] += 1
        if method == "section" and fetch.get("why"):
            self.fallbacks[str(fetch["why"])] += 1
        self.fetched_bytes += int(fetch.get("bytes") or 0)
        self.requests += int(fetch.get("requests") or 0)
        for stage in ("resolve", "download"):
            self.stages.add(stage, float(fetch.get(f"{stage}_wall_s") or 0), float(fetch.get(f"{stage}_cpu_s") or 0))

    def add_clip(self, times: dict[str, tuple[float, float]]) -> None:
        self.recorded += 1
        for stage, (wall, cpu) in times.items():
            self.stages.add(stage_of(stage), wall, cpu)

    def close(self, todo: int, pauses_now: int) -> RunLog:
        self.pending = todo - self.recorded
        self.throttle_pauses = pauses_now - self.pauses_before
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"stages": self.stages.as_dict(), "fetch": dict(self.fetch), "fallbacks": dict(self.fallbacks),
                "fetched_bytes": self.fetched_bytes, "requests": self.requests,
                "throttle_pauses": self.throttle_pauses, "rebuilt_for_settings": dict(self.rebuilt),
                "pending": self.pending, "stopped": self.stopped}


def thread_clock() -> tuple[float, float]:
    """(wall, CPU of this thread and of the finished children of this process) now: a download
    thread's clock. With downloads overlapping, a child's CPU lands on whichever thread's span
    it finished in, so the per-stage split is approximate; the run's total is not."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), time.thread_time() + kids.ru_utime + kids.ru_stime
