"""The cost scatter: labels never collide, points stay inside the frame, intervals drawn, the
entries it cannot place listed (the baselines' audio_only/video_only/late_fusion case included)."""

from __future__ import annotations

import re
from typing import Any

from vaar.bench.plot import CHAR_W, LABEL_H, cost_plot, place_labels
from vaar.bench.render import escape, latency, pct


def entry(name: str, ms: float | None, score: float, ci: tuple[float, float]) -> dict[str, Any]:
    return {"model": {"name": name}, "scores": {"macro_f1": score}, "ci95": {"macro_f1": list(ci)},
            "cost": {"latency_ms_per_clip": ms} if ms else {}}


def boxes(svg: str) -> list[tuple[float, float, float, float]]:
    out = []
    for x, y, anchor, text in re.findall(r'<text class="label" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)<', svg):
        x, y, w = float(x), float(y), CHAR_W * len(text.replace("&lt;", "<").replace("&amp;", "&"))
        x0 = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
        out.append((x0, y - LABEL_H, x0 + w, y))
    return out


def test_close_points_get_labels_that_do_not_collide_and_stay_in_frame() -> None:
    # the baselines' case: audio_only and video_only nearly on top of each other, late_fusion at the edge
    entries = [entry("late_fusion", 95.0, 0.52, (0.47, 0.57)), entry("audio_only", 11.0, 0.41, (0.36, 0.46)),
               entry("video_only", 11.5, 0.40, (0.35, 0.45)), entry("avarnet", 60.0, 0.50, (0.45, 0.55)),
               entry("no latency", None, 0.30, (0.2, 0.4))]  # fmt: skip
    svg = cost_plot("t", "Macro-F1", entries, "macro_f1", [(0.49, "AVAR-Net"), (0.495, "Other")],
                    esc=escape, pct=pct, latency=latency)  # fmt: skip
    frame = [float(v) for v in re.search(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"', svg).groups()]
    fx0, fy0, fx1, fy1 = frame[0], frame[1], frame[0] + frame[2], frame[1] + frame[3]
    for cx, cy in re.findall(r'<circle class="point" cx="([\d.]+)" cy="([\d.]+)"', svg):
        assert fx0 + 5 < float(cx) < fx1 - 5 and fy0 + 5 < float(cy) < fy1 - 5  # inside, not on the border
    bs = boxes(svg)
    assert len(bs) >= 5  # four point labels + the reported lines' shared label
    for i, a in enumerate(bs):
        assert fx0 <= a[0] and a[2] <= fx1 and fy0 <= a[1] and a[3] <= fy1
        for b in bs[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    assert svg.count('class="ci"') == 4  # an interval on every plotted point
    assert "Not on the plot" in svg and "no latency" in svg
    assert "Other, AVAR-Net (reported)" in svg  # two close reported lines share one label (top first)


def test_a_label_that_fits_nowhere_is_left_out() -> None:
    pts = [(50.0 + i * 0.5, 50.0, "a long model name") for i in range(20)]
    got = place_labels(pts, (0, 0, 300, 100))
    assert None in got and got[0] is not None
