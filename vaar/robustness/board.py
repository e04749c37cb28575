"""The robustness column and section of the leaderboard (LEADERBOARD.md and index.html).

An entry may carry ``"robustness"`` (written by ``vaar-bench submit --robustness``)::

    "robustness": {"mcf1": 0.84, "ci95": [0.59, 0.85], "clean_macro_f1": 1.0, "relative": -0.16,
                   "groups": {"video": 0.95, ...}, "severities": [1, 2, 3, 4, 5],
                   "matrix": {"fog": {"1": 1.0, ...}, ...}, "seed": 0}

Entries are untrusted (they arrive by pull request), so nothing of this block reaches a page
unchecked: numbers must be finite and in [0, 1] (differences in [-1, 1]), names must be registered
corruptions, and a malformed block renders as an absent one (--). The page draws the heat maps as
inline SVG from those numbers (no file is referenced, nothing to load); the Markdown links the PNG
``robustness/<task>/<slug>.png``, a path built only from the entry's validated slug.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

DASH = "\u2014"
TASK = "vaar-cls"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _unit(x: Any, lo: float = 0.0, hi: float = 1.0) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    v = float(x)
    return v if math.isfinite(v) and lo <= v <= hi else None


def _interval(x: Any) -> list[float] | None:
    if not isinstance(x, list) or len(x) != 2:
        return None
    lo, hi = _unit(x[0]), _unit(x[1])
    return [lo, hi] if lo is not None and hi is not None and lo <= hi else None


def robustness_of(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The entry's validated robustness block, or None (absent or malformed)."""
    from vaar.robustness.corruptions import SEVERITIES, corruption_names

    r = entry.get("robustness")
    if not isinstance(r, dict):
        return None
    mcf1 = _unit(r.get("mcf1"))
    if mcf1 is None:
        return None
    known = corruption_names()
    sevs = [s for s in r.get("severities") or [] if isinstance(s, int) and not isinstance(s, bool) and s in SEVERITIES]
    matrix: dict[str, dict[int, float]] = {}
    raw = r.get("matrix")
    if isinstance(raw, dict):
        for name in known:  # registry order; unknown names are dropped
            row = raw.get(name)
            if isinstance(row, dict):
                cells = {s: v for s in sevs if (v := _unit(row.get(str(s)))) is not None}
                if cells:
                    matrix[name] = cells
    groups = r.get("groups")
    groups = groups if isinstance(groups, dict) else {}
    return {
        "mcf1": mcf1,
        "ci95": _interval(r.get("ci95")),
        "clean": _unit(r.get("clean_macro_f1")),
        "relative": _unit(r.get("relative"), -1.0, 1.0),
        "groups": {g: v for g in ("video", "audio", "modality") if (v := _unit(groups.get(g))) is not None},
        "severities": sorted(set(sevs)),
        "matrix": matrix,
    }


def has_column(task: str, entries: Sequence[Mapping[str, Any]]) -> bool:
    """The column shows for the VAAR task once any of its entries has a robustness score."""
    return task == TASK and any(robustness_of(e) for e in entries)


def cell_text(entry: Mapping[str, Any]) -> tuple[str, float | None, str]:
    """(score, value, interval) of the column: ``DASH`` when the entry has no robustness score."""
    r = robustness_of(entry)
    if r is None:
        return DASH, None, ""
    iv = r["ci95"]
    return f"{100 * r['mcf1']:.2f}", r["mcf1"], (f"{100 * iv[0]:.1f}\u2013{100 * iv[1]:.1f}" if iv else "")


def _colour(v: float) -> str:
    """Red (0) to yellow (0.5) to green (1)."""
    r = 215 if v < 0.5 else int(215 - (v - 0.5) * 2 * 175)
    g = int(48 + v * 2 * 150) if v < 0.5 else 198
    return f"#{r:02x}{g:02x}50"


def heatmap_svg(name: str, r: Mapping[str, Any], anchor: str) -> str:
    """An inline SVG heat map (corruption x severity) of one entry's validated block."""
    names, sevs = list(r["matrix"]), r["severities"]
    cw, ch, left, top = 46, 18, 110, 22
    w, h = left + cw * len(sevs) + 10, top + ch * len(names) + 10
    out = [f'<svg class="heat" id="heat-{escape(anchor)}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="system-ui,sans-serif" font-size="11" '
           f'aria-label="Macro-F1 under each corruption and severity: {escape(name)}" xmlns="http://www.w3.org/2000/svg">']
    for j, s in enumerate(sevs):
        out.append(f'<text x="{left + cw * j + cw / 2:.0f}" y="{top - 7}" text-anchor="middle">{s}</text>')
    for i, n in enumerate(names):
        y = top + ch * i
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(n)}</text>')
        for j, s in enumerate(sevs):
            v = r["matrix"][n].get(s)
            if v is None:
                continue
            x = left + cw * j
            out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{_colour(v)}">'
                       f"<title>{escape(n)}, severity {s}: {100 * v:.1f}</title></rect>"
                       f'<text x="{x + cw / 2 - 1:.0f}" y="{y + 13}" text-anchor="middle">{100 * v:.0f}</text>')
    out.append("</svg>")
    return "".join(out)


def html_section(entries: Sequence[Mapping[str, Any]]) -> str:
    """The page's robustness section ('' when no entry has a robustness score)."""
    rows = [(e, r) for e in entries if e.get("task") == TASK and (r := robustness_of(e))]
    if not rows:
        return ""
    rows.sort(key=lambda er: -er[1]["mcf1"])
    parts = ['<section id="robustness"><h2>Robustness track (<code>vaar-bench robustness</code>)</h2>',
             '<p class="note">Macro-F1 (%) on the test split under fixed, seeded corruptions at severities 1-5 '
             "(video, audio, a missing or shifted modality); mCF1 is their mean, relative = mCF1 &minus; clean.</p>"]
    for e, r in rows:
        name = escape(str(e["model"]["name"]))
        slug = str(e.get("slug", ""))
        anchor = slug if _SLUG.match(slug) else "entry"
        iv = f" (95% CI {100 * r['ci95'][0]:.1f}\u2013{100 * r['ci95'][1]:.1f})" if r["ci95"] else ""
        rel = f", relative {100 * r['relative']:+.2f}" if r["relative"] is not None else ""
        groups = ", ".join(f"{g} {100 * v:.1f}" for g, v in r["groups"].items())
        parts.append(f'<div class="robust" data-slug="{escape(anchor)}"><h3>{name}</h3><p class="note">'
                     f"mCF1 {100 * r['mcf1']:.2f}{iv}{rel}" + (f"; {escape(groups)}" if groups else "") + "</p>")
        parts.append(heatmap_svg(str(e["model"]["name"]), r, anchor) + "</div>")
    parts.append("</section>")
    return "\n".join(parts)


def md_section(entries: Sequence[Mapping[str, Any]], md_text: Any) -> list[str]:
    """Markdown lines of the robustness section ([] when no entry has a robustness score)."""
    rows = [(e, r) for e in entries if e.get("task") == TASK and (r := robustness_of(e))]
    if not rows:
        return []
    rows.sort(key=lambda er: -er[1]["mcf1"])
    lines = ["## Robustness track (`vaar-bench robustness`)", "",
             "Macro-F1 (%) under fixed, seeded corruptions at severities 1-5; mCF1 is their mean.", "",
             "| Model | mCF1 | Clean | Relative | Video | Audio | Modality | Heat map |", "|---|--:|--:|--:|--:|--:|--:|---|"]
    for e, r in rows:
        slug = str(e.get("slug", ""))
        iv = f" ({100 * r['ci95'][0]:.1f}\u2013{100 * r['ci95'][1]:.1f})" if r["ci95"] else ""

        def p(v: float | None) -> str:
            return DASH if v is None else f"{100 * v:.2f}"

        img = f"[png](robustness/{TASK}/{slug}.png)" if _SLUG.match(slug) else DASH
        rel = DASH if r["relative"] is None else f"{100 * r['relative']:+.2f}"
        lines.append(f"| {md_text(str(e['model']['name']))} | {100 * r['mcf1']:.2f}{iv} | {p(r['clean'])} | "
                     f"{rel} | "
                     f"{p(r['groups'].get('video'))} | {p(r['groups'].get('audio'))} | {p(r['groups'].get('modality'))} | {img} |")
    lines.append("")
    return lines


def entry_block(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What ``submit --robustness`` stores in an entry, from a run's ``summary.json``."""
    keys = ("mcf1", "ci95", "clean_macro_f1", "clean_ci95", "relative", "relative_ci95", "groups", "severities",
            "matrix", "seed")  # fmt: skip
    return {k: summary[k] for k in keys if k in summary}


def _register() -> None:
    import sys
    from typing import cast

    from vaar.bench.hooks import BOARD_SECTIONS, BoardSection

    BOARD_SECTIONS.add("robustness", cast(BoardSection, sys.modules[__name__]))


_register()  # the renderer's robustness column and section (vaar.bench.hooks)
