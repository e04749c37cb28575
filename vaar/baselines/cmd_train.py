"""``vaar-bench train``: train a baseline (AVAR-Net or an ablation) on cached features."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vaar.baselines.config import OVERRIDE_FLAGS

if TYPE_CHECKING:
    from vaar.baselines.config import TrainConfig

HELP = "train a baseline model (avarnet, audio_only, video_only, late_fusion) on cached features"
_FLAGS = OVERRIDE_FLAGS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, action="append",
                   help="YAML config (baselines/avarnet.yaml, ...); repeat it to train several models in one "
                        "process (then each run goes to OUT/<config file name>)")
    p.add_argument("--dataset", type=Path, required=True, help="published dataset folder")
    p.add_argument("--features", type=Path, required=True, help="feature cache of `vaar-bench features`")
    p.add_argument("--out", type=Path, required=True, help="run folder to write")
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (overrides the config)")
    for name in _FLAGS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help="overrides the config")
    p.add_argument("--threads", type=int, help="torch CPU threads")


def run(args: argparse.Namespace) -> int:
    import torch

    from vaar.baselines.config import resolve_config

    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs: list[Path | None] = list(args.config or [None])
    stems = [c.stem for c in configs if c is not None]
    if len(configs) > 1 and len(set(stems)) < len(stems):
        from vaar.core.errors import ConfigError

        raise ConfigError(f"--config: several files share a name ({', '.join(stems)}); their runs would collide")
    overrides = {k: getattr(args, k) for k in (*_FLAGS, "seeds") if getattr(args, k) is not None}
    # one process for several models: torch's import and start-up are paid once
    cfgs = [resolve_config(c, overrides) for c in configs]  # every config checked before any training
    for path, cfg in zip(configs, cfgs, strict=True):
        out = args.out / path.stem if len(configs) > 1 and path is not None else args.out
        _train_one(cfg, args.dataset, args.features, out)
    return 0


def _train_one(cfg: TrainConfig, dataset: Path, features: Path, out: Path) -> None:
    from vaar.baselines import ddp
    from vaar.baselines.train import train_run
    from vaar.core._util.progress import print_table, progress_bar

    if ddp.setup() and not ddp.is_main():  # under torchrun: rank 0 writes and reports
        import tempfile

        with tempfile.TemporaryDirectory(prefix="vaar-rank-") as scratch:
            train_run(cfg, dataset, features, scratch)
        return
    total = cfg.epochs * len(cfg.seeds)
    with progress_bar(f"train {cfg.model}") as update:

        def on_epoch(seed: int, epoch: int, epochs: int, rec: dict[str, float]) -> None:
            done = cfg.seeds.index(seed) * epochs + epoch
            update(done, total, f"seed {seed} loss {rec['train_loss']:.3f} val acc {rec['val_accuracy']:.3f}")

        result = train_run(cfg, dataset, features, out, on_epoch)
    rows: list[tuple[object, ...]] = []
    for r in result.per_seed:
        test = r.test or {}
        rows.append((r.seed, r.best_epoch, f"{r.validation['accuracy']:.4f}", f"{r.validation['macro_f1']:.4f}",
                     f"{test.get('accuracy', float('nan')):.4f}", f"{test.get('macro_f1', float('nan')):.4f}",
                     f"{r.seconds:.1f}"))  # fmt: skip
    m, s = result.mean, result.std
    rows.append(("mean ± std", "", *(
        f"{m[k]:.4f} ± {s[k]:.4f}" if k in m else "n/a"
        for k in ("validation_accuracy", "validation_macro_f1", "test_accuracy", "test_macro_f1")
    ), ""))  # fmt: skip
    print_table(
        f"{result.model}: {result.parameters:,} parameters, {result.flops_per_clip / 1e6:.1f} MFLOPs "
        f"per clip -> {result.run_dir}",
        ["seed", "best epoch", "val acc", "val F1", "test acc", "test F1", "seconds"], rows,
    )  # fmt: skip
    missing = {k: v for k, v in result.missing.items() if v}
    if missing:
        print(f"clips without cached features (skipped): {missing}")
