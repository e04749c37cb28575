"""``vaar-bench robustness``: score a trained run or a model on corrupted test media."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

HELP = "score a trained run (--run) or a model (--model) on every corruption x severity of the test split"


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--run", type=Path, metavar="RUN", help="a run folder of `vaar-bench train`")
    g.add_argument("--model", metavar="PKG.MODULE:FACTORY", help="a model (protocol: vaar.bench.sandbox; run in its own process)")
    p.add_argument("--dataset", type=Path, metavar="DIR", help="published dataset folder (made by `vaar build`)")
    p.add_argument("--split", default="test", help="split to corrupt and score (default test)")
    p.add_argument("--corruptions", nargs="*", metavar="NAME",
                   help="corruption names, or video / audio / modality / all (default all); --list shows them")
    p.add_argument("--severities", default="1-5", help="severities to score: 1-5, 1,3,5 or 3 (default 1-5)")
    p.add_argument("--seed", type=int, default=0, help="corruption seed (default 0)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    p.add_argument("--cache", type=Path, metavar="DIR",
                   help="feature cache for --run (default: the run's own) and, under DIR/media, corrupted media")
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (JSON per corruption, summary, heat map)")
    p.add_argument("--name", help="model name shown in the heat map (default: the run folder's name)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="clips per predict() call with --model (default: the model's own batch_size, else 8)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--list", action="store_true", help="list the corruptions and their levels, then exit")


def run(args: argparse.Namespace) -> int:
    from vaar.core.errors import ConfigError
    from vaar.robustness.corruptions import corruption_names, get_corruption, parse_severities

    if args.list:
        for n in corruption_names():
            c = get_corruption(n)
            print(f"{c.describe()}  -- {c.doc}")
        return 0
    if (args.run is None) == (args.model is None):
        raise ConfigError("give --run RUN or --model PKG.MODULE:FACTORY (one of them)")
    if args.dataset is None or args.out is None:
        raise ConfigError("give --dataset DIR (the published dataset) and --out DIR")
    if args.bootstrap < 0:
        raise ConfigError("--bootstrap must be 0 or more")
    import torch

    from vaar.robustness.scoring import run_robustness

    torch.set_num_threads(max(1, args.threads))
    if args.batch_size is not None and not 1 <= args.batch_size <= 256:
        raise ConfigError("--batch-size must be in [1, 256]")
    target: object = args.run
    batch_size = args.batch_size or 8
    stack = contextlib.ExitStack()
    if args.model is not None:
        from vaar.robustness.submit_track import model_predict

        target = stack.enter_context(model_predict(args.model))  # the model runs in its own process
        batch_size = target.batch_size(args.batch_size)  # type: ignore[attr-defined]  # as submit asks

    def progress(done: int, total: int, what: str) -> None:
        if what.startswith("plan: "):  # the estimate, on its own line before the work starts
            print(f"  {what[6:]}", file=sys.stderr, flush=True)
            return
        print(f"\r  {done}/{total} conditions scored ({what})\033[K", end="", file=sys.stderr, flush=True)

    with stack:
        res = run_robustness(target, args.dataset, args.out, corruptions=args.corruptions,  # type: ignore[arg-type]
                             severities=parse_severities(args.severities), seed=args.seed, split=args.split,
                             resamples=args.bootstrap, cache=args.cache, name=args.name or args.model,
                             batch_size=batch_size, progress=progress)  # fmt: skip
    print(file=sys.stderr)
    s = res.summary

    def iv(x: list[float] | None) -> str:
        return f" ({100 * x[0]:.1f} to {100 * x[1]:.1f})" if x else ""

    print(f"{s['model']}: clean Macro-F1 {100 * s['clean_macro_f1']:.2f}{iv(s['clean_ci95'])}, "
          f"mCF1 {100 * s['mcf1']:.2f}{iv(s['ci95'])} (flat mean of {len(s['matrix'])} corruptions x "
          f"{len(s['severities'])} severities), balanced {100 * s['mcf1_balanced']:.2f}{iv(s['mcf1_balanced_ci95'])}")
    rpc = s["rpc"]
    rpc_iv = f" ({s['rpc_ci95'][0]:.3f}-{s['rpc_ci95'][1]:.3f})" if s["rpc_ci95"] else ""
    print(f"  rPC (mCF1 / clean) {'n/a' if rpc is None else f'{rpc:.3f}'}{rpc_iv}, "
          f"difference (mCF1 - clean) {100 * s['difference']:+.2f}{iv(s['difference_ci95'])}")
    print("  groups: " + ", ".join(f"{g} {100 * v:.2f} (weight {s['weights'][g]:.2f})" for g, v in s["groups"].items()))
    if s["failed"]:
        total = sum(s["failed_by_condition"].values())
        print(f"  warning: {total} clip x condition pair(s) failed (not decoded or not corrupted) and were scored as "
              f"wrong for every class (first: {s['failed'][0][0]}: {s['failed'][0][1]})")
    print(f"  {res.computed} clip passes computed, {res.cached} from the cache, {res.seconds:.1f} s -> "
          f"{res.out / 'summary.json'}, {res.out / 'heatmap.png'}, {res.out / 'predictions.csv'}")
    return 0
