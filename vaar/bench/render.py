"""Render the leaderboard: ``LEADERBOARD.md`` and a self-contained ``index.html``.

Both are pure functions of the entries (no clock, no network), so the golden files in
``tests/bench/golden`` change only when the entries or this module do. The page inlines its CSS,
its sorting script and its plots (SVG): it works offline, from ``file://``, with no CDN.

Each task gets one table, sorted by the task's main score (ties by name), with 95% bootstrap
intervals, measured parameters and CPU latency, and the results reported in papers
(:mod:`vaar.bench.reported`) marked "reported, not reproduced" with their citations; and one
plot of the main score against measured CPU latency (log scale), where reported results, whose
cost is unknown, are dashed horizontal lines.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape as _escape
from typing import Any

from vaar.bench.hooks import LazySection
from vaar.bench.provenance import is_sample, provenance
from vaar.bench.reported import Reported, reported_for
from vaar.bench.tasks import get_task, task_names
from vaar.core.contracts.entry import URL
from vaar.core.errors import ConfigError

Entry = Mapping[str, Any]
DASH = "\u2014"
#: the robustness track's column and section, filled by vaar.robustness.board (vaar.bench.hooks)
robust = LazySection("robustness")


def escape(value: object) -> str:
    """HTML-escape any value (quotes included), for text and attribute values alike."""
    return _escape(str(value), quote=True)


@dataclass(frozen=True)
class TaskView:
    name: str
    title: str
    main: str
    labels: dict[str, str]
    entries: tuple[Entry, ...]  # sorted, best first
    reported: tuple[Reported, ...]
    split: str | None = None  # split identity of every entry in the table
    other: bool = False  # True: a test set other than the task's expected one (not comparable)
    sample: bool = False  # True: scored on the synthetic sample (vaar.bench.provenance), a table of its own

    @property
    def anchor(self) -> str:
        """A safe id fragment: the task name's letters, plus the split for other test sets."""
        base = re.sub(r"[^a-z0-9-]", "-", self.name.lower())[:40]
        tail = f"-split-{re.sub(r'[^a-z0-9]', '', (self.split or '').lower())[-12:]}"
        return (f"{base}-sample{tail}" if self.sample else f"{base}{tail}") if self.other else base


def _sort_key(main: str) -> Any:
    def key(e: Entry) -> tuple[int, float, str]:
        v = e["scores"].get(main)
        return (v is None, -(v or 0.0), str(e["model"]["name"]).lower())

    return key


def task_views(entries: Sequence[Entry], expected: Mapping[str, str] | None = None) -> list[TaskView]:
    """One view per task and test set, in registry order; a task's expected split first.

    ``expected`` maps a task to its one split identity; entries scored on another split get a
    separate view marked ``other``. Without it, the most common split of the task's entries is
    the expected one.
    """
    names = list(task_names())
    names += sorted({str(e["task"]) for e in entries} - set(names))
    views = []
    for name in names:
        mine = [e for e in entries if e["task"] == name]
        rep = reported_for(name)
        if not mine and not rep:
            continue
        try:
            t = get_task(name)
            title, main, labels = t.title, t.main_score, dict(t.score_labels)
        except ConfigError:  # an entry of a task this version does not know
            main = str(mine[0]["main_score"])
            title, labels = name, {str(k): str(k) for k in mine[0]["scores"]}
        splits: dict[str, list[Entry]] = {}
        samples: dict[str, list[Entry]] = {}
        for e in mine:
            (samples if is_sample(e) else splits).setdefault(str(e["dataset"]["split_sha256"]), []).append(e)
        want = (expected or {}).get(name)
        if want is None and splits:
            want = sorted(splits.items(), key=lambda kv: (-len(kv[1]), kv[0]))[0][0]
        main_entries = splits.pop(want, []) if want is not None else []
        views.append(TaskView(name, title, main, labels, tuple(sorted(main_entries, key=_sort_key(main))), rep,
                              want))
        for split, group in sorted(splits.items()):
            views.append(TaskView(name, title, main, labels, tuple(sorted(group, key=_sort_key(main))), (),
                                  split, other=True))
        for split, group in sorted(samples.items()):
            views.append(TaskView(name, title, main, labels, tuple(sorted(group, key=_sort_key(main))), (),
                                  split, other=True, sample=True))
    return views


def _other_title(v: TaskView) -> str:
    return " \u2014 synthetic sample" if v.sample else " \u2014 another test set"


def other_note(v: TaskView) -> str:
    if v.sample:
        return ("Scored on the synthetic sample (vaar build --sample: clips generated by ffmpeg, for trying the "
                "tools): a table of its own, never the task's test set, not comparable with any other table.")
    return (f"Scored on another test set (split {str(v.split)[:16]}\u2026), not the one this task is ranked on: "
            "not comparable with the table above.")


# --- formatting ----------------------------------------------------------------------------

def pct(v: float | None) -> str:
    return DASH if v is None else f"{100 * v:.2f}"


def ci(interval: Sequence[float] | None) -> str:
    return "" if not interval else f"{100 * interval[0]:.1f}\u2013{100 * interval[1]:.1f}"


def params(n: int | None) -> str:
    if n is None:
        return DASH
    if n >= 1e9:
        return f"{n / 1e9:.2f} B"
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    if n >= 1e3:
        return f"{n / 1e3:.1f} K"
    return str(n)


def latency(ms: float | None) -> str:
    return DASH if ms is None else (f"{ms:.1f}" if ms >= 1 else f"{ms:.3f}")


def modalities(e: Entry) -> str:
    return "+".join(str(m) for m in (e["model"].get("modalities") or ())) or DASH


def safe_url(url: Any) -> str | None:
    """The URL if it matches the entry contract's strict https pattern, else None."""
    return url if isinstance(url, str) and len(url) <= 300 and re.match(URL, url) else None


@dataclass(frozen=True)
class Column:
    """A column after the scores: header, sort key, sort type and the cell's text and value."""

    key: str
    header: str
    numeric: bool
    text: Callable[[Entry], str]  # shown (plain text; escaped by the renderer)
    value: Callable[[Entry], str]  # for sorting ("" = missing)


def _cost(e: Entry, key: str) -> Any:
    return (e.get("cost") or {}).get(key)


def _num(v: float | int | None) -> str:
    return "" if v is None else repr(float(v))


#: columns whose best value is the lowest (their first click sorts ascending)
LOW_IS_BEST = frozenset({"parameters", "latency"})

#: columns after the score columns, in order (append one here to add a column to both pages)
COLUMNS: list[Column] = [
    Column("parameters", "Params", True, lambda e: params(_cost(e, "parameters")), lambda e: _num(_cost(e, "parameters"))),
    Column("latency", "CPU ms/clip", True, lambda e: latency(_cost(e, "latency_ms_per_clip")),
           lambda e: _num(_cost(e, "latency_ms_per_clip"))),
    Column("modalities", "Modalities", False, modalities, modalities),
    Column("date", "Date", False, lambda e: str(e["date"]), lambda e: str(e["date"])),
]


def _robustness_text(e: Entry) -> str:
    text, _, iv = robust.cell_text(e)
    return text + (f" ({iv})" if iv else "")


#: shown first among the columns once an entry of the task has a robustness score (vaar.robustness)
ROBUSTNESS = Column("robustness", "Robustness (mCF1)", True, _robustness_text, lambda e: _num(robust.cell_text(e)[1]))


def columns_for(v: TaskView) -> list[Column]:
    return [ROBUSTNESS, *COLUMNS] if robust.has_column(v.name, v.entries) else list(COLUMNS)


# --- Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|])")


def md_text(value: object) -> str:
    """Text safe in a Markdown table cell: no link, image, HTML, code or cell break from it."""
    text = " ".join(str(value).split())  # newlines and tabs become spaces
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(entries: Sequence[Entry], expected: Mapping[str, str] | None = None) -> str:
    lines = [
        "# vaar-bench leaderboard",
        "",
        "Generated by `vaar-bench` from `entries/`; do not edit by hand. To submit, see",
        "[README.md](README.md). Scores are percentages with 95% percentile-bootstrap intervals",
        "over clips (over videos for XD-Violence). Parameters and CPU latency per clip are",
        "measured by `vaar-bench submit --model`; " + DASH + " means not measured.",
        "",
    ]
    for v in task_views(entries, expected):
        cols = list(v.labels)
        more = columns_for(v)
        heading = f"## {md_text(v.title)} ({md_text(v.name)})"
        lines += [heading + (_other_title(v) if v.other else ""), ""]
        if v.other:
            lines += [md_text(other_note(v)), ""]
        lines += [md_text(provenance(v.entries, v.split)), ""]
        lines += [f"Sorted by **{md_text(v.labels[v.main])}**.", ""]
        if v.entries:
            head = ["#", "Model", *(md_text(v.labels[c]) for c in cols), *(md_text(c.header) for c in more)]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join(["--:", "---", *["--:"] * len(cols),
                                         *("--:" if c.numeric else "---" for c in more)]) + "|")
            for rank, e in enumerate(v.entries, start=1):
                name = md_text(e["model"]["name"])
                url = safe_url(e["model"].get("url"))
                cells = [str(rank), f"[{name}]({url})" if url else name]
                for c in cols:
                    s = e["scores"].get(c)
                    interval = ci(e["ci95"].get(c))
                    cells.append(pct(s) + (f" ({interval})" if interval and s is not None else ""))
                cells += [md_text(c.text(e)) for c in more]
                lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append("No entries yet.")
        if v.reported:
            lines += ["", "Reported in papers, not reproduced here:", "",
                      "| Model | Score | Source |", "|---|--:|---|"]
            for r in v.reported:
                url = safe_url(r.url)
                cite = f"[{md_text(r.citation)}]({url})" if url else md_text(r.citation)
                lines.append(f"| {md_text(r.model)} | {md_text(v.labels.get(r.score, r.score))} {pct(r.value)} "
                             f"| {cite} |")
        lines.append("")
    lines += robust.md_section(entries, md_text)
    return "\n".join(lines)


# --- HTML ----------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 1.5rem;color:#1d2330}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin:2rem 0 .4rem}
p.note{color:#555;margin:.3rem 0}
table.board{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-variant-numeric:tabular-nums}
table.board th,table.board td{border-bottom:1px solid #dde;padding:.3rem .5rem;text-align:right;white-space:nowrap}
table.board th.t,table.board td.t{text-align:left;white-space:normal}
table.board td.m{white-space:nowrap;min-width:12em}
.board-wrap{overflow-x:auto}
p.provenance{font-size:.9em;color:#333}
table.board th{background:#f3f4f8;cursor:pointer;user-select:none}
table.board th:focus{outline:2px solid #4a6cf7}
table.board th[aria-sort=ascending]::after{content:" \\25B2"}
table.board th[aria-sort=descending]::after{content:" \\25BC"}
table.board tr.reported td{color:#666;font-style:italic;background:#fbfbf4}
.ci{color:#777;font-size:.82em;display:block}
.badge{font-size:.72em;font-style:normal;border:1px solid #b9a94a;border-radius:3px;padding:0 .25em;margin-left:.3em;color:#6d6220}
svg.plot{max-width:720px;width:100%;height:auto;border:1px solid #eee;background:#fff}
svg.plot text{font:11px system-ui,sans-serif;fill:#333}
ol.refs li{margin:.2rem 0}
"""

_JS = """
(function () {
  function value(row, col, type) {
    var cell = row.cells[col];
    var v = cell ? cell.getAttribute('data-value') : null;
    if (v === null || v === '') { return null; }
    return type === 'num' ? parseFloat(v) : v.toLowerCase();
  }
  function sortTable(table, col, th) {
    var type = th.getAttribute('data-type');
    var current = th.getAttribute('aria-sort');
    var first = th.getAttribute('data-best') === 'low' || type !== 'num' ? 'ascending' : 'descending';
    var dir = current === 'descending' ? 'ascending' : current === 'ascending' ? 'descending' : first;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col, type), y = value(b, col, type);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = x < y ? -1 : x > y ? 1 : 0;
      return dir === 'ascending' ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.board'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener('click', function () { sortTable(table, col, th); });
      th.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortTable(table, col, th); }
      });
    });
  });
}());
"""


def _td(text: str, value: str, cls: str = "") -> str:
    """A cell: ``text`` is already HTML; ``value`` (the sort key) is escaped here."""
    c = f' class="{cls}"' if cls else ""
    return f'<td{c} data-value="{escape(value)}">{text}</td>'


def _html_table(v: TaskView, ref_ids: dict[str, int]) -> str:
    cols = list(v.labels)
    more = columns_for(v)
    heads = ['<th data-type="num" data-best="low">#</th>', '<th class="t m" data-type="text">Model</th>']
    for c in cols:
        sort = ' aria-sort="descending"' if c == v.main else ""
        heads.append(f'<th data-type="num" data-key="{escape(c)}"{sort}>{escape(v.labels[c])}</th>')
    for col in more:
        kind = 'data-type="num"' if col.numeric else 'class="t" data-type="text"'
        best = ' data-best="low"' if col.key in LOW_IS_BEST else ""
        heads.append(f'<th {kind} data-key="{escape(col.key)}"{best}>{escape(col.header)}</th>')
    rows = []
    for rank, e in enumerate(v.entries, start=1):
        name = escape(e["model"]["name"])
        url = safe_url(e["model"].get("url"))
        link = f'<a href="{escape(url)}" rel="nofollow noopener">{name}</a>' if url else name
        cells = [_td(str(rank), str(rank)), _td(link, str(e["model"]["name"]), "t m")]
        for c in cols:
            s = e["scores"].get(c)
            interval = ci(e["ci95"].get(c)) if s is not None else ""
            extra = f'<span class="ci">{escape(interval)}</span>' if interval else ""
            cells.append(_td(escape(pct(s)) + extra, _num(s)))
        cells += [_td(escape(col.text(e)), col.value(e), "" if col.numeric else "t") for col in more]
        rows.append(f'<tr class="entry" data-slug="{escape(e["slug"])}">' + "".join(cells) + "</tr>")
    for r in v.reported:
        ref = ref_ids[r.citation]
        label = (f'{escape(r.model)}<span class="badge">reported, not reproduced</span>'
                 f' <a href="#ref-{ref}">[{ref}]</a>')
        cells = [_td(DASH, ""), _td(label, r.model, "t m")]
        for c in cols:
            cells.append(_td(pct(r.value), _num(r.value)) if c == r.score else _td(DASH, ""))
        cells += [_td(DASH, "", "" if col.numeric else "t") for col in more]
        rows.append('<tr class="reported">' + "".join(cells) + "</tr>")
    if not rows:
        rows.append(f'<tr class="empty"><td class="t" colspan="{len(heads)}" data-value="">No entries yet.</td></tr>')
    return (f'<div class="board-wrap"><table class="board" id="board-{v.anchor}"><thead><tr>' + "".join(heads)
            + "</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>")


def _plot(v: TaskView) -> str:
    """Main score against measured CPU latency (:mod:`vaar.bench.plot`); reported results as dashed lines."""
    from vaar.bench.plot import cost_plot

    return cost_plot(v.anchor, v.labels[v.main], v.entries, v.main,
                     [(r.value, r.model) for r in v.reported if r.score == v.main], esc=escape, pct=pct, latency=latency)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


#: the page's Content-Security-Policy: nothing loads from anywhere, and the only script and style
#: that run are the page's own (by hash), so an injected ``<script>`` or ``onerror=`` is inert
CSP = ("default-src 'none'; script-src " + _csp_hash(_JS) + "; style-src " + _csp_hash(_CSS)
       + "; img-src 'none'; base-uri 'none'; form-action 'none'")


def render_html(entries: Sequence[Entry], expected: Mapping[str, str] | None = None) -> str:
    views = task_views(entries, expected)
    citations: dict[str, int] = {}
    urls: dict[str, str] = {}
    for v in views:
        for r in v.reported:
            if r.citation not in citations:
                citations[r.citation] = len(citations) + 1
                urls[r.citation] = r.url
    body = []
    for v in views:
        other = escape(_other_title(v)) if v.other else ""
        body.append(f'<section id="task-{v.anchor}"><h2>{escape(v.title)} (<code>{escape(v.name)}</code>){other}</h2>')
        if v.other:
            body.append(f'<p class="note other">{escape(other_note(v))}</p>')
        body.append(f'<p class="note provenance">{escape(provenance(v.entries, v.split))}</p>')
        body.append(f'<p class="note">Sorted by <b>{escape(v.labels[v.main])}</b>; click a column to sort. '
                    "Scores in %, 95% bootstrap interval below each.</p>")
        body.append(_html_table(v, citations))
        body.append(_plot(v))
        body.append("</section>")
    section = robust.html_section(entries)  # the robustness track, when an entry has it
    if section:
        body.append(section)
    refs = "".join(f'<li id="ref-{i}">{escape(c)}. <a href="{escape(urls[c])}">{escape(urls[c])}</a></li>'
                   for c, i in citations.items())
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>vaar-bench leaderboard</title><style>" + _CSS + "</style></head><body>\n"
        "<h1>vaar-bench leaderboard</h1>\n"
        "<p class=\"note\">Audio-visual anomaly recognition on VAAR and XD-Violence, every score computed by "
        "<code>vaar-bench</code> the same way, with 95% percentile-bootstrap intervals. Parameters and CPU latency "
        "are measured by <code>vaar-bench submit --model</code>. Rows marked <i>reported, not reproduced</i> "
        "are copied from papers; vaar-bench has not scored them.</p>\n"
        + "\n".join(body)
        + ("\n<h2>References</h2><ol class=\"refs\">" + refs + "</ol>" if refs else "")
        + "\n<script>" + _JS + "</script>\n</body></html>\n"
    )
