"""Measure `vaar review`: the scripted time to review N clips with the keyboard in Chromium.

    .venv/bin/python benchmarks/bench_review.py --clips 20

Builds N clips with `vaar build --candidates` (ffmpeg sources served on 127.0.0.1; 4 clips a
source), serves the review page, and drives headless Chromium with keys only, as
tests/curation/test_review_browser.py does: per clip two frame nudges (`]`, `,`), a relabel on
every third (`4`), then `a`; every fifth is rejected (`r`, a reason, Enter). The time runs from
the page being ready to the N-th decision written to disk (reviewed.csv + decisions log). Two
passes: previews drawn on demand (each clip's strip, waveform and spectrogram by ffmpeg, the next
three drawn ahead, all competing for the CPU with the scripted curator), then a fresh review with
the previews cached. It measures the tool's latency under a scripted curator, not a human's pace.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.review import CHROMIUM_ARGS, build_candidates, chromium_path, review_by_keyboard  # noqa: E402
from vaar.core.contracts.source_list import read_sources  # noqa: E402
from vaar.curation.review.server import ReviewServer  # noqa: E402
from vaar.curation.review.session import ReviewSession  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=20)
    args = ap.parse_args()
    chromium = chromium_path()
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vaar-bench-review-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        cands, media = build_candidates(root, n_sources=(args.clips + 3) // 4, clips_per_source=4, spanless=False)
        build_s = time.perf_counter() - t0
        cache = root / "previews"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            times = []
            for run in ("cold", "warm"):  # warm: the previews are cached (a second curator, a reopen)
                out = root / run / "reviewed.csv"
                session = ReviewSession(cands, media, out, cache_dir=cache)
                ids = [c.clip_id for c in session.candidates][: args.clips]
                with ReviewServer(session) as srv:
                    page = browser.new_page()
                    page.goto(srv.url)
                    page.wait_for_selector('body[data-ready="1"]')
                    t = time.perf_counter()
                    done = review_by_keyboard(page, ids)
                    times.append(time.perf_counter() - t)
                    page.close()
                valid, invalid = read_sources([out])
                accepted = sum(1 for a in done.values() if a == "accept")
                assert len(valid) == accepted and not invalid, (len(valid), accepted, invalid[:1])
            browser.close()
    print(f"built {len(ids)} candidate clips in {build_s:.1f} s (vaar build --candidates, loopback)")
    for run, s in zip(("previews drawn on demand", "previews cached"), times, strict=True):
        print(f"reviewed {len(ids)} clips by keyboard in {s:.2f} s ({1000 * s / len(ids):.0f} ms a clip; {run}; "
              f"{accepted} accepted, {len(ids) - accepted} rejected); reviewed.csv passes the source-list validator")
    return 0


if __name__ == "__main__":
    sys.exit(main())
