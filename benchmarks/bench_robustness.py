"""Cost of a corrupted evaluation pass against a clean one (issue #12), in one run.

A *pass* is what an evaluation does per clip with the hand-crafted backbones: read the stream
metadata, decode the T = 16 centre frames and the audio track, embed both. A corrupted pass adds a
frame corruption on the decoded frames (``extract_clip``'s ``transform`` hook: no re-encode); the
issue asks for at most 1.3x the clean pass. Sample corruptions are reported too, and the ffmpeg
corruptions (compression, av_shift) per clip, which re-encode and are therefore cached.

Times are CPU seconds (user + system, this process and its ffmpeg children) per clip, the median
of ``--reps`` rounds over the clips; the machine may be shared, so compare ratios, not seconds.

    .venv/bin/python benchmarks/bench_robustness.py [--dataset demo/dataset] [--severity 3]

Without ``--dataset``, 20 clips of 3 s, 160x120 at 25 fps (the sample's size) are made with
ffmpeg's testsrc2.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cpu() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def make_clips(folder: Path, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        p = folder / f"c{i}.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=s=160x120:r=25:d=3,hue=h={i * 17}", "-f", "lavfi", "-i",
                        f"sine=f={300 + 40 * i}:d=3:sample_rate=44100", "-c:v", "libx264", "-preset", "veryfast",
                        "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(p)], check=True)  # fmt: skip
        out.append(p.read_bytes())
    return out


def dataset_clips(root: Path) -> list[bytes]:
    from vaar.baselines.data import media_bytes, open_dataset

    ds = open_dataset(root)["test"]
    return [media_bytes(ds[i]["video"], root) for i in range(len(ds))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, help="a dataset folder (its test split); default: generated clips")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--severity", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    import torch

    from vaar.baselines.backbones import create_backbone
    from vaar.baselines.features import clip_bounds, extract_clip
    from vaar.robustness.corruptions import corruption_names, get_corruption
    from vaar.robustness.extract import CorruptionTransform
    from vaar.robustness.media_cache import MediaCache, corrupt_clip_media

    torch.set_num_threads(1)
    ab, vb = create_backbone("handcrafted-audio", "audio"), create_backbone("handcrafted-video", "video")
    with tempfile.TemporaryDirectory() as tmp:
        clips = dataset_clips(args.dataset) if args.dataset else make_clips(Path(tmp), args.clips)

        def one_pass(name: str | None) -> float:
            rounds = []
            for _ in range(args.reps):
                t0 = cpu()
                for clip in clips:
                    tr = CorruptionTransform(get_corruption(name), args.severity, 0, "ab" * 32) if name else None
                    extract_clip(clip, clip, clip_bounds(clip, 16, None), ab, vb, transform=tr)  # type: ignore[arg-type]
                rounds.append((cpu() - t0) / len(clips))
            return statistics.median(rounds)

        one_pass(None)  # warm-up: imports, first decoder
        clean = one_pass(None)
        print(f"{len(clips)} clips, severity {args.severity}; clean pass {1000 * clean:.1f} ms CPU per clip")
        print(f"{'corruption':<15} {'stage':<8} {'ms/clip':>8} {'x clean':>8}")
        worst = 0.0
        for name in corruption_names():
            c = get_corruption(name)
            if c.stage == "media":
                continue
            t = one_pass(name)
            if c.stage == "frames":
                worst = max(worst, t / clean)
            print(f"{name:<15} {c.stage:<8} {1000 * t:8.1f} {t / clean:8.2f}")
        print(f"worst frame corruption: {worst:.2f}x the clean pass (asked: <= 1.3x)")
        for name in ("compression", "av_shift"):
            c = get_corruption(name)
            cache = MediaCache(Path(tmp) / f"media-{name}")
            t0 = cpu()
            for clip in clips:
                corrupt_clip_media(c, args.severity, 0, cache, clip, clip, "c.mp4", "c.mp4")
            made = (cpu() - t0) / len(clips)
            t0 = cpu()
            for clip in clips:
                corrupt_clip_media(c, args.severity, 0, cache, clip, clip, "c.mp4", "c.mp4")
            hit = (cpu() - t0) / len(clips)
            print(f"{name:<15} media    {1000 * made:8.1f} ms/clip to make (ffmpeg), {1000 * hit:.1f} ms from the cache")
    return 0


if __name__ == "__main__":
    sys.exit(main())
