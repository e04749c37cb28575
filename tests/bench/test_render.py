"""Golden files for a score report and the rendered leaderboard; the page in real Chromium.

Regenerate the golden files on purpose with ``VAAR_UPDATE_GOLDEN=1 pytest tests/bench/test_render.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.bench.benchdata import SLUGS, make_scores, make_truth
from vaar.bench.leaderboard import dumps_entry, rerender
from vaar.bench.make_entry import Cost, DatasetRef, Entry, ModelMeta
from vaar.bench.render import render_html, render_markdown
from vaar.bench.tasks import ScoreReport, get_task
from vaar.bench.truth import LabelSet
from vaar.bench.vaar_tasks import ClipPredictions

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("VAAR_UPDATE_GOLDEN") == "1"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def fixed_report(seed: int, noise: float) -> ScoreReport:
    ids, y = make_truth(300, seed=11)
    scores = make_scores(y, seed=seed)
    rng = np.random.default_rng(seed)
    scores = scores + noise * rng.random(scores.shape)
    truth = LabelSet(tuple(ids), y, "ab" * 32, "test.csv", "test")
    preds = ClipPredictions(scores.argmax(axis=1), scores, 1 - scores[:, SLUGS.index("normal")], "cd" * 32, "p.csv")
    return get_task("vaar-cls").score(preds, truth, resamples=200, seed=0)


MEASUREMENT = {"latency": "scored requests", "batch_size": 8, "requests": 2, "single_clip_requests": 0,
               "sandbox": {"user": "separate user (uid 1)", "processes": "pid namespace",
                           "memory": "cgroup v1 memory for the process tree, 8192 MB",
                           "network": "none (network namespace)"}}


def fixed_entries() -> list[dict[str, Any]]:
    ds = DatasetRef("vaar-v1", "test", "ab" * 32, "1.0.0")
    rows = [
        ("AVAR-Net (reimpl.)", 0.2, Cost(342_184, 41.5, 16, "cpu", 4, True, MEASUREMENT), ("audio", "video"), "https://example.org/avarnet"),
        ("Audio only", 0.6, Cost(339_112, 12.25, 16, "cpu", 4, True, MEASUREMENT), ("audio",), None),
        ("Video only <script>", 0.9, Cost(), ("video",), None),
    ]
    out = []
    for i, (name, noise, cost, mods, url) in enumerate(rows):
        entry = Entry(slug=f"m{i}", model=ModelMeta(name, url, mods), report=fixed_report(i, noise), dataset=ds,
                      predictions_sha256="ef" * 32, cost=cost, date="2025-11-26", vaar_version="0.1.0")
        out.append(json.loads(dumps_entry(entry.to_dict())))
    xd = ScoreReport("xd-violence", 800, "12" * 32, "pr_auc", {"pr_auc": 0.8123, "ap": 0.8101},
                     {"pr_auc": [0.79, 0.83], "ap": [0.788, 0.829]}, {}, 1000, 0, {"frames": 1000})
    out.append(Entry(slug="xd-base", model=ModelMeta("XD baseline", None, ("audio", "video")), report=xd,
                     dataset=DatasetRef("annotations.txt", None, "12" * 32), predictions_sha256="34" * 32,
                     cost=Cost(1_200_000, 3.2, 16, "cpu", 4, True, MEASUREMENT), date="2025-11-25", vaar_version="0.1.0").to_dict())
    return out


REGEN = "VAAR_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/bench/test_render.py"


def check_golden(name: str, text: str, golden: Path = GOLDEN) -> None:
    """``text`` equals the golden file; only ``VAAR_UPDATE_GOLDEN=1`` writes one (never a miss)."""
    path = golden / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; regenerate it on purpose with: {REGEN}")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; regenerate on purpose with: {REGEN}"


def test_missing_golden_fails_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="missing; regenerate it on purpose with: VAAR_UPDATE"):
        check_golden("nope.md", "text", golden=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_golden_score_report() -> None:
    data = fixed_report(0, 0.2).to_dict()
    path = GOLDEN / "score_vaar_cls.json"
    if UPDATE:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"{path} is missing: regenerate with VAAR_UPDATE_GOLDEN=1 pytest tests/bench/test_render.py"
    want = json.loads(path.read_text(encoding="utf-8"))

    def close(a: Any, b: Any) -> bool:
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
        if isinstance(a, list):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, float):
            return abs(a - b) < 1e-9
        return bool(a == b)

    assert close(data, want)


def test_golden_leaderboard() -> None:
    entries = fixed_entries()
    check_golden("LEADERBOARD.md", render_markdown(entries))
    check_golden("index.html", render_html(entries))


def test_page_is_self_contained_and_escaped() -> None:
    html = render_html(fixed_entries())
    assert "<script>" in html and "Video only &lt;script&gt;" in html and "Video only <script>" not in html
    for bad in ("http://cdn", "https://cdn", "<link", "src=\"http", "@import"):
        assert bad not in html
    for cited in ("arXiv:2510.13630", "MACIL-SD", "HyperVD", "MAVD", "89.29", "83.40", "85.67", "86.07", "88.56"):
        assert cited in html
    assert html.count('<span class="badge">reported, not reproduced</span>') == 6  # with CFA
    md = render_markdown(fixed_entries())
    assert "Reported in papers, not reproduced here" in md and "89.29" in md


def test_rerender_from_disk(tmp_path: Path) -> None:
    for e in fixed_entries():
        p = tmp_path / "entries" / e["task"] / f"{e['slug']}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(dumps_entry(e))
    rerender(tmp_path)
    assert (tmp_path / "LEADERBOARD.md").read_text() == render_markdown(fixed_entries())


def launch(pw: Any) -> Any:
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_page_in_headless_chromium(tmp_path: Path, artefacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    entries = fixed_entries()
    page_path = tmp_path / "index.html"
    page_path.write_text(render_html(entries), encoding="utf-8")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append(f"network request {r.url}") if not r.url.startswith(("file:", "data:", "about:")) else None)
            page.goto(page_path.as_uri())
            text = page.inner_text("body")
            for e in entries:
                assert e["model"]["name"] in text
            for model in ("MACIL-SD", "HyperVD", "MAVD"):
                assert model in text
            table = "#board-vaar-cls"

            def names() -> list[str]:
                return page.eval_on_selector_all(f"{table} tbody tr", "rs => rs.map(r => r.cells[1].getAttribute('data-value'))")

            def column(key: str) -> list[float | None]:
                idx = page.eval_on_selector_all(f"{table} thead th", f"hs => hs.findIndex(h => h.dataset.key === '{key}')")
                vals = page.eval_on_selector_all(f"{table} tbody tr", f"rs => rs.map(r => r.cells[{idx}].getAttribute('data-value'))")
                return [float(v) if v else None for v in vals]

            main = [v for v in column("macro_f1") if v is not None]
            assert main == sorted(main, reverse=True)  # rendered sorted by the main score
            page.click(f"{table} thead th:nth-child(2)")  # Model, ascending
            got = names()
            assert got == sorted(got, key=str.lower)
            page.click(f"{table} thead th[data-key=latency]")  # the best first: the fastest
            lat = [v for v in column("latency") if v is not None]
            assert lat == sorted(lat) and len(lat) == 2
            assert column("latency")[-1] is None  # missing values last
            assert page.get_attribute(f"{table} thead th[data-key=latency]", "aria-sort") == "ascending"
            page.click(f"{table} thead th[data-key=latency]")
            lat = [v for v in column("latency") if v is not None]
            assert lat == sorted(lat, reverse=True)
            page.click(f"{table} thead th[data-key=macro_f1]")  # a score: the highest first
            main = [v for v in column("macro_f1") if v is not None]
            assert main == sorted(main, reverse=True)
            assert page.locator("#plot-vaar-cls circle.point").count() == 2
            assert page.locator("#plot-xd-violence line[stroke-dasharray]").count() == 5  # reported XD results, CFA included
            # every table says what it compares on; the plot lists what it could not place
            assert "Compared on: dataset" in page.inner_text("#task-vaar-cls p.provenance")
            assert "Not on the plot" in page.inner_text("#task-vaar-cls")
            for width in (1024, 1440):
                page.set_viewport_size({"width": width, "height": 900})
                # model names stay on one line (no towers); nothing runs off the page
                lines = page.eval_on_selector_all(f"{table} td.m", """ts => ts.map(t => {
                    const w = document.createTreeWalker(t, NodeFilter.SHOW_TEXT); const n = w.nextNode();
                    const r = document.createRange(); r.selectNodeContents(n); return r.getClientRects().length; })""")
                assert lines and max(lines) == 1, lines
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=str(artefacts / f"leaderboard-{width}.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []


XSS = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


def hostile_entries() -> list[dict[str, Any]]:
    """Entries as a pull request could write them, before validation: every string is an attack."""
    out = fixed_entries()
    e = out[0]
    e["task"] = "zz" + XSS
    e["slug"] = "s" + XSS
    e["main_score"] = "k" + XSS
    e["scores"] = {"k" + XSS: 0.5}
    e["ci95"] = {"k" + XSS: [0.4, 0.6]}
    e["model"]["name"] = "![img](https://evil.example/x.png) [click](javascript:alert(1)) a|b\nc<d>" + XSS
    e["model"]["url"] = "javascript:window.__pwned=1"
    e["model"]["modalities"] = ["audio" + XSS]
    e["date"] = "2025" + XSS
    e["dataset"]["split_sha256"] = "x" + XSS
    out[1]["model"]["url"] = 'https://example.org/" onmouseover="window.__pwned=1'
    return out


def test_every_value_is_escaped() -> None:
    html = render_html(hostile_entries())
    assert "<script>window.__pwned" not in html and "<img" not in html and "onerror=\"" not in html
    assert 'href="javascript:' not in html and "onmouseover=\"" not in html
    assert html.count("<script>") == 1  # the page's own
    assert 'http-equiv="Content-Security-Policy"' in html and "script-src 'sha256-" in html
    md = render_markdown(hostile_entries())
    assert not re.search(r"(?<!\\)\]\(javascript:", md) and "![" not in md and "<script" not in md and "<img" not in md
    lines = md.splitlines()
    at = next(i for i, line in enumerate(lines) if "evil.example" in line)
    unescaped = lines[at].replace("\\|", "")
    header = next(line for line in reversed(lines[:at]) if line.startswith("| #"))
    assert unescaped.count("|") == header.count("|")  # the name cannot add a cell


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_hostile_page_runs_no_script_and_csp_blocks_injected_script(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    hostile = render_html(hostile_entries())
    # as if escaping had a hole: the CSP must still stop an inline script and an inline handler
    holed = render_html(fixed_entries()).replace(
        "<h1>", '<img src="data:," onerror="window.__pwned=2"><script>window.__pwned=3</script><h1>', 1)
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            for name, text in (("hostile", hostile), ("holed", holed)):
                path = tmp_path / f"{name}.html"
                path.write_text(text, encoding="utf-8")
                page = browser.new_page()
                dialogs: list[str] = []
                page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
                page.goto(path.as_uri())
                assert page.evaluate("window.__pwned") is None, name
                assert dialogs == []
                page.click("#board-vaar-cls thead th:nth-child(2)")  # the page's own script still runs
                assert page.get_attribute("#board-vaar-cls thead th:nth-child(2)", "aria-sort") == "ascending"
                if name == "hostile":
                    assert XSS in page.inner_text("body")  # shown as text
                page.close()
        finally:
            browser.close()


def test_invalid_entry_is_skipped_not_fatal(tmp_path: Path) -> None:
    entries = fixed_entries()
    for e in entries:
        p = tmp_path / "entries" / e["task"] / f"{e['slug']}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(dumps_entry(e))
    bad = tmp_path / "entries" / "vaar-cls" / "evil.json"
    bad.write_text(json.dumps({**entries[0], "slug": "evil", "task": 'zz"><script>alert(1)</script>'}))
    (tmp_path / "entries" / "vaar-cls" / "broken.json").write_text("{not json")
    paths, board = rerender(tmp_path)
    assert len(board.entries) == len(entries)
    assert [s.split(":")[0] for s in board.skipped] == [str(tmp_path / "entries/vaar-cls/broken.json"),
                                                         str(bad)]
    assert (tmp_path / "LEADERBOARD.md").read_text() == render_markdown(entries)
