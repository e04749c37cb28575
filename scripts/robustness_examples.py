"""Make the example pictures of docs/robustness/: one PNG per video corruption.

Each picture is one frame of ffmpeg's ``testsrc2`` (160x120, 25 fps): clean, then severities 1, 3
and 5 (frame drops: four consecutive frames at severity 5, a repeated frame is a dropped one).
Frame corruptions run on the decoded frames, as in feature extraction; compression runs through
ffmpeg, as in the robustness track.

    .venv/bin/python scripts/robustness_examples.py [--out docs/robustness]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FRAME = 12  # the frame shown (0.48 s)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs/robustness"))
    args = ap.parse_args()

    import numpy as np
    from PIL import Image, ImageDraw
    from torchcodec.decoders import VideoDecoder

    from vaar.robustness.corruptions import corruption_names, get_corruption
    from vaar.robustness.media_cache import MediaCache, clip_context, corrupt_clip_media

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "testsrc2.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1",
                        "-f", "lavfi", "-i", "sine=f=440:d=1", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-shortest", str(src)], check=True)  # fmt: skip
        clip = src.read_bytes()
        batch = VideoDecoder(clip).get_frames_in_range(0, 25)
        frames, times = batch.data, batch.pts_seconds.double()
        names = [*corruption_names("video"), "video_missing"]
        for name in names:
            c = get_corruption(name)
            panels: list[tuple[str, np.ndarray]] = [("clean", frames[FRAME].permute(1, 2, 0).numpy())]
            if name == "frame_drops":
                out = c.fn(frames, times, clip_context(c, 5, 0, "ab" * 32, clip))
                panels = [(f"s5 t={float(times[i]):.2f}", out[i].permute(1, 2, 0).numpy()) for i in range(FRAME - 3, FRAME + 1)]
            for sev in () if name == "frame_drops" else (1, 3, 5):
                if c.stage == "media":
                    v, _ = corrupt_clip_media(c, sev, 0, MediaCache(Path(tmp) / "cache"), clip, None, "c.mp4", None)
                    img = VideoDecoder(v).get_frames_in_range(FRAME, FRAME + 1).data[0]
                else:
                    img = c.fn(frames, times, clip_context(c, sev, 0, "ab" * 32, clip))[FRAME]
                panels.append((f"severity {sev}", img.permute(1, 2, 0).numpy()))
            h, w = panels[0][1].shape[:2]
            sheet = Image.new("RGB", (len(panels) * (w + 4) - 4, h + 16), "white")
            draw = ImageDraw.Draw(sheet)
            for i, (label, arr) in enumerate(panels):
                sheet.paste(Image.fromarray(arr), (i * (w + 4), 16))
                draw.text((i * (w + 4) + 2, 2), label, fill="black")
            path = args.out / f"{name}.png"
            sheet.quantize(colors=96).save(path, optimize=True)  # a palette keeps each under 60 KB
            print(f"{path}: {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
