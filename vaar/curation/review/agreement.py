"""Agreement between two curators: Cohen's kappa, overall and per class, and what to settle.

Each curator's file gives, for every clip they decided, one *category*: the class they accepted
it as, or ``rejected``. Only clips both decided are compared.

* **overall** kappa: Cohen's kappa over those categories (all classes + ``rejected``);
  ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the fraction of clips on which the two agree and
  ``p_e = sum_k p_a(k) p_b(k)`` the agreement expected by chance from each curator's own rates.
* **per class** ``c`` (one-vs-rest): the same formula on the yes/no question "accepted as ``c``?"
  (so a clip one curator accepts as ``c`` and the other rejects or relabels is a disagreement
  on ``c``); ``rejected`` gets its own row ("rejected?").

Kappa is undefined (``None``, printed ``n/a``) when ``p_e = 1``: both curators put every clip in
the same category, so chance already explains all agreement.

A file is a ``reviewed.csv`` (accepted rows; its ``*.rejected.csv`` beside it adds the
rejections) or a ``*.decisions.jsonl`` log (the last decision per clip counts).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vaar.core.csvsafe import checked, header_of
from vaar.core.errors import ConfigError
from vaar.curation.review.decisions import review_paths

REJECTED = "rejected"
SPAN_TOLERANCE_S = 0.5


@dataclass(frozen=True)
class Call:
    category: str  # a class slug, or "rejected"
    start: float | None = None
    end: float | None = None


@dataclass
class Agreement:
    n: int
    only_a: int
    only_b: int
    observed: float | None
    overall: float | None
    per_class: dict[str, tuple[float | None, int, int]]  # class -> (kappa, count in a, count in b)
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)
    span_disagreements: list[tuple[str, str, str]] = field(default_factory=list)


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Cohen's kappa of two equally long rating lists; ``None`` when undefined (``p_e = 1``)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def read_calls(path: Path) -> dict[str, Call]:
    """``clip_id -> Call`` from a reviewed CSV (+ its rejected file) or a decisions log."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; pass two reviewed.csv files (or *.decisions.jsonl logs)")
    if path.suffix == ".jsonl":
        calls: dict[str, Call] = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                if d["action"] == "undo":  # the clip's earlier decision was withdrawn
                    calls.pop(str(d["clip_id"]), None)
                    continue
                cat = d["label"] if d["action"] == "accept" else REJECTED
                calls[str(d["clip_id"])] = Call(str(cat), d.get("start"), d.get("end"))
            except (ValueError, KeyError, TypeError):
                raise ConfigError(f"{path}:{n}: not a decision record") from None
        return calls
    calls = {cid: Call(row.get("label", ""), _f(row.get("start")), _f(row.get("end")))
             for cid, row in _csv_rows(path).items()}  # fmt: skip
    rejected = review_paths(path)[1]
    if rejected.is_file():
        for cid in _csv_rows(rejected):
            calls[cid] = Call(REJECTED)
    return calls


def _f(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _csv_rows(path: Path) -> dict[str, dict[str, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8; save it as UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = header_of(reader, str(path), ConfigError)
    if "clip_id" not in fields or "label" not in fields:
        raise ConfigError(f"{path}: needs columns clip_id and label (a reviewed.csv from `vaar review`)")
    return {(r.get("clip_id") or "").strip(): {k: (v or "").strip() for k, v in r.items() if k}
            for r in checked(reader, str(path), ConfigError)}


def agreement(a: dict[str, Call], b: dict[str, Call], classes: tuple[str, ...]) -> Agreement:
    both = sorted(set(a) & set(b))
    ra, rb = [a[c].category for c in both], [b[c].category for c in both]
    observed = sum(x == y for x, y in zip(ra, rb, strict=True)) / len(both) if both else None
    per: dict[str, tuple[float | None, int, int]] = {}
    for k in (*classes, REJECTED):
        ya = ["yes" if x == k else "no" for x in ra]
        yb = ["yes" if x == k else "no" for x in rb]
        per[k] = (cohen_kappa(ya, yb), ya.count("yes"), yb.count("yes"))
    dis = [(c, a[c].category, b[c].category) for c in both if a[c].category != b[c].category]
    span = []
    for c in both:
        x, y = a[c], b[c]
        if x.category != y.category or x.category == REJECTED:
            continue
        if x.start is None or x.end is None or y.start is None or y.end is None:
            continue
        if abs(x.start - y.start) > SPAN_TOLERANCE_S or abs(x.end - y.end) > SPAN_TOLERANCE_S:
            span.append((c, f"{x.start:g}-{x.end:g}", f"{y.start:g}-{y.end:g}"))
    return Agreement(len(both), len(set(a) - set(b)), len(set(b) - set(a)), observed,
                     cohen_kappa(ra, rb), per, dis, span)  # fmt: skip
