from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vaar.baselines.backbones import backbone_names, create_backbone, pool_segments
from vaar.baselines.features import segment_bounds
from vaar.core.errors import ConfigError, MissingDependencyError


def test_registry_lists_real_and_handcrafted_names() -> None:
    names = backbone_names()
    for n in ("facebook/wav2vec2-base", "mobilevit_s.cvnets_in1k", "apple/mobilevit-small",
              "handcrafted-audio", "handcrafted-video"):  # fmt: skip
        assert n in names
    assert "handcrafted-video" not in backbone_names("audio")


def test_unknown_name_and_wrong_modality_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="unknown backbone 'nope'.*handcrafted-audio"):
        create_backbone("nope", "audio")
    with pytest.raises(ConfigError, match="is a video backbone"):
        create_backbone("handcrafted-video", "audio")


def test_missing_weights_offline_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import vaar.baselines.backbones as bb

    monkeypatch.setattr(bb, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(MissingDependencyError, match="run once with internet access.*local checkpoint"):
        create_backbone("wav2vec2:vaar-test/no-such-model", "audio")
    with pytest.raises(MissingDependencyError) as exc:
        create_backbone("timm:mobilevit_xxs.cvnets_in1k", "video")
    assert "\n" not in str(exc.value)


def test_handcrafted_extractors() -> None:
    audio = create_backbone("handcrafted-audio", "audio")
    t = torch.arange(16000) / 16000
    wave = torch.cat([torch.sin(2 * torch.pi * 440 * t), torch.sin(2 * torch.pi * 2000 * t)])
    feats = audio.embed(wave, segment_bounds(0.0, 2.0, 4).float())  # type: ignore[attr-defined]
    assert feats.shape == (4, 64)
    # the loudest band moves up when the tone does
    assert feats[0].argmax() < feats[3].argmax()
    video = create_backbone("handcrafted-video", "video")
    frames = torch.zeros(3, 3, 48, 64, dtype=torch.uint8)
    frames[:, 0] = 255  # red
    v = video.embed(frames)  # type: ignore[attr-defined]
    assert v.shape == (3, 48) and torch.allclose(v[:, :16], torch.ones(3, 16))
    assert torch.allclose(v[:, 16:], torch.zeros(3, 32))


def test_pool_segments_falls_back_to_nearest_frame() -> None:
    frames = torch.arange(4.0)[:, None]  # (4, 1)
    times = torch.tensor([0.1, 0.3, 0.5, 0.7])
    out = pool_segments(frames, times, torch.tensor([[0.0, 0.4], [0.4, 0.45], [0.45, 1.0]]))
    assert out[:, 0].tolist() == [0.5, 2.0, 2.5]


def test_tiny_wav2vec2_from_local_folder(tiny_wav2vec2: Path) -> None:
    bb = create_backbone(str(tiny_wav2vec2), "audio")
    assert bb.dim == 32 and bb.key.startswith(tiny_wav2vec2.name)
    wave = torch.randn(16000 * 2) * 0.1
    out = bb.embed(wave, segment_bounds(0.0, 2.0, 5).float())  # type: ignore[attr-defined]
    assert out.shape == (5, 32) and torch.isfinite(out).all()
    # chunked processing of a long track gives as many frames as one pass, bounded memory
    bb.chunk = bb.stride * 20  # type: ignore[attr-defined]
    out2 = bb.embed(wave, segment_bounds(0.0, 2.0, 5).float())  # type: ignore[attr-defined]
    assert out2.shape == (5, 32)


def test_tiny_mobilevit_from_local_folder(tiny_mobilevit: Path) -> None:
    bb = create_backbone(str(tiny_mobilevit), "video")
    assert bb.dim == 320
    frames = torch.randint(0, 255, (2, 3, 48, 64), dtype=torch.uint8)
    assert bb.embed(frames).shape == (2, 320)  # type: ignore[attr-defined]
    x = bb.preprocess(frames)  # type: ignore[attr-defined]
    assert x.shape == (2, 3, 256, 256)


def test_hf_mobilevit_from_local_folder(tmp_path: Path) -> None:
    from transformers import MobileViTConfig, MobileViTImageProcessor, MobileViTModel

    cfg = MobileViTConfig(image_size=64, hidden_sizes=[16, 24, 32], neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 40],
                          num_attention_heads=2)  # fmt: skip
    MobileViTModel(cfg).save_pretrained(tmp_path)
    MobileViTImageProcessor(size={"shortest_edge": 72}, crop_size={"height": 64, "width": 64}).save_pretrained(tmp_path)
    bb = create_backbone(str(tmp_path), "video")
    assert bb.dim == 40
    out = bb.embed(torch.randint(0, 255, (3, 3, 48, 64), dtype=torch.uint8))  # type: ignore[attr-defined]
    assert out.shape == (3, 40)
