"""``vaar-bench features``: cache per-segment audio and video features of a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from vaar.baselines.config import DEFAULT_AUDIO, DEFAULT_VIDEO  # torch-free, like this module

HELP = "extract and cache per-segment audio/video features of every clip (AVAR-Net baselines)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", type=Path, required=True, help="published dataset folder (vaar build)")
    p.add_argument("--out", type=Path, required=True, help="feature cache folder (reused across runs)")
    p.add_argument("--segments", type=int, default=32, help="temporal segments per clip (T, default 32)")
    p.add_argument("--audio-backbone", default=DEFAULT_AUDIO,
                   help=f"name, family:ref or local folder (default {DEFAULT_AUDIO}; offline: handcrafted-audio)")  # fmt: skip
    p.add_argument("--video-backbone", default=DEFAULT_VIDEO,
                   help=f"name, family:ref or local folder (default {DEFAULT_VIDEO}; offline: handcrafted-video)")  # fmt: skip
    p.add_argument("--split", action="append", dest="splits", help="only this split (repeatable)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where backbones run")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--frame-policy", choices=["centre", "keyframe"], default="centre",
                   help="frame of each segment: exact centre (default) or nearest keyframe (faster, "
                        "local backend; see README)")  # fmt: skip
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: this process (default); ray: one model per Ray actor, on GPUs where the "
                        "cluster has them (pip install 'vaar[ray]')")  # fmt: skip
    p.add_argument("--ray-address", help="Ray cluster to join (default: start Ray on this machine)")
    p.add_argument("--actors", type=int, help="Ray actors (default: one per GPU, else one per CPU)")


def run(args: argparse.Namespace) -> int:
    import torch

    from vaar.baselines.features import extract_dataset
    from vaar.baselines.train import pick_device
    from vaar.core._util.progress import print_table, progress_bar

    torch.set_flush_denormal(True)
    if args.threads:
        torch.set_num_threads(args.threads)
    with progress_bar("features") as update:
        if args.backend == "ray":
            from vaar.baselines.ray_features import extract_dataset_ray
            from vaar.core.errors import ConfigError

            if args.frame_policy != "centre":
                raise ConfigError("--frame-policy keyframe runs with --backend local only")

            summary = extract_dataset_ray(
                args.dataset, args.out, segments=args.segments, audio_backbone=args.audio_backbone,
                video_backbone=args.video_backbone, splits=args.splits, ray_address=args.ray_address,
                actors=args.actors, progress=update,
            )  # fmt: skip
        else:
            summary = extract_dataset(
                args.dataset, args.out, segments=args.segments, audio_backbone=args.audio_backbone,
                video_backbone=args.video_backbone, splits=args.splits,
                device=str(pick_device(args.device)), progress=update, frame_policy=args.frame_policy,
            )  # fmt: skip
    rows = [(s, x.clips, x.computed, x.cached, len(x.failed)) for s, x in summary.splits.items()]
    print_table(
        f"features {summary.layout}: audio {summary.audio_backbone} ({summary.audio_dim}-d), "
        f"video {summary.video_backbone} ({summary.video_dim}-d) -> {summary.cache}",
        ["split", "clips", "computed", "cached", "failed"], rows,
    )  # fmt: skip
    t = summary.timings
    print(f"{summary.seconds:.1f}s: video decode {t.decode_video:.1f}s + forward {t.video_forward:.1f}s, "
          f"audio decode {t.decode_audio:.1f}s + forward {t.audio_forward:.1f}s")  # fmt: skip
    failed = [(s, cid, err) for s, x in summary.splits.items() for cid, err in x.failed]
    for s, cid, err in failed[:10]:
        print(f"failed {s}/{cid}: {err}")
    return 1 if failed else 0
