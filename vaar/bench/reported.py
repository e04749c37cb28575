"""Results reported in papers, shown on the leaderboard beside measured entries.

They are *reported, not reproduced*: vaar-bench did not score these models, the numbers are
copied from the cited papers, and they carry no interval and no measured cost. ``score`` names
the vaar-bench score they correspond to (XD-Violence papers report the official
``auc(recall, precision)``, vaar-bench's ``pr_auc``); ``value`` is a fraction, as scores are.
``note`` is what a reader must know to compare the figure (other modalities, an unverified
formula); it is part of the citation text shown on the page.
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
    note: str = ""

    @property
    def reference(self) -> str:
        """The citation as shown: the paper, then the note, if any."""
        return f"{self.citation} \u2014 {self.note}" if self.note else self.citation


def _reported(task: str, model: str, score: str, value: float, citation: str, url: str, note: str = "") -> Reported:
    # the page shows ``citation``; the note travels inside it so that no reader misses it
    r = Reported(task, model, score, value, citation, url, note)
    return Reported(task, model, score, value, r.reference, url, note)


REPORTED: tuple[Reported, ...] = (
    _reported("vaar-cls", "AVAR-Net", "accuracy", 0.8929, AVAR_NET, AVAR_NET_URL,
              note="different test set: measured on the authors' unreleased VAAR, not on this board's test split"),
    _reported(
        "xd-violence", "MACIL-SD", "pr_auc", 0.8340,
        "Yu et al., \u201cModality-Aware Contrastive Instance Learning with Self-Distillation for "
        "Weakly-Supervised Audio-Visual Violence Detection\u201d, ACM Multimedia 2022",
        "https://arxiv.org/abs/2207.05500",
    ),
    _reported(
        "xd-violence", "HyperVD", "pr_auc", 0.8567,
        "Peng et al., \u201cLearning Weakly Supervised Audio-Visual Violence Detection in "
        "Hyperbolic Space\u201d, arXiv:2305.18797, 2023",
        "https://arxiv.org/abs/2305.18797",
    ),
    _reported(
        "xd-violence", "MAVD", "pr_auc", 0.8607,
        "Jin et al., \u201cAligning First, Then Fusing: A Novel Weakly Supervised Multimodal Violence "
        "Detection Method\u201d (MAVD), arXiv:2501.07496, 2025",
        "https://arxiv.org/abs/2501.07496",
        note="uses RGB, audio and optical flow (three modalities; the others here use two)",
    ),
    _reported(
        "xd-violence", "CFA", "pr_auc", 0.8634,
        "Ghadiya et al., \u201cCross-Modal Fusion and Attention Mechanism for Weakly Supervised Video "
        "Anomaly Detection\u201d (CFA), arXiv:2412.20455, 2024",
        "https://arxiv.org/abs/2412.20455",
    ),
    _reported(
        "xd-violence", "AVAR-Net", "pr_auc", 0.8856, AVAR_NET, AVAR_NET_URL,
        note="unverified: the paper does not state whether its XD-Violence AP is the official "
        "auc(recall, precision) or average precision",
    ),
)


def reported_for(task: str) -> tuple[Reported, ...]:
    return tuple(r for r in REPORTED if r.task == task)
