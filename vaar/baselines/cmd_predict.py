"""``vaar-bench predict``: write the predictions file of a trained run on one split."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "predict one split with a trained baseline run (predictions CSV for `vaar-bench submit`)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=Path, required=True, help="run folder of `vaar-bench train`")
    p.add_argument("--dataset", type=Path, required=True, help="published dataset folder")
    p.add_argument("--split", default="test", help="split to predict (default test)")
    p.add_argument("--out", type=Path, required=True, help="predictions CSV to write")
    p.add_argument("--features", type=Path, help="feature cache (default: the one the run used)")
    p.add_argument("--seed", type=int, help="which seed's model (default: best on validation)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")


def run(args: argparse.Namespace) -> int:
    import torch

    from vaar.baselines.predict import predict_split

    torch.set_flush_denormal(True)
    s = predict_split(args.run, args.dataset, args.split, args.out, features_dir=args.features,
                      seed=args.seed, device=args.device)  # fmt: skip
    acc = f", accuracy {s.accuracy:.4f}" if s.accuracy is not None else ""
    print(f"wrote {s.clips} predictions of {s.split} (seed {s.seed}{acc}) to {s.out}")
    return 0
