"""Plain-text summary of a score report (the CLI's table; no rich import, to start fast)."""

from __future__ import annotations

from collections.abc import Mapping

from vaar.bench.tasks import ScoreReport


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:6.2f}"


def short_identity(identity: str) -> str:
    """The first 12 hex digits of a split identity, keeping its scheme (``hmac-sha256:…`` for a
    private test split); a plain sha256 is shown bare."""
    scheme, sep, digest = identity.rpartition(":")
    return f"{scheme}{sep}{digest[:12]}" if sep else identity[:12]


def format_report(report: ScoreReport, labels: Mapping[str, str], source: str) -> str:
    width = max(len(x) for x in labels.values())
    lines = [f"{report.task}: {source}  n={report.n}  split {short_identity(report.split_sha256)}",
             f"  {'score (%)':<{width}}  {'value':>6}  95% interval ({report.resamples} resamples, seed {report.seed})"]
    for name, label in labels.items():
        interval = report.ci95.get(name)
        span = f"[{100 * interval[0]:.2f}, {100 * interval[1]:.2f}]" if interval else ""
        star = " *" if name == report.main_score else ""
        lines.append(f"  {label:<{width}}  {_pct(report.scores.get(name))}  {span}{star}")
    if report.per_class:
        lines.append("")
        lines.append(f"  {'class':<14} {'prec':>6} {'recall':>6} {'f1':>6} {'ap':>6} {'n':>6}")
        for slug, m in report.per_class.items():
            lines.append(f"  {slug:<14} {_pct(m['precision'])} {_pct(m['recall'])} {_pct(m['f1'])} "
                         f"{_pct(m['ap'])} {int(m.get('support') or 0):>6}")
    lines.append("  (* main score)")
    return "\n".join(lines)
