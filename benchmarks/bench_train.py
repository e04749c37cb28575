"""Training speed on cached features and the cost of each model head (issue #5).

One epoch over 3,000 clips at T = 32 with 1,408-d fused features (768 Wav2Vec2 + 640 MobileViT),
batch 16, Adam, on 2 CPU threads (the issue asks for under 30 s), and the parameters and forward
FLOPs per clip of every registered head.

    .venv/bin/python benchmarks/bench_train.py [--clips 3000] [--batch-size 16] [--device cpu]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=3000)
    ap.add_argument("--segments", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from vaar.baselines.avarnet import MODELS, HeadSpec, create_model, head_flops

    spec = HeadSpec(audio_dim=768, video_dim=640, num_classes=10)
    print(f"heads (Da=768, Dv=640, K=10, T={args.segments}):")
    for name in MODELS:
        m = create_model(name, spec)
        params = sum(p.numel() for p in m.parameters())
        print(f"  {name:12s} {params:>10,d} parameters  {head_flops(m, args.segments) / 1e6:7.1f} MFLOPs/clip")

    from vaar.baselines.config import TrainConfig
    from vaar.baselines.data import ClipRef
    from vaar.baselines.train import SplitFeatures, fit_one_seed

    device = torch.device(args.device)
    g = torch.Generator().manual_seed(0)

    def split(n: int) -> SplitFeatures:
        refs = [ClipRef(f"c{i}", i % 10, f"{i:064x}") for i in range(n)]
        return SplitFeatures(refs, torch.randn(n, args.segments, 768, generator=g),
                             torch.randn(n, args.segments, 640, generator=g),
                             torch.tensor([r.label for r in refs]))  # fmt: skip

    train, val = split(args.clips), split(32)
    for name in ("avarnet", "late_fusion"):
        cfg = TrainConfig(model=name, epochs=1, batch_size=args.batch_size, seeds=(0,))
        t0 = time.perf_counter()
        fit_one_seed(cfg, spec, train, val, 0, device)  # the training code path of `vaar-bench train`
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        print(f"one epoch {name}: {args.clips} clips, T={args.segments}, batch {args.batch_size}, "
              f"{args.threads} threads, {device}: {dt:.1f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
