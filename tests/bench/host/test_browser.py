"""The host's page in headless Chromium: log in with a token, upload, watch it get scored, a 422
message for a bad file, CSRF refused without the token, and the CSP of the static leaderboard."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("playwright")

from tests.bench.host.hostkit import cli, env, make_host, uvicorn_server, write_preds  # noqa: E402
from tests.bench.test_render import CHROMIUM, launch  # noqa: E402
from vaar.bench.host.pages import CSP  # noqa: E402
from vaar.bench.host.store import add_team  # noqa: E402

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_login_upload_scored_422_csrf_csp(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    h = make_host(tmp_path, n=100, resamples=20)
    token = add_team(h["root"] / "host.db", EVIL)
    good = write_preds(tmp_path / "good.csv", h["ids"], h["labels"])
    bad = write_preds(tmp_path / "bad.csv", h["ids"][:5], h["labels"][:5])
    problems: list[str] = []
    with uvicorn_server(h["root"]) as url:
        worker = subprocess.Popen(cli("worker", str(h["root"]), "--poll", "0.2"), env=env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with sync_playwright() as pw:
                browser = launch(pw)
                try:
                    page = browser.new_page()
                    page.on("dialog", lambda d: (problems.append(f"dialog {d.message}"), d.dismiss()))
                    page.on("request", lambda r: problems.append(f"request {r.url}")
                            if not r.url.startswith(url) else None)
                    first = page.goto(url + "/")
                    assert first is not None and first.headers["content-security-policy"] == CSP
                    assert "frame-ancestors 'none'" in CSP and "script-src 'none'" in CSP
                    page.fill("input[name=token]", token)
                    page.click("button[type=submit]")
                    assert page.inner_text("#team") == EVIL  # shown as text, never run
                    page.set_input_files("input[name=file]", str(good))
                    page.click("#upload")
                    _until(page, lambda: page.inner_text("#sub-1 .status") == "scored")
                    assert page.inner_text("#sub-1 .released") == "macro_f1 100.0"
                    page.set_input_files("input[name=file]", str(bad))
                    with page.expect_response(lambda r: r.url.endswith("/submit")) as resp:
                        page.click("#upload")
                    assert resp.value.status == 422
                    assert page.inner_text("#error").startswith("bad.csv:")
                    assert page.locator("#sub-2").count() == 0  # refused: no row, no quota
                    # CSRF: the browser's own cookies, but no (or a wrong) token -> 403, nothing queued
                    for form in ({"task": "vaar-cls"}, {"task": "vaar-cls", "csrf": "forged"}):
                        r = page.request.post(url + "/submit", multipart={
                            **form, "file": {"name": "good.csv", "mimeType": "text/csv", "buffer": good.read_bytes()}})
                        assert r.status == 403
                    r = page.request.post(url + "/select", form={"task": "vaar-cls", "ids": "1"})
                    assert r.status == 403
                    page.reload()
                    assert page.locator("#sub-2").count() == 0
                    board = page.goto(url + "/leaderboard")
                    assert board is not None and board.headers["content-security-policy"] == CSP
                    assert EVIL in page.inner_text("body")
                finally:
                    browser.close()
        finally:
            worker.terminate()
            worker.wait(20)
    assert not problems, problems


def _until(page: Any, ok: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        assert time.monotonic() < deadline, page.content()[-2000:]
        time.sleep(0.3)
        page.reload()
