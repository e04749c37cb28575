"""The benchmark's tasks as plain data: name, title, headline score and the score columns.

The leaderboard entry contract (:mod:`vaar.core.contracts.entry`) is built from this table, so the
ground floor knows which tasks and scores an entry may carry without importing the scorer. The
scoring classes in :mod:`vaar.bench.tasks` take these fields from here (one definition); a task
registered in bench without a row here is refused at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class TaskMeta:
    name: str
    title: str
    main_score: str  # the leaderboard's ranking column
    score_labels: Mapping[str, str]  # score key -> column header, in display order


def _meta(name: str, title: str, main_score: str, labels: dict[str, str]) -> TaskMeta:
    assert main_score in labels, (name, main_score)
    return TaskMeta(name, title, main_score, MappingProxyType(labels))


#: every task, in the order the leaderboard and the entry schema list them
TASKS: Mapping[str, TaskMeta] = MappingProxyType({t.name: t for t in (
    _meta("vaar-cls", "VAAR: 10-class audio-visual anomaly recognition", "macro_f1", {
        "macro_f1": "Macro-F1",
        "accuracy": "Accuracy",
        "mean_ap": "mAP",
        "anomaly_ap": "Anomaly AP",
        "anomaly_pr_auc": "Anomaly PR-AUC",
    }),
    _meta("vaar-binary", "VAAR: normal vs anomaly", "ap",
          {"ap": "AP", "pr_auc": "PR-AUC", "f1": "F1 (anomaly)", "accuracy": "Accuracy"}),
    _meta("xd-violence", "XD-Violence: frame-level violence detection", "pr_auc",
          {"pr_auc": "AP (official, PR-AUC)", "ap": "AP (scikit-learn)"}),
)})
