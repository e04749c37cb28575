"""Trimming at the playhead in a real headless Chromium, at 1024 and 1440 px wide.

Keys set the span where the playhead is, a click on the strips seeks, a drag moves a span edge,
the playhead and time axes follow, loop and speed work, ``z`` undoes (and the log says so),
filters narrow what ``j``/``k`` visit, a spanless candidate plays its whole-source preview, a
candidate without media shows no broken image, and the layout fits from 1024 px up. Screenshots
land in the ``artefacts`` folder ($VAAR_TEST_ARTEFACTS).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.curation.test_review_browser import CHROMIUM, wait_js
from tests.fixtures.review import CHROMIUM_ARGS, COLUMNS, build_candidates, wait_saved
from vaar.curation.review.server import ReviewServer
from vaar.curation.review.session import ReviewSession

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_candidates(tmp_path_factory.mktemp("review-playhead"))


@pytest.fixture
def page() -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1024, "height": 768})
            pg.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            yield pg, problems
        finally:
            browser.close()


def fits(pg: Any) -> None:
    """Nothing runs off the right edge; the side panel is whole and readable."""
    width = pg.evaluate("window.innerWidth")
    assert pg.evaluate("document.documentElement.scrollWidth") <= width
    box = pg.evaluate("(() => { const r = document.getElementById('info').getBoundingClientRect(); return [r.left, r.right]; })()")
    assert box[1] <= width and box[1] - box[0] >= 260
    player = pg.evaluate("document.getElementById('player').getBoundingClientRect().right")
    assert player <= box[0]


def value(pg: Any, sel: str) -> float:
    return float(pg.input_value(sel))


def track_x(pg: Any, kind: str, frac: float) -> tuple[float, float]:
    box = pg.locator(f'.track[data-kind="{kind}"]').bounding_box()
    return box["x"] + frac * box["width"], box["y"] + (box["height"] - 16) / 2


def test_trim_at_the_playhead(built: tuple[Path, Path], tmp_path: Path, page: tuple[Any, list[str]],
                              artefacts: Path) -> None:  # fmt: skip
    pg, problems = page
    cands, media = built
    out = tmp_path / "reviewed.csv"
    with ReviewServer(ReviewSession(cands, media, out, reviewer="alice")) as srv:
        pg.goto(srv.url)
        pg.wait_for_selector('body[data-ready="1"]')
        assert pg.get_attribute("body", "data-clip") == "cand-0-0" and "reviewer alice" in pg.inner_text("#who")
        wait_js(pg, "document.getElementById('video').readyState >= 1")
        wait_js(pg, "document.getElementById('strip').naturalWidth > 0")
        fits(pg)
        pg.screenshot(path=str(artefacts / "review-1024.png"), full_page=True)
        # the convention, both times, and an axis in clip seconds on all three strips
        assert "seconds in the source video" in pg.inner_text("#convention")
        assert pg.evaluate("document.querySelectorAll('.track .axis span').length") >= 9
        assert pg.evaluate("document.querySelector('.axis span').textContent") == "0 s"
        # cand-0-0 was built from source 0.5-2.5 s: seek +1 s, i; seek +0.5 s, o
        pg.keyboard.press("ArrowRight")
        assert pg.get_attribute("body", "data-playhead") == "1"
        assert pg.evaluate("document.querySelector('.track .playhead').style.left") == "50%"
        pg.keyboard.press("i")
        assert value(pg, "#start") == 1.5  # source seconds = clip 1.0 + built start 0.5
        assert "1.5 s (1)" in pg.inner_text("#dur")
        for _ in range(5):
            pg.keyboard.press("Shift+ArrowRight")  # five frames of 0.04 s
        pg.keyboard.press("o")
        assert value(pg, "#end") == pytest.approx(1.7, abs=1e-6)
        pg.keyboard.press("}")  # one second later, capped by nothing: 2.5 (the built end)
        assert value(pg, "#start") == 2.5
        wait_js(pg, "document.getElementById('status').textContent.includes('start is now after the end')")
        pg.keyboard.press("{")
        assert value(pg, "#start") == 1.5
        # a click on the waveform seeks there; a drag on the end edge moves the end
        x, y = track_x(pg, "wave", 0.25)
        pg.mouse.click(x, y)
        assert float(pg.get_attribute("body", "data-playhead")) == pytest.approx(0.5, abs=0.02)
        x0, y0 = track_x(pg, "spec", 0.6)  # the end (1.7 s source = 1.2 s clip) sits at 60%
        x1, _ = track_x(pg, "spec", 0.9)
        pg.mouse.move(x0, y0)
        pg.mouse.down()
        pg.mouse.move(x1, y0, steps=4)
        pg.mouse.up()
        assert value(pg, "#end") == pytest.approx(0.5 + 1.8, abs=0.03)
        pg.keyboard.press("{")  # 0.5-2.3 s: the clips are at least a second long
        assert value(pg, "#start") == 0.5
        # loop and speed
        pg.keyboard.press("l")
        assert pg.inner_text("#loop") == "loop span on"
        pg.keyboard.press("=")
        assert pg.evaluate("document.getElementById('video').playbackRate") == 1.5
        pg.keyboard.press("-")
        pg.keyboard.press("-")
        assert pg.inner_text("#speed") == "0.75×"
        # accept, then undo: the clip is undecided again, on screen, and the log records the undo
        pg.keyboard.press("a")
        wait_saved(pg, 1)
        assert pg.get_attribute("body", "data-clip") == "cand-0-1"
        assert [r["clip_id"] for r in csv.DictReader(out.open(encoding="utf-8"))] == ["cand-0-0"]
        pg.keyboard.press("z")
        wait_saved(pg, 0)
        assert pg.get_attribute("body", "data-clip") == "cand-0-0" and pg.inner_text("#decision") == "undecided"
        log = [json.loads(x) for x in out.with_name("reviewed.decisions.jsonl").read_text().splitlines()]
        assert [(d["action"], d["reviewer"]) for d in log] == [("accept", "alice"), ("undo", "alice")]
        assert list(csv.DictReader(out.open(encoding="utf-8"))) == []
        # filters: by seed flag; j/k visit only the matches
        pg.select_option("#f-flag", "background_music")
        pg.wait_for_selector('body[data-clip="cand-0-1"]')
        assert "match the filters" in pg.inner_text("#progress")
        pg.keyboard.press("j")
        pg.wait_for_selector('body[data-clip="cand-1-1"]')
        assert "seed: background_music" in pg.inner_text("#flags")
        # the spanless candidate: its whole-source preview plays, the span is marked on it
        pg.select_option("#f-flag", "no_span")
        pg.wait_for_selector('body[data-clip="xd-nospan"]')
        assert "whole-source preview" in pg.inner_text("#mediakind")
        wait_js(pg, "document.getElementById('video').readyState >= 1")
        pg.keyboard.press("ArrowRight")
        pg.keyboard.press("i")
        pg.keyboard.press("ArrowRight")
        pg.keyboard.press("ArrowRight")
        pg.keyboard.press("o")
        pg.keyboard.press("a")
        wait_saved(pg, 1)
        per_class = pg.evaluate("document.getElementById('classes').textContent")  # in a closed <details>
        assert "brawling" in per_class and "1 / 1" in per_class
        pg.set_viewport_size({"width": 1440, "height": 900})
        pg.select_option("#f-flag", "")
        fits(pg)
        pg.screenshot(path=str(artefacts / "review-1440.png"), full_page=True)
        assert problems == []
    rows = {r["clip_id"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert (rows["xd-nospan"]["start"], rows["xd-nospan"]["end"], rows["xd-nospan"]["reviewed_by"]) == ("1", "3", "alice")


def test_candidate_without_media_shows_no_broken_image(built: tuple[Path, Path], tmp_path: Path,
                                                       page: tuple[Any, list[str]]) -> None:  # fmt: skip
    pg, problems = page
    cands, media = built
    extra = tmp_path / "cands.csv"
    rows = list(csv.DictReader(cands.open(encoding="utf-8")))
    rows.insert(0, {**rows[0], "clip_id": "never-built", "notes": ""})
    with open(extra, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with ReviewServer(ReviewSession(extra, media, tmp_path / "reviewed.csv")) as srv:
        pg.goto(srv.url)
        pg.wait_for_selector('body[data-ready="1"]')
        assert pg.get_attribute("body", "data-clip") == "never-built"
        assert pg.evaluate("[...document.querySelectorAll('.track img')].every(i => getComputedStyle(i).display === 'none')")
        assert "not built" in pg.inner_text("#nomedia")
        pg.keyboard.press("i")
        wait_js(pg, "document.getElementById('status').textContent.includes('nothing to play')")
        assert problems == []
