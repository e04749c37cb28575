"""Politeness helpers: the shared pause, the per-host cap, yt-dlp's sleep options."""

from __future__ import annotations

import threading
import time

from vaar.curation.build.download import DownloadConfig, _params
from vaar.curation.build.polite import Gate, host_slot


def test_a_pause_holds_every_waiting_thread_and_only_ever_extends() -> None:
    gate = Gate()
    gate.pause(0.3)
    gate.pause(0.1)  # a shorter pause does not cut the longer one short
    assert gate.pauses == 1 and gate.remaining() > 0.15
    woke: list[float] = []
    threads = [threading.Thread(target=lambda: (gate.wait(), woke.append(gate.remaining()))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert woke == [0.0, 0.0, 0.0]


def test_the_per_host_cap_bounds_concurrent_downloads_of_one_host() -> None:
    held, peak, lock = [0], [0], threading.Lock()

    def download(host: str) -> None:
        with host_slot(host, 2):
            with lock:
                held[0] += 1
                peak[0] = max(peak[0], held[0])
            time.sleep(0.05)
            with lock:
                held[0] -= 1

    threads = [threading.Thread(target=download, args=("Example.org",)) for _ in range(6)]
    threads += [threading.Thread(target=download, args=("other.org",))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] <= 3  # two of example.org (any case) plus the other host


def test_sleep_options_reach_yt_dlp() -> None:
    params = _params(DownloadConfig(sleep_requests=0.75, sleep_interval=2.0), "%(id)s.%(ext)s")
    assert params["sleep_interval_requests"] == 0.75 and params["sleep_interval"] == 2.0
    assert "sleep_interval" not in _params(DownloadConfig(), "%(id)s.%(ext)s")
