"""The leaderboard's robustness column and section: rendered, escaped, and in real Chromium."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tests.bench.test_render import CHROMIUM, fixed_entries
from vaar.bench.render import render_html, render_markdown
from vaar.robustness.board import robustness_of

SEVS = [1, 2, 3, 4, 5]


def block(mcf1: float, **extra: Any) -> dict[str, Any]:
    """A complete block (every registered corruption x severity) whose matrix averages to ``mcf1``."""
    from vaar.robustness.corruptions import corruption_names

    matrix = {n: {str(s): mcf1 + 0.02 * (3 - s) for s in SEVS} for n in corruption_names()}
    return {"mcf1": mcf1, "ci95": [mcf1 - 0.05, mcf1 + 0.03], "clean_macro_f1": 0.9, "difference": mcf1 - 0.9,
            "rpc": mcf1 / 0.9, "rpc_ci95": [0.5, 0.7], "n": 20,
            "groups": {"video": 0.6, "modality": 0.4}, "severities": SEVS, "matrix": matrix, **extra}  # fmt: skip


def with_robustness() -> list[dict[str, Any]]:
    entries = fixed_entries()
    entries[0]["robustness"] = block(0.55)
    entries[2]["robustness"] = block(0.61)  # the "<script>" named entry
    return entries


def test_no_robustness_no_column() -> None:
    md, html = render_markdown(fixed_entries()), render_html(fixed_entries())
    assert "Robustness" not in md and "Robustness" not in html


def test_column_shows_mcf1_with_interval_and_a_dash_when_absent() -> None:
    md = render_markdown(with_robustness())
    rows = [ln for ln in md.splitlines() if ln.startswith("| ") and ("AVAR" in ln or "Audio only" in ln or "Video only" in ln)]
    assert "Robustness (mCF1)" in md
    table = [ln for ln in rows if ln.count("|") > 9]
    assert any("55.00 (50.0\u201358.0)" in ln for ln in table)
    assert any("Audio only" in ln and "| \u2014 |" in ln for ln in table)
    assert "## Robustness track" in md and "[png](robustness/vaar-cls/m0.png)" in md
    html = render_html(with_robustness())
    assert html.count('data-key="robustness"') == 1
    assert '<section id="robustness">' in html and html.count('<svg class="heat"') == 2


def test_hostile_robustness_blocks_are_escaped_or_dropped() -> None:
    entries = with_robustness()
    bad = copy.deepcopy(entries[0])
    bad["slug"] = "../../etc"
    bad["robustness"]["matrix"]["<img src=x onerror=alert(1)>"] = {"1": 0.5}
    bad["robustness"]["matrix"]["fog"]["2"] = "<b>0.3</b>"
    bad["robustness"]["matrix"]["fog"]["3"] = float("nan")
    bad["robustness"]["groups"]["video"] = "</svg><script>alert(1)</script>"
    entries[0] = bad
    entries[1]["robustness"] = {"mcf1": "0.9<script>", "matrix": {}}  # malformed: shown as absent
    entries[2]["robustness"] = {"mcf1": 7.0}  # out of range: absent
    html, md = render_html(entries), render_markdown(entries)
    for text in (html, md):
        assert "onerror" not in text and "alert(1)" not in text and "<b>0.3" not in text
    assert "../../etc" not in md.split("## Robustness track")[-1]  # no path from an unchecked slug
    assert "../../etc" not in html.split('<section id="robustness">')[-1]
    r = robustness_of(bad)
    assert r is not None and "<img src=x onerror=alert(1)>" not in r["matrix"] and 2 not in r["matrix"]["fog"]
    assert not r["complete"]  # two cells dropped: no longer the full matrix, so not ranked
    assert robustness_of(entries[1]) is None and robustness_of(entries[2]) is None


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_robustness_in_headless_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "index.html"
    page_path.write_text(render_html(with_robustness()), encoding="utf-8")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                     "--no-first-run", "--disable-background-networking"])  # fmt: skip
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: errors.append(f"request {r.url}") if not r.url.startswith("file:") else None)
            page.goto(page_path.as_uri())
            table = "#board-vaar-cls"
            idx = page.eval_on_selector_all(f"{table} thead th", "hs => hs.findIndex(h => h.dataset.key === 'robustness')")
            assert idx > 0
            cells = page.eval_on_selector_all(f"{table} tbody tr.entry", f"rs => rs.map(r => r.cells[{idx}].innerText)")
            assert sum("\u2014" in c for c in cells) == 1 and any(c.startswith("55.00") for c in cells)
            page.click(f"{table} thead th[data-key=robustness]")  # sortable like the other numbers
            vals = page.eval_on_selector_all(f"{table} tbody tr.entry", f"rs => rs.map(r => r.cells[{idx}].getAttribute('data-value'))")
            nums = [float(v) for v in vals if v]
            assert nums == sorted(nums, reverse=True) and vals[-1] == ""
            assert page.locator("#robustness svg.heat").count() == 2
            assert page.locator("#robustness svg.heat rect").count() == 180  # 18 corruptions x 5 severities, 2 models
            page.click('#robustness details[data-slug="m0"] summary')  # the per-model detail view opens
            box = page.locator("#heat-m0").bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 40
            assert "Video only <script>" in page.inner_text("#robustness")  # a name, shown as text
        finally:
            browser.close()
    assert errors == []


def test_incomplete_or_inconsistent_blocks_are_marked_and_not_ranked() -> None:
    """The page recomputes mCF1 from the matrix, ranks only full matrices, flags a wrong claim."""
    entries = with_robustness()
    entries[0]["robustness"] = block(0.55)
    del entries[0]["robustness"]["matrix"]["fog"]  # 85 of 90 conditions
    entries[2]["robustness"] = {**block(0.61), "mcf1": 0.99}  # claims more than its matrix holds
    r0, r2 = robustness_of(entries[0]), robustness_of(entries[2])
    assert r0 is not None and not r0["complete"] and r0["conditions"] == 85
    assert r2 is not None and r2["complete"] and r2["mismatch"] and abs(r2["mcf1"] - 0.61) < 1e-9
    md = render_markdown(entries)
    section = md.split("## Robustness track")[-1]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and "Model" not in ln]
    assert rows[0].startswith("| 1 |") and "61.0" in rows[0] and "differs from its matrix" in rows[0]
    assert rows[1].startswith("| \u2014 |") and "incomplete: 85 of 90 conditions, not ranked" in rows[1]
    assert "99.0" not in section  # the claimed figure is never shown
    html = render_html(entries)
    assert "incomplete: 85 of 90 conditions" in html and "rPC" in html and "Balanced" in html


def test_page_matrix_has_groups_clean_rpc_legend_and_a_caution_above_clean() -> None:
    entries = with_robustness()
    entries[0]["robustness"] = block(0.95)  # cells up to 0.99, above clean (0.9) on n = 20
    html = render_html(entries)
    section = html.split('<section id="robustness">')[-1]
    assert 'class="legend"' in section and "#440154" in section and "#fde725" in section  # viridis ends
    assert "Corruption groups" in section and "<line " in section and "\u2020 above the clean score" in section
    assert section.count("<details") == 2 and "0.6" in section  # per-model detail view; rPC interval
