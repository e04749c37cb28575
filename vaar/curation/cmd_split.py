"""``vaar split``: make a grouped, stratified split of a manifest, or check a split folder.

::

    vaar split MANIFEST --out DIR [--seed S] [--ratios 0.7,0.1,0.2] [--folds K] [--force]
    vaar split --check DIR [--manifest MANIFEST]

Exit codes: 0 fine, 1 the checked split violates its contract (offending ids printed),
2 bad input (one line naming the file, the clips and the fix).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from vaar.core.taxonomy import Taxonomy
    from vaar.curation.split import CheckReport

HELP = "split ok clips into train/validation/test (grouped, stratified), or --check a split"

_MAX_IDS = 50  # ids printed per violation; the count says how many more


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest_path", nargs="?", metavar="MANIFEST",
                        help="manifest.parquet written by `vaar build` (only status == ok rows)")
    parser.add_argument("--out", metavar="DIR", help="folder for train/validation/test.csv, "
                        "split.json and SHA256SUMS (e.g. splits/v2)")
    parser.add_argument("--seed", type=int, default=0, help="tie-break seed (default 0)")
    parser.add_argument("--ratios", default="0.7,0.1,0.2", metavar="T,V,T",
                        help="train,validation,test fractions summing to 1 (default 0.7,0.1,0.2)")
    parser.add_argument("--folds", type=int, metavar="K",
                        help="also write folds.csv: K grouped stratified folds of train+validation")
    parser.add_argument("--force", action="store_true",
                        help="replace a different split already in DIR (committed splits are "
                        "frozen: prefer a new version folder)")
    parser.add_argument("--check", metavar="DIR", help="verify the split folder DIR instead")
    parser.add_argument("--manifest", metavar="MANIFEST",
                        help="with --check: also check clips and groups against this manifest")
    parser.add_argument("--taxonomy", metavar="YAML",
                        help="taxonomy file (default: the packaged VAAR taxonomy)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from vaar.core.errors import ConfigError
    from vaar.core.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(args.taxonomy)
    console = Console(highlight=False, soft_wrap=True)
    if args.check:
        if args.out:
            raise ConfigError("--check and --out do not go together; "
                              "check a folder or make one")
        if args.manifest and args.manifest_path and args.manifest != args.manifest_path:
            raise ConfigError("--check: two manifests given; pass one with --manifest")
        return _check(args.check, args.manifest or args.manifest_path, taxonomy, console)
    if args.manifest:
        raise ConfigError("--manifest is for --check; to make a split give the "
                          "manifest as MANIFEST: vaar split MANIFEST --out DIR")
    if not args.manifest_path or not args.out:
        raise ConfigError("give a MANIFEST and --out DIR to make a split, "
                          "or --check DIR to verify one")
    return _make(args, taxonomy, console)


def _make(args: argparse.Namespace, taxonomy: Taxonomy, console: Console) -> int:
    from pathlib import Path

    from vaar.core.errors import ConfigError
    from vaar.curation import split as sp

    ratios = sp.parse_ratios(args.ratios)
    if args.folds is not None and args.folds < 2:
        raise ConfigError(f"--folds {args.folds}: need an integer >= 2 (e.g. --folds 5)")
    where = str(args.manifest_path)
    clips = sp.read_manifest_clips(args.manifest_path)
    items = sp.load_split_items(args.manifest_path, taxonomy, clips=clips)
    assignment = sp.assign_splits(items, ratios, args.seed, taxonomy=taxonomy, where=where)
    folds = None
    if args.folds is not None:
        pool = sp.development_pool(items, assignment)
        folds = sp.assign_folds(pool, args.folds, args.seed, taxonomy=taxonomy,
                                where=f"{where} (train+validation clips)")
    files = sp.render_split_files(items, assignment, folds=folds,
                                  params=sp.SplitParams(ratios, args.seed, args.folds))
    out = Path(args.out)
    sums = out / sp.SUMS_FILE
    if sums.is_file() and sums.read_bytes() != files[sp.SUMS_FILE] and not args.force:
        raise ConfigError(f"{out} already holds a different split ({sp.SUMS_FILE} differs); "
                          "committed splits are frozen — write a new version folder "
                          "(e.g. splits/v2) or pass --force to replace it")
    sp.write_files(out, files)
    report = sp.summarize_split(items, assignment, out, params=sp.SplitParams(ratios, args.seed),
                                folds=folds)
    _print_report(report, console, made=True)
    return 0 if report.ok else 1


def _check(split_dir: str, manifest: str | None, taxonomy: Taxonomy, console: Console) -> int:
    from vaar.curation import split as sp

    report = sp.check_split_dir(split_dir, manifest, taxonomy=taxonomy)
    _print_report(report, console, made=False)
    return 0 if report.ok else 1


def _print_report(report: CheckReport, console: Console, *, made: bool) -> None:
    console.print(_counts_table(report))
    if report.fold_counts:
        console.print(_folds_table(report.fold_counts))
    for line in _deviation_lines(report):
        console.print(line)
    for name, digest in report.sha256.items():
        console.print(f"sha256 {digest}  {name}")
    if report.digest:
        console.print(f"split digest (sha256 of SHA256SUMS): {report.digest}")
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    for v in report.violations:
        ids = list(v.ids)
        shown = " ".join(ids[:_MAX_IDS]) + (f" (+{len(ids) - _MAX_IDS} more)" if len(ids) > _MAX_IDS else "")
        console.print(f"[red]violation ({v.kind}):[/] {v.message}")
        if ids:
            console.print(f"  offending: {shown}", soft_wrap=True)
    if report.ok:
        verb = "wrote" if made else "checked"
        console.print(f"[green]{verb} {report.path}: ok[/]")
    else:
        console.print(f"[red]{report.path}: {len(report.violations)} violation(s)[/]")


def _counts_table(report: CheckReport) -> Table:
    from rich.table import Table

    from vaar.curation.split import SPLITS

    total = sum(report.split_sizes.values())
    ratios = ",".join(f"{r:g}" for r in report.ratios)
    table = Table(title=f"{report.path}: {total} clips in {report.groups} groups, "
                  f"target ratios {ratios}" + ("" if report.ratios_recorded else " (assumed)"))
    table.add_column("class")
    for s in SPLITS:
        table.add_column(s, justify="right")
    table.add_column("total", justify="right")
    for label, row in report.counts.items():
        n = sum(row.values())
        table.add_row(label, *(f"{row[s]} ({row[s] / n:.1%})" for s in SPLITS), str(n))
    table.add_section()
    table.add_row("all", *(f"{report.split_sizes[s]} ({report.split_sizes[s] / total:.1%})"
                           if total else "0" for s in SPLITS), str(total), style="bold")
    return table


def _folds_table(fold_counts: dict[str, dict[int, int]]) -> Table:
    from rich.table import Table

    k = max((max(r, default=-1) for r in fold_counts.values()), default=-1) + 1
    ft = Table(title=f"folds of train+validation (k={k})")
    ft.add_column("class")
    for f in range(k):
        ft.add_column(f"fold {f}", justify="right")
    for label, fold_row in fold_counts.items():
        ft.add_row(label, *(str(fold_row.get(f, 0)) for f in range(k)))
    return ft


def _deviation_lines(report: CheckReport) -> list[str]:
    from vaar.curation.split import BALANCE_MIN_CLIPS

    lines = []
    d = report.largest_ratio_deviation
    if d is not None:
        lines.append(f"largest deviation from the target ratios: {d.points:.2f} points "
                     f"({d.label} in {d.split}: {d.observed:.1%} of the class, target {d.target:.0%})")
    d = report.largest_proportion_deviation
    if d is not None:
        lines.append(f"largest label-share deviation (classes >= {BALANCE_MIN_CLIPS} clips): "
                     f"{d.points:.2f} points ({d.label} is {d.observed:.1%} of {d.split}, "
                     f"{d.target:.1%} overall)")
    return lines
