"""Results reported in papers, shown on the leaderboard beside measured entries.

They are *reported, not reproduced*: vaar-bench did not score these models, the numbers are
copied from the cited papers, and they carry no interval and no measured cost. ``score`` names
the vaar-bench score they correspond to (XD-Violence papers report the official
``auc(recall, precision)``, vaar-bench's ``pr_auc``); ``value`` is a fraction, as scores are.
"""

from __future__ import annotations

from dataclasses import dataclass

AVAR_NET = (
    "Ali et al., \u201cAVAR-Net: A Lightweight Audio-Visual Anomaly Recognition Framework with a "
    "Benchmark Dataset\u201d, arXiv:2510.13630, 2025"
)
AVAR_NET_URL = "https://arxiv.org/abs/2510.13630"


@dataclass(frozen=True)
class Reported:
    task: str
    model: str
    score: str
    value: float
    citation: str
    url: str


REPORTED: tuple[Reported, ...] = (
    Reported("vaar-cls", "AVAR-Net", "accuracy", 0.8929, AVAR_NET, AVAR_NET_URL),
    Reported(
        "xd-violence", "MACIL-SD", "pr_auc", 0.8340,
        "Yu et al., \u201cModality-Aware Contrastive Instance Learning with Self-Distillation for "
        "Weakly-Supervised Audio-Visual Violence Detection\u201d, ACM Multimedia 2022",
        "https://arxiv.org/abs/2207.05500",
    ),
    Reported(
        "xd-violence", "HyperVD", "pr_auc", 0.8567,
        "Zhou et al., \u201cLearning Weakly Supervised Audio-Visual Violence Detection in "
        "Hyperbolic Space\u201d, arXiv:2305.18797, 2023",
        "https://arxiv.org/abs/2305.18797",
    ),
    Reported(
        "xd-violence", "MAVD", "pr_auc", 0.8607,
        "MAVD, as reported in the XD-Violence comparison of " + AVAR_NET,
        AVAR_NET_URL,
    ),
    Reported("xd-violence", "AVAR-Net", "pr_auc", 0.8856, AVAR_NET, AVAR_NET_URL),
)


def reported_for(task: str) -> tuple[Reported, ...]:
    return tuple(r for r in REPORTED if r.task == task)
