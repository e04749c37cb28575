"""``vaar audit``: which sources of a list are still reachable (metadata only, no media).

::

    vaar audit SOURCES.csv [--out report.csv] [--workers 4] [--cookies cookies.txt]

Prints a per-class table of how much of the list can still be rebuilt. Exit codes: 0 audited
(whatever the sources' state), 2 bad input (one line naming the file and the fix).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "check which sources of a list are still reachable (yt-dlp metadata, no download)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", type=Path, help="source list or candidates CSV")
    p.add_argument("--out", type=Path, help="write the per-row report here (CSV)")
    p.add_argument("--workers", type=int, default=4, help="URLs probed in parallel")
    p.add_argument("--socket-timeout", type=float, default=20.0, help="seconds per request")
    p.add_argument("--cookies", help="cookies.txt passed to yt-dlp (age-restricted sources)")
    p.add_argument("--allow-private-network", action="store_true",
                   help="also probe sources on loopback/private addresses (as vaar build's flag)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from vaar.curation.audit import STATUSES, AuditConfig, audit_sources, write_report

    cfg = AuditConfig(workers=args.workers, socket_timeout_s=args.socket_timeout, cookies=args.cookies,
                      allow_private_network=args.allow_private_network)  # fmt: skip
    report = audit_sources(args.sources, cfg)
    if args.out:
        write_report(args.out, report.rows)
    t = Table(title=f"vaar audit: {args.sources}")
    t.add_column("class")
    for s in STATUSES:
        t.add_column(s, justify="right")
    t.add_column("rebuildable", justify="right")
    for label, c in report.by_class().items():
        n = sum(c.values())
        t.add_row(label, *(str(c.get(s, 0)) for s in STATUSES), f"{100 * c['available'] / n:.0f}%")
    total = report.counts()
    n = sum(total.values())
    pct = f"{100 * total['available'] / n:.0f}%" if n else "-"
    t.add_row("[bold]all", *(f"[bold]{total.get(s, 0)}" for s in STATUSES), f"[bold]{pct}")
    con = Console()
    con.print(t)
    lic = report.licences()
    if lic:
        con.print("video licences of the available sources (as their pages state them now): "
                  + ", ".join(f"{k} {v}" for k, v in sorted(lic.items(), key=lambda kv: (-kv[1], kv[0]))))  # fmt: skip
    if args.out:
        con.print(f"report: {args.out}")
    return 0
