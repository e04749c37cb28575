"""`vaar review` in a real headless Chromium: keyboard review, a reload mid-way, hostile text.

The clips are built by `vaar build --candidates` from ffmpeg sources served on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.review import (
    CHROMIUM_ARGS,
    HOSTILE_NOTE,
    build_candidates,
    chromium_path,
    review_by_keyboard,
    wait_saved,
)
from vaar.core.contracts.source_list import read_sources
from vaar.curation.review.server import ReviewServer
from vaar.curation.review.session import ReviewSession

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


def wait_js(page: Any, expr: str, timeout: float = 30.0) -> None:
    """Poll ``expr`` (page.wait_for_function polls with eval, which the page's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expr):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expr}")
        page.wait_for_timeout(50)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_candidates(tmp_path_factory.mktemp("review-browser"))


@pytest.fixture
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            page.on("request", lambda r: problems.append(f"request {r.url}") if not r.url.startswith("http://127.0.0.1:") else None)
            yield page, problems
        finally:
            browser.close()


def test_keyboard_review_with_reload(built: tuple[Path, Path], tmp_path: Path, browser_page: tuple[Any, list[str]]) -> None:
    cands, media = built
    out = tmp_path / "reviewed.csv"
    page, problems = browser_page
    with ReviewServer(ReviewSession(cands, media, out)) as srv:
        page.goto(srv.url)
        page.wait_for_selector('body[data-ready="1"]')
        assert page.get_attribute("body", "data-clip") == "cand-0-0"
        # the hostile note is shown as text and never runs
        assert HOSTILE_NOTE in page.inner_text("#facts")
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('script').length") == 1
        assert page.evaluate("document.querySelectorAll('#facts img, #facts script').length") == 0
        # the clip plays from the build (HTTP Range), previews drawn by ffmpeg
        wait_js(page, "document.getElementById('video').readyState >= 1")
        assert abs(page.evaluate("document.getElementById('video').duration") - 2.0) < 0.1
        wait_js(page, "document.getElementById('strip').naturalWidth > 0 && document.getElementById('spec').naturalWidth > 0")
        width = page.evaluate("document.querySelector('.track .span').style.width")
        # first two clips by keyboard: cand-0-0 start +1 frame, end -1 frame, relabel (4 = crash)
        review_by_keyboard(page, ["cand-0-0", "cand-0-1"])
        # reload in the middle: resumes at the first undecided row
        page.reload()
        page.wait_for_selector('body[data-ready="1"]')
        assert page.get_attribute("body", "data-clip") == "cand-1-0"
        assert page.inner_text("#progress").endswith("2 decided")
        page.keyboard.press("]")
        page.keyboard.press("]")
        assert page.evaluate("document.querySelector('.track .span').style.width") != width  # span marker moved
        page.keyboard.press("r")
        page.keyboard.type("no audible event")
        page.keyboard.press("Enter")
        page.wait_for_selector('body[data-clip="cand-1-1"]')
        page.keyboard.press("k")  # previous: shows the rejection
        page.wait_for_selector('body[data-clip="cand-1-0"]')
        assert "rejected: no audible event" in page.inner_text("#decision")
        page.keyboard.press("j")
        page.keyboard.press("5")  # relabel: explosion
        page.keyboard.press(".")  # the end one frame past what was built (2.5-4.5 s): a warning first
        page.keyboard.press("a")
        wait_js(page, "document.getElementById('status').textContent.includes('runs outside what was built')")
        assert page.get_attribute("body", "data-clip") == "cand-1-1"
        page.keyboard.press("a")  # accepted on the second press
        page.wait_for_selector('body[data-clip="xd-nospan"]')
        # a candidate without a span cannot be accepted until it is trimmed
        page.keyboard.press("a")
        wait_js(page, "document.getElementById('status').textContent.includes('needs a start and an end')")
        page.fill("#start", "1")
        page.press("#start", "Enter")
        page.fill("#end", "3.5")
        page.press("#end", "Enter")
        page.keyboard.press("a")
        wait_js(page, "document.getElementById('decision').textContent.startsWith('accepted')")
        assert problems == []
        # defence in depth: the CSP blocks inline handlers even if markup got in
        page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"/nope\" onerror=\"window.__pwned=3\">')")
        page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned") is None
    valid, invalid = read_sources([out])
    assert not invalid
    got = {r.clip_id: (r.label, r.start, r.end) for r in valid}
    assert got == {
        "cand-0-0": ("crash", 0.54, 2.46),
        "cand-0-1": ("police_siren", 2.54, 4.46),
        "cand-1-1": ("explosion", 2.5, 4.54),
        "xd-nospan": ("brawling", 1.0, 3.5),
    }
    rejected = list(csv.DictReader(io.StringIO(out.with_name("reviewed.rejected.csv").read_text(encoding="utf-8"))))
    assert [(r["clip_id"], r["reason"], r["seed"]) for r in rejected] == [("cand-1-0", "no audible event", "vggsounder")]


def test_post_without_token_from_the_page_origin_fails(built: tuple[Path, Path], tmp_path: Path,
                                                      browser_page: tuple[Any, list[str]]) -> None:  # fmt: skip
    page, _ = browser_page
    with ReviewServer(ReviewSession(*built, tmp_path / "reviewed.csv")) as srv:
        page.goto(srv.url)
        page.wait_for_selector('body[data-ready="1"]')
        status = page.evaluate("""fetch('/api/decide', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({clip_id: 'cand-0-0', action: 'reject', label: 'crash', reason: 'x'})}).then(r => r.status)""")
        assert status == 403
        assert not (tmp_path / "reviewed.csv").exists()
        page.keyboard.press("a")
        wait_saved(page, 1)
