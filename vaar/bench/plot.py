"""The leaderboard's cost scatter: a task's main score against measured CPU latency (SVG, inline).

Every point lies inside the frame (the axes are padded around the data, a point never sits on the
border), carries its 95% bootstrap interval as a vertical bar, and gets a label placed where it
overlaps no other label, no point and no frame edge (:func:`place_labels`: eight candidate
positions around the point, tried nearest first; a label that fits nowhere is left out and the
point keeps its tooltip). Entries without a measured latency cannot be placed: they are listed
under the plot by name, never silently dropped. Reported results (cost unknown) are dashed lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
CHAR_W, LABEL_H = 6.3, 12.0  # 11 px system-ui: an upper bound of a character's width


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(points: Sequence[tuple[float, float, str]], frame: Box,
                 taken: Sequence[Box] = ()) -> list[tuple[float, float, str] | None]:  # fmt: skip
    """For each ``(x, y, text)`` the ``(x, y, anchor)`` of its label, or None where none fits.

    Greedy, in the order given (best-ranked first): a label may not overlap a placed label (or a
    ``taken`` box), any point's marker, or leave ``frame``."""
    markers = [(x - 6, y - 6, x + 6, y + 6) for x, y, _ in points]
    placed: list[Box] = list(taken)
    out: list[tuple[float, float, str] | None] = []
    for x, y, text in points:
        w = CHAR_W * len(text)
        options = [  # (text x, baseline y, anchor, box)
            (x + 8, y + 4, "start", (x + 8, y - 8, x + 8 + w, y + 4)),
            (x - 8, y + 4, "end", (x - 8 - w, y - 8, x - 8, y + 4)),
            (x + 6, y - 8, "start", (x + 6, y - 20, x + 6 + w, y - 8)),
            (x - 6, y - 8, "end", (x - 6 - w, y - 20, x - 6, y - 8)),
            (x + 6, y + 18, "start", (x + 6, y + 6, x + 6 + w, y + 18)),
            (x - 6, y + 18, "end", (x - 6 - w, y + 6, x - 6, y + 18)),
            (x, y - 10, "middle", (x - w / 2, y - 22, x + w / 2, y - 10)),
            (x, y + 20, "middle", (x - w / 2, y + 8, x + w / 2, y + 20)),
        ]
        chosen = None
        for tx, ty, anchor, box in options:
            inside = frame[0] <= box[0] and box[2] <= frame[2] and frame[1] <= box[1] and box[3] <= frame[3]
            if inside and not any(_overlap(box, b) for b in placed) and not any(_overlap(box, m) for m in markers):
                chosen = (tx, ty, anchor)
                placed.append(box)
                break
        out.append(chosen)
    return out


def _points(entries: Sequence[Mapping[str, Any]], main: str) -> tuple[list[tuple[float, float, float, float, str]], list[str]]:
    """(latency, score, interval low, high, name) of the plottable entries; names of the others."""
    pts, missing = [], []
    for e in entries:
        ms = (e.get("cost") or {}).get("latency_ms_per_clip")
        score = e["scores"].get(main)
        if not ms or score is None:
            missing.append(str(e["model"]["name"]))
            continue
        iv = (e.get("ci95") or {}).get(main)
        lo, hi = (float(iv[0]), float(iv[1])) if iv else (float(score), float(score))
        pts.append((float(ms), float(score), lo, hi, str(e["model"]["name"])))
    return pts, missing


def _line_labels(lines: Sequence[tuple[float, str]]) -> list[tuple[float, list[str]]]:
    """Labels of the reported lines, top first; lines closer than a label's height share one label."""
    groups: list[tuple[float, list[str]]] = []
    for y, name in sorted(lines):
        if groups and y - groups[-1][0] < LABEL_H + 2:
            groups[-1][1].append(name)
        else:
            groups.append((y, [name]))
    return groups


def _x_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks between 10**lo and 10**hi."""
    out = []
    for k in range(math.floor(lo), math.ceil(hi) + 1):
        out += [m * 10.0**k for m in (1, 2, 5) if lo <= math.log10(m * 10.0**k) <= hi]
    return out


def cost_plot(anchor: str, label: str, entries: Sequence[Mapping[str, Any]], main: str,
              reported: Sequence[tuple[float, str]], *, esc: Callable[[object], str],
              pct: Callable[[float | None], str], latency: Callable[[float | None], str]) -> str:  # fmt: skip
    """The SVG (and the list of entries it cannot plot) for one table."""
    pts, missing = _points(entries, main)
    note = (f'<p class="note unplotted">Not on the plot (no measured CPU latency; submit with --model): '
            f'{esc(", ".join(missing))}.</p>') if missing else ""
    if not pts and not reported:
        return ('<p class="note">No measured costs yet: submit with <code>--model</code> to place a model on the plot.</p>'
                + note)
    w, h, left, right, top, bottom = 760, 360, 60, 20, 20, 45
    ys = [p[2] for p in pts] + [p[3] for p in pts] + [r[0] for r in reported]
    span = max(ys) - min(ys)
    y_lo = max(0.0, math.floor((min(ys) - max(0.02, 0.08 * span)) * 20) / 20)
    y_hi = min(1.0, math.ceil((max(ys) + max(0.02, 0.12 * span)) * 20) / 20)
    if y_hi <= y_lo:
        y_lo, y_hi = max(0.0, y_lo - 0.05), min(1.0, y_hi + 0.05)
    logs = [math.log10(p[0]) for p in pts] or [0.0, 2.0]
    x_lo, x_hi = min(logs) - 0.35, max(logs) + 0.35  # padded: no point on the frame
    x0, x1, y0, y1 = left, w - right, top, h - bottom

    def sx(ms: float) -> float:
        return x0 + (math.log10(ms) - x_lo) / (x_hi - x_lo) * (x1 - x0)

    def sy(s: float) -> float:
        return y0 + (y_hi - s) / (y_hi - y_lo) * (y1 - y0)

    out = [f'<svg class="plot" id="plot-{anchor}" viewBox="0 0 {w} {h}" role="img" '
           f'aria-label="{esc(label)} against CPU latency" xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="#999"/>']
    step = 0.05 if (y_hi - y_lo) <= 0.3 else 0.1
    t = math.ceil(y_lo / step - 1e-9) * step
    while t <= y_hi + 1e-9:
        y = sy(t)
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{100 * t:.0f}</text>')
        t += step
    for v in _x_ticks(x_lo, x_hi):
        x = sx(v)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" stroke="#eee"/>'
                   f'<text x="{x:.1f}" y="{y1 + 16}" text-anchor="middle">{v:g}</text>')
    out.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{h - 8}" text-anchor="middle">CPU latency per clip (ms, log scale)</text>')
    out.append(f'<text transform="translate(14 {(y0 + y1) / 2:.0f}) rotate(-90)" text-anchor="middle">'
               f'{esc(label)} (%), 95% interval</text>')
    taken: list[Box] = []
    for value, model in reported:
        y = sy(value)
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b9a94a" stroke-dasharray="5 4">'
                   f'<title>{esc(model)}: {pct(value)} (reported, cost unknown)</title></line>')
    for y, names in _line_labels([(sy(v), m) for v, m in reported]):
        text = ", ".join(names) + " (reported)"
        out.append(f'<text class="label" x="{x1 - 4}" y="{y - 4:.1f}" text-anchor="end">{esc(text)}</text>')
        taken.append((x1 - 4 - CHAR_W * len(text), y - 4 - LABEL_H, x1 - 4, y - 4))
    spots = [(sx(ms), sy(s), name) for ms, s, _, _, name in pts]
    labels = place_labels(spots, (x0 + 2, y0 + 2, x1 - 2, y1 - 2), taken)
    for (ms, s, lo, hi, name), (x, y, _), lab in zip(pts, spots, labels, strict=True):
        out.append(f'<line class="ci" x1="{x:.1f}" x2="{x:.1f}" y1="{sy(hi):.1f}" y2="{sy(lo):.1f}" stroke="#4a6cf7" '
                   f'stroke-width="1.5"/><line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{sy(hi):.1f}" y2="{sy(hi):.1f}" '
                   f'stroke="#4a6cf7"/><line x1="{x - 4:.1f}" x2="{x + 4:.1f}" y1="{sy(lo):.1f}" y2="{sy(lo):.1f}" '
                   f'stroke="#4a6cf7"/>')
        out.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#4a6cf7">'
                   f'<title>{esc(name)}: {pct(s)} ({pct(lo)}\u2013{pct(hi)}) at {latency(ms)} ms</title></circle>')
        if lab is not None:
            out.append(f'<text class="label" x="{lab[0]:.1f}" y="{lab[1]:.1f}" text-anchor="{lab[2]}">{esc(name)}</text>')
    out.append("</svg>")
    return "".join(out) + note
