from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.fixtures.datasets import make_clip, write_dataset
from vaar.baselines.features import (
    FeatureCache,
    clip_bounds,
    decode_centre_frames,
    extract_dataset,
    segment_bounds,
    snippet_bounds,
)
from vaar.core.errors import ConfigError

HC = {"audio_backbone": "handcrafted-audio", "video_backbone": "handcrafted-video"}


def test_segment_and_snippet_bounds() -> None:
    b = segment_bounds(0.5, 2.0, 4)
    assert b.shape == (4, 2) and b[0, 0] == 0.5 and abs(float(b[-1, 1]) - 2.5) < 1e-9
    s = snippet_bounds(0.0, 40, 20.0, 16)  # 16 + 16 + 8 frames: no partial last snippet
    assert s.tolist() == [[0.0, 0.8], [0.8, 1.6]]
    from vaar.bench.truth import xd_snippet_count

    for frames in (1, 16, 17, 32, 33, 64, 1000):  # the scorer's count, as make_gt.py's
        assert len(snippet_bounds(0.0, frames, 24.0)) == xd_snippet_count(frames) == (frames - 1) // 16


def test_centre_frames_are_the_right_ones(tmp_path: Path) -> None:
    # red for 1 s, then blue for 1 s: the first half of the segments must see red
    red = make_clip(tmp_path / "r.mp4", (255, 0, 0), 440, seconds=1.0, audio=False)
    blue = make_clip(tmp_path / "b.mp4", (0, 0, 255), 440, seconds=1.0, audio=False)
    lst = tmp_path / "l.txt"
    lst.write_text(f"file '{red}'\nfile '{blue}'\n")
    both = tmp_path / "rb.mp4"
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy",
                    str(both)], check=True)  # fmt: skip
    bounds = clip_bounds(str(both), 4, None)
    frames = decode_centre_frames(str(both), bounds)
    assert frames.shape == (4, 3, 48, 64)
    r, b = frames[:, 0].float().mean((1, 2)), frames[:, 2].float().mean((1, 2))
    assert (r[:2] > b[:2]).all() and (b[2:] > r[2:]).all()


def test_cache_second_run_computes_nothing_and_changed_clip_is_recomputed(
    small_dataset: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    s1 = extract_dataset(small_dataset, cache, segments=4, splits=["validation"], **HC)
    assert s1.splits["validation"].computed == 10 and s1.audio_dim == 64 and s1.video_dim == 48
    s2 = extract_dataset(small_dataset, cache, segments=4, splits=["validation"], **HC)
    assert s2.splits["validation"].computed == 0 and s2.splits["validation"].cached == 10
    assert s2.timings.video_forward == 0.0 and s2.timings.audio_forward == 0.0
    # another T is another cache entry
    s3 = extract_dataset(small_dataset, cache, segments=3, splits=["validation"], **HC)
    assert s3.splits["validation"].computed == 10
    # a dataset whose one clip changed: only that clip is recomputed
    changed = tmp_path / "changed"
    import datasets

    ds = datasets.load_dataset(str(small_dataset), split="validation")
    ds = ds.cast_column("video", datasets.Video(decode=False)).cast_column("audio", datasets.Audio(decode=False))
    rows = [dict(r) for r in ds]
    new = make_clip(tmp_path / "new.mp4", (1, 2, 3), 500.0)
    data = new.read_bytes()
    rows[0]["video"] = rows[0]["audio"] = {"bytes": data, "path": "new.mp4"}
    rows[0]["video_sha256"] = hashlib.sha256(data).hexdigest()
    names = ds.features["label"].names
    write_dataset(changed, {"validation": rows}, names)
    s4 = extract_dataset(changed, cache, segments=4, **HC)
    assert (s4.splits["validation"].computed, s4.splits["validation"].cached) == (1, 9)
    fc = FeatureCache(cache)
    arr = fc.load("video", "handcrafted-video", "T4", rows[0]["video_sha256"])
    assert arr is not None and arr.shape == (4, 48) and arr.dtype == np.float32
    assert not list(cache.rglob("*.tmp*"))
    entry = fc.find(layout="T4")
    assert entry["audio_backbone"] == "handcrafted-audio" and entry["segments"] == 4


def test_broken_clip_is_recorded_not_fatal(small_dataset: Path, tmp_path: Path) -> None:
    import datasets

    ds = datasets.load_dataset(str(small_dataset), split="test")
    ds = ds.cast_column("video", datasets.Video(decode=False)).cast_column("audio", datasets.Audio(decode=False))
    rows = [dict(r) for r in ds][:3]
    rows[1]["video"] = rows[1]["audio"] = {"bytes": b"not a video" * 10, "path": "x.mp4"}
    rows[1]["video_sha256"] = "0" * 64
    bad = write_dataset(tmp_path / "bad", {"test": rows}, ds.features["label"].names)
    s = extract_dataset(bad, tmp_path / "cache", segments=4, **HC)
    assert s.splits["test"].computed == 2 and [c for c, _ in s.splits["test"].failed] == [rows[1]["clip_id"]]


def test_bad_arguments(small_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no split 'dev'"):
        extract_dataset(small_dataset, tmp_path, splits=["dev"], **HC)
    with pytest.raises(ConfigError, match="no such dataset folder"):
        extract_dataset(tmp_path / "none", tmp_path, **HC)
    with pytest.raises(ConfigError, match="no features"):
        FeatureCache(tmp_path / "empty").find()


def test_features_cli_with_tiny_real_backbones(
    small_dataset: Path, tiny_wav2vec2: Path, tiny_mobilevit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vaar.bench.cli import main

    args = ["features", "--dataset", str(small_dataset), "--out", str(tmp_path), "--segments", "4",
            "--split", "validation", "--audio-backbone", str(tiny_wav2vec2),
            "--video-backbone", str(tiny_mobilevit), "--threads", "1"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "computed" in out and "32-d" in out and "320-d" in out
    e = FeatureCache(tmp_path).find()
    assert (e["audio_dim"], e["video_dim"]) == (32, 320)
    torch.set_num_threads(1)


def test_audio_segments_use_the_audio_streams_own_start(tmp_path: Path) -> None:
    """Issue 10 item 15: audio that starts 2 s after the video. Its first 1.5 s are silent, its
    last half second a loud tone, so on the presentation timeline only [3.5, 4) s is loud."""
    import subprocess

    from vaar.baselines.backbones import create_backbone
    from vaar.baselines.features import decode_audio_timed, extract_clip

    clip = tmp_path / "late_audio.mp4"
    subprocess.run([
        "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=64x48:r=10:d=4",
        "-itsoffset", "2", "-f", "lavfi", "-i", "aevalsrc='0.6*gte(t,1.5)*sin(2*PI*1000*t)':s=16000:d=2",
        "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", str(clip),
    ], check=True, capture_output=True)  # fmt: skip
    assert decode_audio_timed(str(clip))[1] == pytest.approx(2.0, abs=0.1)  # AAC priming: 1.936
    bounds = segment_bounds(0.0, 4.0, 4)  # [0,1) [1,2) [2,3) [3,4) on the video's timeline
    audio = create_backbone("handcrafted-audio", "audio")
    a, _ = extract_clip(str(clip), str(clip), bounds, audio, None)  # type: ignore[arg-type]
    assert a is not None
    loud = a.float().mean(dim=1)  # (4,) log power: higher is louder
    assert loud[3] > loud[2] + 1.0 and loud[3] > loud[1] + 1.0, loud.tolist()


def test_keyframe_policy_takes_the_nearest_keyframe(tmp_path: Path) -> None:
    """Issue 14 item 5: 4 s at 10 fps, keyframe every 1 s, a colour a second. Each segment gets
    the keyframe nearest its centre (so a segment centred at 1.4 s shows second 1's colour, and
    one centred at 1.6 s the keyframe at 2 s); ``centre`` stays exact."""
    import subprocess

    from vaar.baselines.features import decode_frames, layout_name

    clip = tmp_path / "steps.mp4"
    colours = ["red", "lime", "blue", "yellow"]
    src = ";".join(f"color=c={c}:s=64x48:r=10:d=1[v{i}]" for i, c in enumerate(colours))
    cat = "".join(f"[v{i}]" for i in range(4)) + "concat=n=4:v=1:a=0[out]"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-filter_complex", f"{src};{cat}", "-map", "[out]",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
                    "-pix_fmt", "yuv420p", str(clip)], check=True, capture_output=True)  # fmt: skip
    bounds = torch.tensor([[1.3, 1.5], [1.5, 1.7], [2.9, 3.1], [0.0, 0.2]], dtype=torch.float64)
    key = decode_frames(str(clip), bounds, "keyframe")
    exact = decode_frames(str(clip), bounds, "centre")
    assert key.shape == exact.shape == (4, 3, 48, 64)

    def colour(f: torch.Tensor) -> int:  # index of the dominant channel pattern
        rgb = f.float().mean((1, 2))
        return [int(c > 128) for c in rgb].index(1) if (rgb > 128).sum() == 1 else 3  # yellow: R+G

    # keyframes at 0, 1, 2, 3 s: nearest to 1.4 -> 1 s (lime), 1.6 -> 2 s (blue), 3.0 -> 3 s, 0.1 -> 0 s
    assert [colour(f) for f in key] == [1, 2, 3, 0]
    assert [colour(f) for f in exact] == [1, 1, 3, 0]  # exact centres 1.4 s and 1.6 s are both lime
    assert layout_name(32, None, "keyframe") == "T32-key" and layout_name(32) == "T32"
    with pytest.raises(ConfigError, match="frame policy"):
        decode_frames(str(clip), bounds, "middle")  # type: ignore[arg-type]
