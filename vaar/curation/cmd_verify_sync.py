"""``vaar verify-sync PATH...``: measure the audio-video offset of media files.

Prints one row per file: the offset in ms (positive = audio late), the confidence in [0, 1]
and the verdict (``in_sync`` / ``out_of_sync`` / ``unverifiable``); with ``--json`` one JSON
object per line instead. A file that cannot be checked (missing, not media, no audio or no
video stream) gets an ``{"path", "error"}`` object (or an error row), the others are still
checked, and the exit code is 1 at the end. Verdicts do not change the exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

HELP = "Measure the audio-video offset of media files (positive = audio late)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="media files to check")
    parser.add_argument("--json", action="store_true", help="one JSON object per file per line")
    parser.add_argument(
        "--tolerance-ms", type=float, default=80.0, metavar="MS",
        help="largest |offset| that is still in_sync (default: 80)",
    )  # fmt: skip
    parser.add_argument(
        "--max-lag-ms", type=float, default=1000.0, metavar="MS",
        help="offsets are searched within ±this (default: 1000)",
    )  # fmt: skip
    parser.add_argument(
        "--min-confidence", type=float, default=None, metavar="C",
        help="below this confidence the verdict is unverifiable (default: the QC config's)",
    )  # fmt: skip


def check_one(
    path: str, tolerance_ms: float, max_lag_ms: float, min_confidence: float
) -> dict[str, Any]:
    """The result object of one file: sync fields, or ``error``."""
    from pathlib import Path

    from vaar.core.errors import VerifyError
    from vaar.curation.build.decode import decode_clip
    from vaar.curation.build.sync import estimate_offset

    try:
        est = estimate_offset(
            decode_clip(Path(path)),
            tolerance_ms=tolerance_ms,
            max_lag_ms=max_lag_ms,
            min_confidence=min_confidence,
        )
    except VerifyError as exc:
        return {"path": path, "error": exc.reason}
    offset = None if est.offset_ms is None else round(est.offset_ms, 1)
    return {"path": path, "offset_ms": offset, "confidence": est.confidence, "verdict": est.verdict}


def run(args: argparse.Namespace) -> int:
    from vaar.core.errors import ConfigError
    from vaar.curation.build.quality import QCConfig

    if args.tolerance_ms < 0 or args.max_lag_ms <= 0:
        raise ConfigError("--tolerance-ms must be ≥ 0 and --max-lag-ms > 0")
    min_conf = QCConfig().min_confidence if args.min_confidence is None else args.min_confidence
    if not 0.0 <= min_conf <= 1.0:
        raise ConfigError("--min-confidence must be within [0, 1]")

    def each() -> Any:
        for p in args.paths:
            yield check_one(p, args.tolerance_ms, args.max_lag_ms, min_conf)

    failed = 0
    if args.json:
        for res in each():
            failed += "error" in res
            print(json.dumps(res), flush=True)
        return 1 if failed else 0

    from rich.console import Console
    from rich.table import Table

    table = Table("path", "offset (ms)", "confidence", "verdict")
    results = []
    err = Console(stderr=True)
    with err.status("checking…") if sys.stderr.isatty() else contextlib.nullcontext():
        for res in each():
            results.append(res)
    colour = {"in_sync": "green", "out_of_sync": "red", "unverifiable": "yellow"}
    for res in results:
        if "error" in res:
            failed += 1
            table.add_row(res["path"], "", "", f"[bold red]error:[/] {res['error']}")
        else:
            off = "—" if res["offset_ms"] is None else f"{res['offset_ms']:+.0f}"
            v = res["verdict"]
            table.add_row(res["path"], off, f"{res['confidence']:.2f}", f"[{colour[v]}]{v}[/]")
    Console().print(table)
    counts = {v: sum(r.get("verdict") == v for r in results) for v in colour}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    if failed:
        summary += (", " if summary else "") + f"{failed} error{'s' if failed > 1 else ''}"
    Console().print(f"{len(results)} file{'s' if len(results) != 1 else ''}: {summary}")
    return 1 if failed else 0
