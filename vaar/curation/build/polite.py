"""Politeness towards the sites a build downloads from: one pause for every download thread.

A site that answers ``429 Too Many Requests`` (or asks to "confirm you're not a bot") is telling
the *client* to slow down, not one request: a run whose workers each retry on their own keeps
hammering and gets the curator's address blocked for hours. So the first such answer pauses
every download thread of the process (:data:`GATE`) for the ``Retry-After`` the site asked for,
or an exponential backoff; every request made through the guarded ``YoutubeDL``
(:func:`vaar.curation.build.download.guarded_youtubedl`) waits at the gate first. The per-host cap
(:func:`host_slot`) bounds how many sources of one host download at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Gate:
    """A pause shared by the threads of one process; ``pause`` only ever extends it."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()
        self.pauses = 0
        self.paused_s = 0.0

    def pause(self, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            until = now + max(0.0, seconds)
            if until > self._until:
                self.paused_s += until - max(now, self._until)
                self._until = until
                self.pauses += 1

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - time.monotonic())

    def wait(self) -> None:
        """Return once no pause is in force (sleeping in short steps, so a longer pause set
        meanwhile is honoured too)."""
        while True:
            left = self.remaining()
            if left <= 0:
                return
            time.sleep(min(left, 0.25))


GATE = Gate()
"""The build process's gate (download threads live in the driver process)."""

_SLOTS: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SLOTS_LOCK = threading.Lock()


@contextmanager
def host_slot(host: str, cap: int) -> Iterator[None]:
    """Hold one of ``cap`` download slots of ``host`` (``cap`` < 1: no cap)."""
    if cap < 1:
        yield
        return
    with _SLOTS_LOCK:
        sem = _SLOTS.setdefault((host.lower(), cap), threading.BoundedSemaphore(cap))
    with sem:
        yield
