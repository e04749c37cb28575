"""Feature-extraction speed and memory (issue #5), on 2 CPU threads.

1. Per-clip time of ``extract_clip`` (decode + resample + preprocess + forward) against the bare
   backbone forward passes on the same inputs; the issue asks for the total within 20 % of the
   bare forwards.
2. Sampled-frame decoding of a 60 s clip (T = 32 frames) against a full decode, for a keyframe
   interval of 2 s (``vaar build``'s normalised clips) and 10 s, with both frame policies:
   ``centre`` (exact centre frames, the default) and ``keyframe`` (nearest keyframe; asked: at
   least 3× faster than the full decode). ``--decode-only`` runs this part alone (no backbones).
3. Peak RSS of the process.

Backbones: the real ones when their weights are cached (``--audio-backbone`` /
``--video-backbone``), else randomly initialised models of the same architecture
(Wav2Vec2-base config, timm ``mobilevit_s``), which cost the same to run.

    .venv/bin/python benchmarks/bench_features.py [--clips 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path


def make_clip(path: Path, seconds: float, gop: int, size: str = "640x360") -> Path:
    subprocess.run([
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r=25:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=440:d={seconds}:sample_rate=44100", "-c:v", "libx264",
        "-preset", "veryfast", "-g", str(gop), "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
    ], check=True)  # fmt: skip
    return path


def random_backbones(tmp: Path) -> tuple[str, str]:
    """Random Wav2Vec2-base and MobileViT-S saved as local folders (same cost as the real ones)."""
    import timm
    from timm.models import save_for_hf
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    a, v = tmp / "w2v2-base-random", tmp / "mobilevit-s-random"
    Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(a)
    Wav2Vec2FeatureExtractor(do_normalize=True).save_pretrained(a)
    save_for_hf(timm.create_model("mobilevit_s", pretrained=False), v)
    return str(a), str(v)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0, help="clip length for the per-clip timing")
    ap.add_argument("--segments", type=int, default=32)
    ap.add_argument("--audio-backbone")
    ap.add_argument("--video-backbone")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="where the backbones run (cpu, cuda)")
    ap.add_argument("--decode-only", action="store_true", help="only part 2 (decode policies vs full decode)")
    ap.add_argument("--repeat", type=int, default=3, help="timings per decode (best is reported)")
    ap.add_argument("--synthetic", action="store_true",
                    help="time the backbones' embed() on synthetic inputs only (no ffmpeg/torchcodec)")  # fmt: skip
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from vaar.baselines.backbones import create_backbone
    from vaar.baselines.features import (
        Timings,
        clip_bounds,
        decode_audio,
        decode_centre_frames,
        extract_clip,
    )

    tmp = Path(tempfile.mkdtemp(prefix="bench-features-"))
    if args.decode_only:
        decode_policies(tmp, args)
        return
    if args.audio_backbone and args.video_backbone:
        a_spec, v_spec = args.audio_backbone, args.video_backbone
    else:
        a_spec, v_spec = random_backbones(tmp)
    audio = create_backbone(a_spec, "audio", args.device)
    video = create_backbone(v_spec, "video", args.device)
    if args.synthetic:
        synthetic(audio, video, args)
        return
    clip = make_clip(tmp / "clip.mp4", args.seconds, 50)

    # 1. per-clip total vs bare forwards
    bounds = clip_bounds(str(clip), args.segments, None)
    frames = decode_centre_frames(str(clip), bounds)
    wave = decode_audio(str(clip))
    extract_clip(str(clip), str(clip), bounds, audio, video)  # warm-up
    totals, bares = [], []
    tm = Timings()
    for _ in range(args.clips):
        t0 = time.perf_counter()
        extract_clip(str(clip), str(clip), clip_bounds(str(clip), args.segments, None), audio, video, tm)
        totals.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with torch.inference_mode():
            x = video.preprocess(frames) if hasattr(video, "preprocess") else None
            video.model(x) if x is not None else video.embed(frames)  # type: ignore[attr-defined]
            w = (wave - wave.mean()) / torch.sqrt(wave.var() + 1e-7)
            audio.model(w[None])  # type: ignore[attr-defined]
        bares.append(time.perf_counter() - t0)
    total, bare = min(totals), min(bares)
    n = args.clips
    print(f"backbones: audio {a_spec} ({audio.dim}-d), video {v_spec} ({video.dim}-d); "
          f"{args.seconds:.0f} s clip, T={args.segments}, {args.threads} threads")  # fmt: skip
    print(f"per clip: total {total:.3f} s, bare forwards {bare:.3f} s, overhead {100 * (total / bare - 1):+.1f} %")
    print(f"  breakdown (mean of {n}): video decode {tm.decode_video / n:.3f} s, video preprocess+forward "
          f"{tm.video_forward / n:.3f} s, audio decode+resample {tm.decode_audio / n:.3f} s, "
          f"audio forward+pool {tm.audio_forward / n:.3f} s")  # fmt: skip

    decode_policies(tmp, args)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def decode_policies(tmp: Path, args: argparse.Namespace) -> None:
    """Part 2: each frame policy against a full decode of a 60 s 640x360 clip, best of --repeat."""
    from torchcodec.decoders import VideoDecoder

    from vaar.baselines.features import clip_bounds, decode_frames

    def best(fn: object) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter() - t0)
        return min(times)

    def full_decode(path: str) -> None:
        for _ in VideoDecoder(path):
            pass

    for gop in (50, 250):
        long = str(make_clip(tmp / f"long{gop}.mp4", 60.0, gop))
        b = clip_bounds(long, args.segments, None)
        full = best(lambda: full_decode(long))  # noqa: B023
        centre = best(lambda: decode_frames(long, b, "centre"))  # noqa: B023
        key = best(lambda: decode_frames(long, b, "keyframe"))  # noqa: B023
        print(f"60 s 640x360 clip, keyframe every {gop / 25:.0f} s, T={args.segments}: full decode {full:.3f} s; "
              f"centre {centre:.3f} s ({full / centre:.1f}x faster); keyframe {key:.3f} s "
              f"({full / key:.1f}x faster, {centre / key:.1f}x centre)", flush=True)  # fmt: skip


def synthetic(audio: object, video: object, args: argparse.Namespace) -> None:
    """embed() of both backbones on a synthetic clip (waveform + T frames of 640x360)."""
    import torch

    from vaar.baselines.features import segment_bounds

    wave = torch.randn(int(args.seconds * 16000)) * 0.1
    frames = torch.randint(0, 255, (args.segments, 3, 360, 640), dtype=torch.uint8)
    bounds = segment_bounds(0.0, args.seconds, args.segments).float()
    for _ in range(2):  # warm-up (CUDA context, kernels)
        audio.embed(wave, bounds), video.embed(frames)  # type: ignore[attr-defined]
    for name, fn in (("audio", lambda: audio.embed(wave, bounds)), ("video", lambda: video.embed(frames))):  # type: ignore[attr-defined]
        ts = []
        for _ in range(args.clips):
            t0 = time.perf_counter()
            out = fn()
            if args.device == "cuda":
                torch.cuda.synchronize()
            ts.append(time.perf_counter() - t0)
        print(f"{name} embed on {args.device}: {min(ts) * 1000:.1f} ms per {args.seconds:.0f} s clip "
              f"(T={args.segments}) -> {tuple(out.shape)}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
