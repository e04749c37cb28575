"""The corruption x severity heat map of Macro-F1 (PNG, matplotlib's Agg backend: no display).

Viridis (perceptually uniform, readable with every common colour-vision deficiency and in grey),
the same map as the page's inline SVG; a line between the corruption groups; a dagger on a cell
above the clean score (on a small test split that is bootstrap noise, not a gain)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path


def plot_heatmap(matrix: Mapping[str, Mapping[str, float]], severities: Sequence[int], clean: float,
                 path: Path, title: str) -> Path:  # fmt: skip
    """Rows: corruptions (in the given order); columns: severities; cells: Macro-F1 in %."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(matrix)
    data = np.array([[100 * matrix[n].get(str(s), np.nan) for s in severities] for n in names])
    fig, ax = plt.subplots(figsize=(1.1 * len(severities) + 2.6, 0.32 * len(names) + 1.3), dpi=90)
    im = ax.imshow(data, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    from vaar.robustness.corruptions import get_corruption

    groups = [get_corruption(n).group for n in names]
    for i in range(1, len(names)):
        if groups[i] != groups[i - 1]:
            ax.axhline(i - 0.5, color="white", linewidth=2)
    ax.set_xticks(range(len(severities)), [str(s) for s in severities])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("severity")
    ax.set_title(f"{title}\nMacro-F1 (%), clean {100 * clean:.1f}", fontsize=9)
    for i in range(len(names)):
        for j in range(len(severities)):
            if np.isfinite(data[i, j]):
                above = "\u2020" if data[i, j] > 100 * clean else ""
                ink = "black" if data[i, j] >= 55 else "white"
                ax.text(j, i, f"{data[i, j]:.0f}{above}", ha="center", va="center", fontsize=7, color=ink)
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
