"""``vaar-bench train-xd``: AVAR-Net (or an ablation) on XD-Violence, weakly supervised."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaar.baselines.config import DEFAULT_AUDIO, DEFAULT_VIDEO
from vaar.baselines.config import OVERRIDE_FLAGS as _FLAGS

HELP = "XD-Violence: snippet features, weakly supervised training (top-k MIL), frame-level AP"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, required=True,
                   help="XD-Violence folder: train/*.mp4, test/*.mp4, annotations.txt")  # fmt: skip
    p.add_argument("--features", type=Path, required=True, help="feature cache folder")
    p.add_argument("--out", type=Path, required=True, help="run folder (scores.jsonl, metrics.json)")
    p.add_argument("--config", type=Path, help="YAML config (baselines/avarnet.yaml, ...)")
    p.add_argument("--seeds", help="comma-separated seeds (overrides the config)")
    for name in _FLAGS:
        if name not in ("audio_backbone", "video_backbone"):
            p.add_argument(f"--{name.replace('_', '-')}", dest=name, help="overrides the config")
    p.add_argument("--audio-backbone", default=DEFAULT_AUDIO, help="audio backbone (name or folder)")
    p.add_argument("--video-backbone", default=DEFAULT_VIDEO, help="video backbone (name or folder)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="share of ROOT/train held out (whole source films) to choose the seed; "
                        "0 uses the config's first seed (default 0.2)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import torch

    from vaar.baselines.config import resolve_config
    from vaar.baselines.train import pick_device
    from vaar.baselines.xd_violence import extract_videos, read_layout, train_xd
    from vaar.core._util.progress import print_table, progress_bar

    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {k: getattr(args, k) for k in (*_FLAGS, "seeds") if getattr(args, k, None) is not None}
    overrides.update(audio_backbone=args.audio_backbone, video_backbone=args.video_backbone)
    cfg = resolve_config(args.config, overrides)
    layout = read_layout(args.root)
    device = str(pick_device(cfg.device))
    failed = 0
    for split, videos in (("train", layout.train), ("test", layout.test)):
        with progress_bar(f"features {split}") as update:
            _, summary, _ = extract_videos(videos, args.features, audio_backbone=cfg.audio_backbone or "",
                                           video_backbone=cfg.video_backbone or "", device=device,
                                           progress=update)  # fmt: skip
        print(f"{split}: {summary.clips} videos, {summary.computed} computed, {summary.cached} cached, "
              f"{len(summary.failed)} failed")  # fmt: skip
        failed += len(summary.failed)
        for name, err in summary.failed[:5]:
            print(f"failed {split}/{name}: {err}")
    total = cfg.epochs * len(cfg.seeds)
    with progress_bar(f"train {cfg.model} (weak)") as update2:

        def on_epoch(seed: int, epoch: int, epochs: int, loss: float) -> None:
            update2(cfg.seeds.index(seed) * epochs + epoch, total, f"seed {seed} loss {loss:.3f}")

        res = train_xd(cfg, args.root, args.features, args.out, on_epoch=on_epoch, val_fraction=args.val_fraction)
    rows = [(str(r["seed"]), f"{r['validation_video_ap']:.4f}", f"{r['ap']:.4f}", f"{r['pr_auc']:.4f}")
            for r in res.per_seed]  # fmt: skip
    rows.append(("mean", "", f"{res.ap:.4f}", f"{res.pr_auc:.4f}"))
    print_table(f"XD-Violence {cfg.model}: {res.train_videos} train / {res.test_videos} test videos "
                f"-> {res.run_dir}/scores.jsonl", ["seed", "val video AP", "test AP", "test PR-AUC"], rows)  # fmt: skip
    import json

    sel = json.loads((args.out / "selection.json").read_text(encoding="utf-8"))
    print(f"scores.jsonl: seed {sel['seed']}, epoch {sel['epoch']} ({sel['rule']}); see {args.out}/selection.json")
    return 1 if failed else 0
