"""``vaar discover``: candidate clips per class from a public seed list.

::

    vaar discover --from vggsounder [--classes C ...] [--per-class N] --out candidates.csv
    vaar discover --from vggsound-csv PATH_OR_URL --out ...
    vaar discover --from audioset-csv PATH_OR_URL --ontology ontology.json --out ...
    vaar discover --from xd-violence-list FILE_OR_URL [--sha256 HEX] --out ...
    vaar discover --from kinetics-csv FILE_OR_URL [--sha256 HEX] --out ...
    vaar discover --from ytsearch [--search-results N] --out ...
    vaar discover --recipe curation/sources/seeds/vaar-open-v1.yaml --out ...   (several seeds, pinned)

Exit codes: 0 written, 2 bad input (one line naming the file or option and the fix).
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("propose candidate clips per class from public metadata "
        "(VGGSounder, VGGSound, AudioSet, XD-Violence, Kinetics, search)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="seed", metavar="SEED",
                   help="seed: vggsounder, vggsound-csv, audioset-csv, xd-violence-list, kinetics-csv, ytsearch")
    p.add_argument("--recipe", type=Path, metavar="YAML",
                   help="run the seeds of a recipe (pinned lists and hashes) together, instead of --from")
    p.add_argument("source", nargs="?", metavar="PATH_OR_URL",
                   help="the seed's list (vggsound-csv, audioset-csv, xd-violence-list, kinetics-csv)")
    p.add_argument("--sha256", metavar="HEX", help="refuse the list unless its bytes have this sha256")
    p.add_argument("--ontology", metavar="FILE", help="audioset-csv: AudioSet ontology.json (path or URL)")
    p.add_argument("--ontology-sha256", metavar="HEX", help="refuse the ontology unless it has this sha256")
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
    from vaar.curation.discover.fetch import check_sha256
    from vaar.curation.discover.recipe import load_recipe, run_recipe
    from vaar.curation.netguard import NetworkPolicy

    if args.taxonomy and not Path(args.taxonomy).is_file():
        raise ConfigError(f"{args.taxonomy}: no such taxonomy file")
    tax = load_taxonomy(args.taxonomy) if args.taxonomy else default_taxonomy()
    opts = SeedOptions(
        source=args.source, ontology=args.ontology, search_results=args.search_results,
        classes=tuple(args.classes or ()), network=NetworkPolicy(allow_private=args.allow_private_network),
        sha256=check_sha256(args.sha256), ontology_sha256=check_sha256(args.ontology_sha256, "--ontology-sha256"),
    )  # fmt: skip
    if (args.recipe is None) == (args.seed is None):
        raise ConfigError("give one of --from SEED or --recipe YAML")
    if args.recipe is not None:
        if args.source or args.sha256 or args.ontology or args.per_class is not None or args.hash_seed:
            raise ConfigError("--recipe pins its own lists, per_class and hash_seed; "
                              "drop PATH_OR_URL, --sha256, --ontology, --per-class, --hash-seed")  # fmt: skip
        unknown = [c for c in opts.classes if c not in tax]
        if unknown:
            raise ConfigError(f"unknown class(es) {', '.join(unknown)}; use one of {', '.join(tax.slugs)}")
        result, _ = run_recipe(load_recipe(args.recipe, opts), tax, opts.classes)
        title = f"vaar discover --recipe {args.recipe}: {args.out}"
    else:
        result = discover(args.seed, opts, tax, per_class=args.per_class, hash_seed=args.hash_seed)
        title = f"vaar discover --from {args.seed}: {args.out}"
    write_candidates(args.out, result.candidates)
    kept = {c: 0 for c in tax.slugs if not opts.classes or c in opts.classes}
    for c in result.candidates:
        kept[c.label] = kept.get(c.label, 0) + 1
    stand = {c: 0 for c in kept}
    for c in result.candidates:
        stand[c.label] += "stand_in" in c.seed_flags
    t = Table(title=title)
    t.add_column("class")
    t.add_column("found", justify="right")
    t.add_column("kept", justify="right")
    t.add_column("of which stand-ins", justify="right")
    for label, n in kept.items():
        t.add_row(label, str(result.found.get(label, 0)), str(n), str(stand[label]))
    t.add_row("[bold]all", f"[bold]{sum(result.found.values())}", f"[bold]{len(result.candidates)}",
              f"[bold]{sum(stand.values())}")  # fmt: skip
    con = Console(stderr=True)
    con.print(t)
    for reason, n in sorted(result.skipped.items()):
        con.print(f"skipped {n} seed row(s): {reason}")
    none = [c for c, n in kept.items() if n == 0]
    if none:
        con.print(f"[yellow]no candidates for: {', '.join(none)}")
    print(f"wrote {len(result.candidates)} candidate(s) to {args.out} (not reviewed)", file=sys.stderr)
    return 0
