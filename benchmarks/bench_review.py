"""Measure `vaar review`: keypresses and time to trim N clips onto their events, before and after
the playhead keys, by a scripted curator in headless Chromium.

    .venv/bin/python benchmarks/bench_review.py --clips 20 --seconds 10

Builds N candidate clips of ``--seconds`` each (VGGSound spans are 10 s) with `vaar build
--candidates` (ffmpeg sources served on 127.0.0.1; 4 clips a source) and gives each an event at
30-70 % of the clip (jittered). Two ways to trim every clip onto its event and accept it:

* frames (the keys there were before): the span starts as the built clip; ``]`` moves the start
  one frame later and ``,`` the end one frame earlier until they sit on the event, then ``a``;
* playhead: ``p`` plays (at 2x: two ``=`` presses once per session), ``i`` when the event starts,
  ``o`` when it ends, space, ``a`` (the script waits on the player's clock as a curator waits on
  the sound; it presses no key while it waits).

It prints keypresses per clip and in all, the wall time, and how far the playhead spans land from
the events (the scripted reaction time: the browser's timeupdate granularity). Every reviewed
file passes the source-list validator. It measures keys and tool latency, not a human's pace.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.review import (  # noqa: E402  # noqa: E402
    CHROMIUM_ARGS,
    KeyCounter,
    build_candidates,
    chromium_path,
    trim_at_playhead,
    trim_by_frames,
    wait_saved,
)
from vaar.core.contracts.source_list import read_sources  # noqa: E402
from vaar.curation.review.server import ReviewServer  # noqa: E402
from vaar.curation.review.session import ReviewSession  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each built clip (default 10, as VGGSound)")
    args = ap.parse_args()
    chromium = chromium_path()
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="vaar-bench-review-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        cands, media = build_candidates(root, n_sources=(args.clips + 3) // 4, clips_per_source=4, spanless=False,
                                        clip_seconds=args.seconds)  # fmt: skip
        build_s = time.perf_counter() - t0
        results = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for way in ("frames", "playhead"):
                out = root / way / "reviewed.csv"
                session = ReviewSession(cands, media, out, cache_dir=root / "previews")
                clips = [c for c in session.candidates][: args.clips]
                events = {}
                for c in clips:
                    m = session.media(c.clip_id)
                    assert m is not None, c.clip_id
                    a = m.source_start + round(args.seconds * rng.uniform(0.25, 0.35), 2)
                    b = m.source_start + round(args.seconds * rng.uniform(0.65, 0.75), 2)
                    events[c.clip_id] = ((m.source_start, m.source_start + m.duration), (a, b))
                with ReviewServer(session) as srv:
                    page = browser.new_page(viewport={"width": 1440, "height": 900})
                    page.goto(srv.url)
                    page.wait_for_selector('body[data-ready="1"]')
                    keys = KeyCounter(page)
                    t = time.perf_counter()
                    if way == "playhead":
                        keys.press("=")
                        keys.press("=")  # 2x
                    for i, c in enumerate(clips):
                        built, event = events[c.clip_id]
                        (trim_by_frames if way == "frames" else trim_at_playhead)(page, keys, c.clip_id, built, event)
                        wait_saved(page, i + 1)
                    results[way] = (keys.n, time.perf_counter() - t)
                    page.close()
                valid, invalid = read_sources([out])
                assert len(valid) == len(clips) and not invalid, invalid[:1]
                errs = [max(abs(r.start - events[r.clip_id][1][0]), abs(r.end - events[r.clip_id][1][1])) for r in valid]
                results[way] = (*results[way], statistics.median(errs), max(errs))
            browser.close()
    n = len(clips)
    print(f"built {n} candidate clips of {args.seconds:g} s in {build_s:.1f} s (vaar build --candidates, loopback)")
    for way, (k, s, med, worst) in results.items():
        print(f"{way:>8}: {k} keypresses for {n} clips ({k / n:.1f} a clip), {s:.1f} s; span edges within "
              f"{1000 * med:.0f} ms of the event (median; worst {1000 * worst:.0f} ms); reviewed.csv valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
