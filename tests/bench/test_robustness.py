"""The robustness track's corruptions: registry, determinism, and that each changes what it
claims and nothing else (on real clips made by ffmpeg, through the real feature extraction)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.fixtures.media import make_source
from vaar.baselines.backbones import create_backbone
from vaar.baselines.features import FeatureCache, LazyBackbones, clip_bounds, extract_clip
from vaar.core.errors import ConfigError
from vaar.robustness.audio import add_at_snr
from vaar.robustness.corruptions import (
    Context,
    corruption_names,
    get_corruption,
    parse_corruptions,
    parse_severities,
)
from vaar.robustness.extract import (
    CorruptionTransform,
    ExtractStats,
    fill_clip,
    load_features,
)
from vaar.robustness.media_cache import MediaCache, corrupt_clip_media

AUDIO, VIDEO = "handcrafted-audio", "handcrafted-video"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """2 s of testsrc2 at 25 fps with a tone, clicks and flashes (H.264 + AAC)."""
    path = make_source(tmp_path_factory.mktemp("robust") / "clip.mp4", duration=2.0, fps=25)
    return path.read_bytes()


@pytest.fixture(scope="module")
def backbones() -> tuple:
    return create_backbone(AUDIO, "audio"), create_backbone(VIDEO, "video")


def features(clip: bytes, backbones: tuple, name: str | None, severity: int = 3, seed: int = 0,
             cache: Path | None = None, media: bool = False) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Features of the clip under a corruption, through extract_clip (the hook, or corrupted media
    for a ``media`` stage or with ``media=True``: the scorer's one path)."""
    bounds = clip_bounds(clip, 8, None)
    video, audio, transform = clip, clip, None
    if name is not None:
        c = get_corruption(name)
        if c.stage == "media" or media:
            assert cache is not None
            video, audio = corrupt_clip_media(c, severity, seed, MediaCache(cache), clip, clip, "c.mp4", "c.mp4")  # type: ignore[assignment]
        else:
            transform = CorruptionTransform(c, severity, seed, "ab" * 32)
    a, v = extract_clip(video, audio, bounds, backbones[0], backbones[1], transform=transform)
    assert a is not None and v is not None
    return a.numpy(), v.numpy()


def test_unknown_corruption_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown corruption 'fogg'; valid: low_light, fog, rain"):
        get_corruption("fogg")
    assert parse_corruptions(["audio"]) == corruption_names("audio")
    assert parse_corruptions(["fog,video_missing", "fog"]) == ["fog", "video_missing"]
    assert len(parse_corruptions(None)) == len(corruption_names()) == 18
    assert parse_severities("1-3,5") == [1, 2, 3, 5]
    with pytest.raises(ConfigError, match="severities are 1 to 5"):
        parse_severities("0-6")


def test_every_group_is_covered() -> None:
    assert set(corruption_names("video")) == {"low_light", "fog", "rain", "snow", "occlusion", "motion_blur",
                                              "defocus", "frame_drops", "compression"}  # fmt: skip
    assert set(corruption_names("audio")) == {"noise_white", "noise_babble", "reverb", "clipping", "telephone", "dropouts"}
    assert set(corruption_names("modality")) == {"audio_missing", "video_missing", "av_shift"}
    for n in corruption_names():
        c = get_corruption(n)
        assert len(c.levels) == 5 and c.doc and c.unit


FRAME = [n for n in corruption_names() if get_corruption(n).stage == "frames"]
SAMPLE = [n for n in corruption_names() if get_corruption(n).stage == "samples"]


@pytest.mark.parametrize("name", FRAME)
def test_frame_corruptions_are_deterministic(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    frames = torch.randint(30, 220, (6, 3, 48, 64), dtype=torch.uint8, generator=g)
    times = torch.arange(6, dtype=torch.float64) * 0.4
    c = get_corruption(name)
    ctx = Context(name, 4, 7, 2.4)
    a, b = c.fn(frames, times, ctx), c.fn(frames, times, ctx)
    assert a.dtype == torch.uint8 and a.shape == frames.shape
    assert torch.equal(a, b)  # same seed: identical
    assert not torch.equal(a, frames)  # it changes the picture
    assert torch.equal(frames, torch.randint(30, 220, (6, 3, 48, 64), dtype=torch.uint8,
                                             generator=torch.Generator().manual_seed(0)))  # input untouched
    if name in ("low_light", "rain", "snow", "motion_blur", "frame_drops", "occlusion", "fog"):
        assert not torch.equal(a, c.fn(frames, times, Context(name, 4, 8, 2.4)))  # another seed differs


@pytest.mark.parametrize("name", SAMPLE)
def test_sample_corruptions_are_deterministic(name: str) -> None:
    t = torch.arange(32000) / 16000
    wave = (0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.1 * torch.sin(2 * torch.pi * 3000 * t)).float()
    c = get_corruption(name)
    ctx = Context(name, 3, 5, 2.0)
    a, b = c.fn(wave, ctx), c.fn(wave, ctx)
    assert a.shape == wave.shape and torch.equal(a, b)
    assert not torch.equal(a, wave)


def test_occlusion_covers_the_stated_share() -> None:
    frames = torch.full((4, 3, 60, 90), 10, dtype=torch.uint8)
    times = torch.tensor([0.0, 0.33, 0.9, 1.7], dtype=torch.float64)
    for sev, share in enumerate(get_corruption("occlusion").levels, start=1):
        out = get_corruption("occlusion").fn(frames, times, Context("occlusion", sev, 1, 2.0))
        covered = (out[:, 0] == 128).float().mean(dim=(1, 2))  # (T,)
        assert torch.allclose(covered, torch.full((4,), share), atol=0.5 / 90 * 3)
        assert not torch.equal(out[0], out[-1])  # the patches move


def test_noise_is_added_at_the_stated_snr() -> None:
    wave = torch.sin(torch.arange(48000) / 16000 * 2 * torch.pi * 300).float()
    for name in ("noise_white", "noise_babble"):
        for sev, snr in enumerate(get_corruption(name).levels, start=1):
            out = get_corruption(name).fn(wave, Context(name, sev, 3, 3.0))
            noise = out.double() - wave.double()
            got = 10 * np.log10(float(wave.double().pow(2).mean()) / float(noise.pow(2).mean()))
            assert abs(got - snr) < 0.05
    assert torch.equal(add_at_snr(wave, torch.zeros_like(wave), 0.0), wave)


def test_missing_modality_severity_5_removes_it_all() -> None:
    frames = torch.full((8, 3, 10, 10), 200, dtype=torch.uint8)
    out = get_corruption("video_missing").fn(frames, torch.linspace(0, 2, 8).double(), Context("video_missing", 5, 0, 2.0))
    assert int(out.max()) == 0
    out = get_corruption("video_missing").fn(frames, torch.linspace(0, 2, 8).double(), Context("video_missing", 2, 0, 2.0))
    assert 0 < int((out.flatten(1).max(1).values == 0).sum()) < 8
    wave = torch.ones(32000)
    assert float(get_corruption("audio_missing").fn(wave, Context("audio_missing", 5, 0, 2.0)).abs().max()) == 0.0
    half = get_corruption("audio_missing").fn(wave, Context("audio_missing", 3, 0, 2.0))
    assert abs(float((half == 0).float().mean()) - 0.6) < 0.01


@pytest.mark.parametrize("name", corruption_names())
def test_each_corruption_changes_what_it_claims_and_nothing_else(
    name: str, clip: bytes, backbones: tuple, tmp_path: Path
) -> None:
    clean_a, clean_v = features(clip, backbones, None)
    a, v = features(clip, backbones, name, severity=4, cache=tmp_path)
    touches = get_corruption(name).touches
    for m, clean, got in (("audio", clean_a, a), ("video", clean_v, v)):
        if m in touches:
            assert not np.array_equal(clean, got), f"{name} should change the {m} features"
        else:
            assert np.array_equal(clean, got), f"{name} must leave the {m} features bit-identical"
    a2, v2 = features(clip, backbones, name, severity=4, cache=tmp_path / "other")  # recomputed: same
    assert np.array_equal(a, a2) and np.array_equal(v, v2)


def test_scorer_features_are_those_of_the_corrupted_files(clip: bytes, backbones: tuple, tmp_path: Path) -> None:
    """The scorer decodes a clean clip once; each corruption's features are extract_clip's on the
    corrupted copy of the files (the bytes a --model gets)."""
    from vaar.baselines.data import ClipRef

    cache = FeatureCache(tmp_path / "feat")
    loader = LazyBackbones(AUDIO, VIDEO, "cpu")
    ref = ClipRef("c", 0, "ab" * 32)
    names = ["fog", "noise_white", "video_missing", "compression"]
    conds = [(None, 0)] + [(get_corruption(n), 2) for n in names]
    stats = ExtractStats()
    fill_clip(cache, loader, "T8", 8, ref, lambda: (clip, clip, "c.mp4", "c.mp4"), conds, 0,
              MediaCache(tmp_path / "media"), stats)  # fmt: skip
    assert stats.computed == 1 and not stats.failed
    for c, sev in conds:
        got = load_features(cache, loader, "T8", ref, c, sev, 0)
        assert got is not None
        want = features(clip, backbones, c.name if c else None, severity=sev, cache=tmp_path / "m2", media=True)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    again = ExtractStats()
    fill_clip(cache, loader, "T8", 8, ref, lambda: (_ for _ in ()).throw(AssertionError("decoded")), conds, 0,
              MediaCache(tmp_path / "media"), again)  # fmt: skip
    assert again.cached == 1 and again.computed == 0 and not again.failed


def test_media_corruptions_are_cached_by_corruption_severity_seed(clip: bytes, tmp_path: Path) -> None:
    cache = MediaCache(tmp_path)
    c = get_corruption("av_shift")
    v1, _ = corrupt_clip_media(c, 2, 0, cache, clip, None, "c.mp4", None)
    assert cache.made == 1
    v2, _ = corrupt_clip_media(c, 2, 0, cache, clip, None, "c.mp4", None)
    assert cache.made == 1 and v1 == v2  # from the cache
    corrupt_clip_media(c, 3, 0, cache, clip, None, "c.mp4", None)
    corrupt_clip_media(c, 2, 1, cache, clip, None, "c.mp4", None)
    assert cache.made == 3
    assert len(list(tmp_path.rglob("*.mp4"))) == 3


def test_model_path_writes_frame_corruptions_into_the_file(clip: bytes, tmp_path: Path) -> None:
    """A --model gets media only: a frame corruption is decoded, applied to every frame, re-encoded."""
    from torchcodec.decoders import VideoDecoder

    c = get_corruption("video_missing")
    v, a = corrupt_clip_media(c, 5, 0, MediaCache(tmp_path), clip, clip, "c.mp4", "c.mp4")
    frames = VideoDecoder(v).get_frames_in_range(0, 10).data
    assert int(frames.max()) <= 20  # black (up to the encoder's rounding)
    assert a == clip  # the audio is not touched: the original file
    c = get_corruption("noise_white")
    v2, _ = corrupt_clip_media(c, 5, 0, MediaCache(tmp_path), clip, None, "c.mp4", None)
    assert VideoDecoder(v2).metadata.num_frames == VideoDecoder(clip).metadata.num_frames
