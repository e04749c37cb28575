"""The robustness column and section of the leaderboard (LEADERBOARD.md and index.html).

An entry may carry ``"robustness"`` (written by ``vaar-bench submit --robustness``)::

    "robustness": {"mcf1": 0.84, "ci95": [0.82, 0.86], "clean_macro_f1": 1.0, "rpc": 0.84,
                   "rpc_ci95": [0.82, 0.86], "difference": -0.16, "mcf1_balanced": 0.81,
                   "groups": {"video": 0.95, ...}, "weights": {"video": 0.5, ...}, "n": 20,
                   "severities": [1, 2, 3, 4, 5], "matrix": {"fog": {"1": 1.0, ...}, ...}, "seed": 0}

(Older entries carry ``relative``: the same difference, under its old name.)

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


def _claimed(r: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in r:
            return r[k]
    return None


def robustness_of(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    """The entry's validated robustness block, or None (absent or malformed).

    Every summary is *recomputed from the matrix* (mCF1 = the flat mean of its cells, the group
    means, the balanced mean, rPC = mCF1 / clean, the difference): a claimed figure that differs
    is flagged (``mismatch``), never shown. ``complete`` says whether the matrix holds every
    registered corruption at severities 1-5; only complete blocks are ranked. Intervals cannot be
    recomputed without the predictions, so they are shown as submitted (``--rescore`` recomputes
    them from the saved per-condition predictions)."""
    from vaar.robustness.corruptions import SEVERITIES, corruption_names, get_corruption

    r = entry.get("robustness")
    if not isinstance(r, dict):
        return None
    claimed = _unit(r.get("mcf1"))
    if claimed is None:
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
    if not matrix:
        return None
    values = [v for row in matrix.values() for v in row.values()]
    mcf1 = sum(values) / len(values)
    groups: dict[str, float] = {}
    for g in ("video", "audio", "modality"):
        gv = [v for n, row in matrix.items() if get_corruption(n).group == g for v in row.values()]
        if gv:
            groups[g] = sum(gv) / len(gv)
    clean = _unit(r.get("clean_macro_f1"))
    n = r.get("n")
    return {
        "mcf1": mcf1,
        "ci95": _interval(r.get("ci95")),
        "mismatch": abs(claimed - mcf1) > 5e-5,
        "complete": set(matrix) == set(known) and all(set(row) == set(SEVERITIES) for row in matrix.values()),
        "conditions": len(values),
        "conditions_full": len(known) * len(SEVERITIES),
        "clean": clean,
        "difference": None if clean is None else mcf1 - clean,
        "rpc": None if not clean else mcf1 / clean,
        "rpc_ci95": _interval_any(r.get("rpc_ci95")),
        "balanced": sum(groups.values()) / len(groups) if groups else None,
        "groups": groups,
        "severities": sorted(set(sevs)),
        "matrix": matrix,
        "n": n if isinstance(n, int) and not isinstance(n, bool) and 0 < n < 10**9 else None,
        "legacy": "relative" in r and "difference" not in r,
    }


def _interval_any(x: Any) -> list[float] | None:
    """An interval of a ratio (rPC may exceed 1): finite, non-negative, ordered, at most 100."""
    if not isinstance(x, list) or len(x) != 2:
        return None
    lo, hi = _unit(x[0], 0.0, 100.0), _unit(x[1], 0.0, 100.0)
    return [lo, hi] if lo is not None and hi is not None and lo <= hi else None


def ranked(entries: Sequence[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Entries of the VAAR task with a valid block: complete ones by recomputed mCF1, then the
    incomplete ones (shown, marked, not ranked)."""
    rows = [(e, r) for e in entries if e.get("task") == TASK and (r := robustness_of(e))]
    return sorted(rows, key=lambda er: (not er[1]["complete"], -er[1]["mcf1"]))


def has_column(task: str, entries: Sequence[Mapping[str, Any]]) -> bool:
    """The column shows for the VAAR task once any of its entries has a robustness score."""
    return task == TASK and any(robustness_of(e) for e in entries)


def cell_text(entry: Mapping[str, Any]) -> tuple[str, float | None, str]:
    """(score, value, interval) of the column: ``DASH`` when the entry has no robustness score; an
    incomplete matrix shows its mCF1 marked and without a sort value (it is not ranked)."""
    r = robustness_of(entry)
    if r is None:
        return DASH, None, ""
    iv = r["ci95"]
    ivt = f"{100 * iv[0]:.1f}\u2013{100 * iv[1]:.1f}" if iv else ""
    if not r["complete"]:
        return f"{100 * r['mcf1']:.2f}* (incomplete: {r['conditions']}/{r['conditions_full']})", None, ivt
    return f"{100 * r['mcf1']:.2f}", r["mcf1"], ivt


#: colour-blind-safe sequential map (viridis at 0, .25, .5, .75, 1), as in the PNG (matplotlib's)
_VIRIDIS = ((0x44, 0x01, 0x54), (0x3B, 0x52, 0x8B), (0x21, 0x91, 0x8C), (0x5E, 0xC9, 0x62), (0xFD, 0xE7, 0x25))


def _colour(v: float) -> str:
    """Viridis: dark purple (0) to yellow (1); readable for every common colour-vision deficiency."""
    x = min(max(v, 0.0), 1.0) * 4
    i = min(int(x), 3)
    t = x - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    return "#" + "".join(f"{round(a[k] + (b[k] - a[k]) * t):02x}" for k in range(3))


def _ink(v: float) -> str:
    return "#000" if v >= 0.55 else "#fff"


def _swatch(v: float, text: str, label: str, width: int = 56) -> str:
    """One coloured cell as a tiny inline SVG (the page's CSP allows no inline style)."""
    return (f'<svg class="cell" width="{width}" height="18" viewBox="0 0 {width} 18" role="img" aria-label="{escape(label)}" '
            f'font-family="system-ui,sans-serif" font-size="11" xmlns="http://www.w3.org/2000/svg">'
            f'<rect width="{width}" height="18" fill="{_colour(v)}"/>'
            f'<text x="{width / 2:.0f}" y="13" text-anchor="middle" fill="{_ink(v)}">{escape(text)}</text></svg>')


def _legend() -> str:
    stops = "".join(_swatch(v / 4, str(25 * v), f"{25 * v}", 36) for v in range(5))
    return f'<p class="legend">Colour scale, Macro-F1 (%), viridis (colour-blind safe): {stops}</p>'


def heatmap_svg(name: str, r: Mapping[str, Any], anchor: str) -> str:
    """An inline SVG heat map (corruption x severity) of one entry's validated block; a line
    separates the corruption groups, a dagger marks a cell above the clean score."""
    from vaar.robustness.corruptions import get_corruption

    names, sevs = list(r["matrix"]), r["severities"]
    cw, ch, left, top = 46, 18, 110, 22
    w, h = left + cw * len(sevs) + 10, top + ch * len(names) + 10
    out = [f'<svg class="heat" id="heat-{escape(anchor)}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" font-family="system-ui,sans-serif" font-size="11" '
           f'aria-label="Macro-F1 under each corruption and severity: {escape(name)}" xmlns="http://www.w3.org/2000/svg">']
    for j, s in enumerate(sevs):
        out.append(f'<text x="{left + cw * j + cw / 2:.0f}" y="{top - 7}" text-anchor="middle">{s}</text>')
    clean = r.get("clean")
    prev = None
    for i, n in enumerate(names):
        y = top + ch * i
        group = get_corruption(n).group
        if prev is not None and group != prev:
            out.append(f'<line x1="4" x2="{w - 4}" y1="{y - 1}" y2="{y - 1}" stroke="#333" stroke-width="1.5"/>')
        prev = group
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(n)}</text>')
        for j, s in enumerate(sevs):
            v = r["matrix"][n].get(s)
            if v is None:
                continue
            x = left + cw * j
            above = clean is not None and v > clean
            mark = "\u2020" if above else ""
            out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{_colour(v)}">'
                       f"<title>{escape(n)}, severity {s}: {100 * v:.1f}{' (above clean)' if above else ''}</title></rect>"
                       f'<text x="{x + cw / 2 - 1:.0f}" y="{y + 13}" text-anchor="middle" fill="{_ink(v)}">{100 * v:.0f}{mark}</text>')
    out.append("</svg>")
    return "".join(out)


def _pct(v: float | None, iv: list[float] | None = None, signed: bool = False) -> str:
    if v is None:
        return DASH
    text = f"{100 * v:+.1f}" if signed else f"{100 * v:.1f}"
    return text + (f" ({100 * iv[0]:.1f}\u2013{100 * iv[1]:.1f})" if iv else "")


def _rpc(r: Mapping[str, Any]) -> str:
    if r["rpc"] is None:
        return DASH
    iv = r["rpc_ci95"]
    return f"{r['rpc']:.3f}" + (f" ({iv[0]:.3f}\u2013{iv[1]:.3f})" if iv else "")


def _status(r: Mapping[str, Any]) -> str:
    notes = []
    if not r["complete"]:
        notes.append(f"incomplete: {r['conditions']} of {r['conditions_full']} conditions, not ranked")
    if r["mismatch"]:
        notes.append("the submitted mCF1 differs from its matrix (recomputed here)")
    return "; ".join(notes)


_NOTE = ("Macro-F1 (%) on the test split under fixed, seeded corruptions at severities 1-5 (video, audio, "
         "a missing or shifted modality), each recomputed here from the entry's matrix. mCF1 is the flat mean of "
         "the conditions (as Kinetics-C's mPC; with the full registry video : audio : modality weigh 9 : 6 : 3); "
         "balanced is the mean of the three group means; rPC = mCF1 / clean (1 = unaffected), with its paired "
         "bootstrap 95% interval; the difference is mCF1 &minus; clean in points. Only entries with the full "
         "corruption &times; severity matrix are ranked.")


def html_section(entries: Sequence[Mapping[str, Any]]) -> str:
    """The page's robustness section ('' when no entry has a robustness score): one matrix with
    models as rows and the corruption groups as columns (clean beside), then a heat map per model."""
    rows = ranked(entries)
    if not rows:
        return ""
    parts = ['<section id="robustness"><h2>Robustness track (<code>vaar-bench robustness</code>)</h2>',
             f'<p class="note">{_NOTE}</p>', _legend(),
             '<table class="robust-matrix"><thead><tr><th colspan="3"></th><th colspan="4">Summaries (recomputed)</th>'
             '<th colspan="3">Corruption groups (mean Macro-F1)</th><th></th></tr>'
             '<tr><th>#</th><th>Model</th><th>Clean</th>'
             '<th>mCF1 (95% CI)</th><th>Balanced</th><th>rPC (95% CI)</th><th>Difference</th>'
             '<th>Video</th><th>Audio</th><th>Modality</th><th>n</th></tr></thead><tbody>']
    small = False
    for rank, (e, r) in enumerate(rows, 1):
        name = escape(str(e["model"]["name"]))
        slug = str(e.get("slug", ""))
        anchor = slug if _SLUG.match(slug) else "entry"
        cells = []
        for g in ("video", "audio", "modality"):
            v = r["groups"].get(g)
            if v is None:
                cells.append(f"<td>{DASH}</td>")
                continue
            above = r["clean"] is not None and v > r["clean"]
            small = small or (above and (r["n"] or 0) < 100)
            text = f"{100 * v:.1f}{chr(0x2020) if above else ''}"
            cells.append(f"<td>{_swatch(v, text, f'{g}: {text}')}</td>")
        status = _status(r)
        parts.append(f'<tr data-slug="{escape(anchor)}"><td>{rank if r["complete"] else DASH}</td>'
                     f'<td><a href="#heat-{escape(anchor)}">{name}</a>'
                     + (f' <span class="warn">({escape(status)})</span>' if status else "") + "</td>"
                     f"<td>{_pct(r['clean'])}</td><td>{_pct(r['mcf1'], r['ci95'])}</td>"
                     f"<td>{_pct(r['balanced'])}</td><td>{_rpc(r)}</td><td>{_pct(r['difference'], signed=True)}</td>"
                     + "".join(cells) + f"<td>{r['n'] or DASH}</td></tr>")
    parts.append("</tbody></table>")
    if small or any(r["clean"] is not None and any(v > r["clean"] for row in r["matrix"].values() for v in row.values())
                    for _, r in rows):  # fmt: skip
        parts.append('<p class="note">\u2020 above the clean score: on a small test split (n &lt; 100 here) '
                     "a corrupted score above clean is within the bootstrap noise, not a gain.</p>")
    for e, r in rows:
        name = escape(str(e["model"]["name"]))
        slug = str(e.get("slug", ""))
        anchor = slug if _SLUG.match(slug) else "entry"
        parts.append(f'<details class="robust" data-slug="{escape(anchor)}"><summary>{name}: corruption '
                     f"&times; severity</summary>" + heatmap_svg(str(e["model"]["name"]), r, anchor) + "</details>")
    parts.append("</section>")
    return "\n".join(parts)


def md_section(entries: Sequence[Mapping[str, Any]], md_text: Any) -> list[str]:
    """Markdown lines of the robustness section ([] when no entry has a robustness score)."""
    rows = ranked(entries)
    if not rows:
        return []
    lines = ["## Robustness track (`vaar-bench robustness`)", "", _NOTE.replace("&minus;", "-").replace("&times;", "x"),
             "", "| # | Model | Clean | mCF1 (95% CI) | Balanced | rPC (95% CI) | Difference | Video | Audio | Modality | Heat map |",
             "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|"]  # fmt: skip
    for rank, (e, r) in enumerate(rows, 1):
        slug = str(e.get("slug", ""))
        img = f"[png](robustness/{TASK}/{slug}.png)" if _SLUG.match(slug) else DASH
        status = _status(r)
        name = md_text(str(e["model"]["name"])) + (f" ({status})" if status else "")
        g = r["groups"]
        lines.append(f"| {rank if r['complete'] else DASH} | {name} | {_pct(r['clean'])} | {_pct(r['mcf1'], r['ci95'])} | "
                     f"{_pct(r['balanced'])} | {_rpc(r)} | {_pct(r['difference'], signed=True)} | "
                     f"{_pct(g.get('video'))} | {_pct(g.get('audio'))} | {_pct(g.get('modality'))} | {img} |")
    lines.append("")
    return lines


def entry_block(summary: Mapping[str, Any]) -> dict[str, Any]:
    """What ``submit --robustness`` stores in an entry, from a run's ``summary.json``."""
    keys = ("mcf1", "ci95", "clean_macro_f1", "clean_ci95", "mcf1_balanced", "mcf1_balanced_ci95", "rpc", "rpc_ci95",
            "difference", "difference_ci95", "groups", "weights", "severities", "matrix", "seed", "n",
            "failed_by_condition", "predictions_sha256")  # fmt: skip
    return {k: summary[k] for k in keys if k in summary and summary[k] is not None}


def _register() -> None:
    import sys
    from typing import cast

    from vaar.bench.hooks import BOARD_SECTIONS, BoardSection

    BOARD_SECTIONS.add("robustness", cast(BoardSection, sys.modules[__name__]))


_register()  # the renderer's robustness column and section (vaar.bench.hooks)
