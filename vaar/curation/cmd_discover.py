"""``vaar discover``: candidate clips per class from a public seed list.

::

    vaar discover --from vggsounder [--classes C ...] [--per-class N] --out candidates.csv
    vaar discover --from vggsound-csv PATH_OR_URL --out ...
    vaar discover --from audioset-csv PATH_OR_URL --ontology ontology.json --out ...
    vaar discover --from xd-violence-list FILE --out ...
    vaar discover --from ytsearch [--search-results N] --out ...

Exit codes: 0 written, 2 bad input (one line naming the file or option and the fix).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "propose candidate clips per class from public metadata (VGGSounder, VGGSound, AudioSet, XD-Violence, search)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="seed", required=True, metavar="SEED",
                   help="seed: vggsounder, vggsound-csv, audioset-csv, xd-violence-list, ytsearch")
    p.add_argument("source", nargs="?", metavar="PATH_OR_URL",
                   help="the seed's list (vggsound-csv, audioset-csv, xd-violence-list)")
    p.add_argument("--ontology", metavar="FILE", help="audioset-csv: AudioSet ontology.json (path or URL)")
    p.add_argument("--classes", nargs="+", metavar="CLASS", help="only these classes (default: all)")
    p.add_argument("--per-class", type=int, metavar="N", help="keep at most N candidates a class")
    p.add_argument("--hash-seed", type=int, default=0, help="seed of the deterministic choice (default 0)")
    p.add_argument("--search-results", type=int, default=20, help="ytsearch: results per phrase")
    p.add_argument("--taxonomy", metavar="YAML", help="taxonomy file (default: the packaged one)")
    p.add_argument("--allow-private-network", action="store_true",
                   help="let a list URL (or its redirects) resolve to a private, loopback or link-local address")
    p.add_argument("--out", type=Path, required=True, help="candidates CSV to write")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import sys

    from rich.console import Console
    from rich.table import Table

    from vaar.core.errors import ConfigError
    from vaar.core.taxonomy import default_taxonomy, load_taxonomy
    from vaar.curation.discover import SeedOptions, discover, write_candidates
    from vaar.curation.netguard import NetworkPolicy

    if args.taxonomy and not Path(args.taxonomy).is_file():
        raise ConfigError(f"{args.taxonomy}: no such taxonomy file")
    tax = load_taxonomy(args.taxonomy) if args.taxonomy else default_taxonomy()
    opts = SeedOptions(
        source=args.source, ontology=args.ontology, search_results=args.search_results,
        classes=tuple(args.classes or ()), network=NetworkPolicy(allow_private=args.allow_private_network),
    )  # fmt: skip
    result = discover(args.seed, opts, tax, per_class=args.per_class, hash_seed=args.hash_seed)
    write_candidates(args.out, result.candidates)
    kept = {c: 0 for c in tax.slugs if not opts.classes or c in opts.classes}
    for c in result.candidates:
        kept[c.label] = kept.get(c.label, 0) + 1
    t = Table(title=f"vaar discover --from {args.seed}: {args.out}")
    t.add_column("class")
    t.add_column("found", justify="right")
    t.add_column("kept", justify="right")
    for label, n in kept.items():
        t.add_row(label, str(result.found.get(label, 0)), str(n))
    t.add_row("[bold]all", f"[bold]{sum(result.found.values())}", f"[bold]{len(result.candidates)}")
    con = Console(stderr=True)
    con.print(t)
    for reason, n in sorted(result.skipped.items()):
        con.print(f"skipped {n} seed row(s): {reason}")
    none = [c for c, n in kept.items() if n == 0]
    if none:
        con.print(f"[yellow]no candidates for: {', '.join(none)}")
    print(f"wrote {len(result.candidates)} candidate(s) to {args.out} (not reviewed)", file=sys.stderr)
    return 0
