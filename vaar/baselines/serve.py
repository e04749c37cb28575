"""A trained run as a ``vaar-bench submit --model`` model (the protocol of :mod:`vaar.bench.sandbox`).

::

    VAAR_BASELINE_RUN=$PWD/runs/avarnet vaar-bench submit --model vaar.baselines.serve:from_run ...

``from_run()`` takes no arguments (the protocol's factory); the run folder comes from the
``VAAR_BASELINE_RUN`` environment variable, an absolute path (the sandbox runs the model in a
home folder of its own, so a relative path would be read from there; ``VAAR_BASELINE_SEED`` picks a
seed other than the best one). ``predict`` computes features with the run's own backbones and segmenting — the code
path of ``vaar-bench features`` — so scores equal those of ``vaar-bench predict``, and returns
the softmax of the clip-level logits, one row per clip, classes in the run's (taxonomy) order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from vaar.baselines.backbones import AudioBackbone, VideoBackbone, create_backbone
from vaar.baselines.features import clip_bounds, extract_clip
from vaar.baselines.predict import LoadedRun, load_run
from vaar.core.errors import ConfigError

ENV_RUN = "VAAR_BASELINE_RUN"
ENV_SEED = "VAAR_BASELINE_SEED"


class BaselinePredictor:
    """Backbones + trained head of one run; ``predict(clips) -> (B, K)`` probabilities."""

    batch_size = 8

    def __init__(self, run: LoadedRun) -> None:
        ex = run.info["extraction"]
        self.run = run
        self.segments = int(ex["segments"])
        audio = create_backbone(ex["audio_backbone"], "audio")
        video = create_backbone(ex["video_backbone"], "video")
        assert isinstance(audio, AudioBackbone) and isinstance(video, VideoBackbone)
        self.audio, self.video = audio, video

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        """Head and backbone parameters (hand-crafted backbones have none)."""
        yield from self.run.model.parameters()
        for bb in (self.audio, self.video):
            module = getattr(bb, "model", None)
            if isinstance(module, torch.nn.Module):
                yield from module.parameters()

    @torch.inference_mode()
    def predict(self, batch: Sequence[Any]) -> torch.Tensor:
        audio, video = [], []
        for clip in batch:
            bounds = clip_bounds(clip.video, self.segments, None)  # (T, 2)
            a, v = extract_clip(clip.video, clip.audio or clip.video, bounds, self.audio, self.video)
            assert a is not None and v is not None
            audio.append(a)
            video.append(v)
        model = self.run.model
        device = next(model.parameters()).device
        out = model(torch.stack(audio).to(device), torch.stack(video).to(device))  # [(S, B, K, T)]
        return torch.softmax(model.clip_scores(out).double(), dim=1).cpu()  # (B, K)


def from_run(run_dir: str | None = None, seed: int | None = None) -> BaselinePredictor:
    """The submit factory: the run in ``$VAAR_BASELINE_RUN`` (or ``run_dir``)."""
    torch.set_flush_denormal(True)
    path = run_dir or os.environ.get(ENV_RUN)
    if not path:
        raise ConfigError(f"set {ENV_RUN} to a run folder of `vaar-bench train`")
    if not os.path.isabs(path) and not os.path.isdir(path):  # the sandbox's cwd is the model's own home
        raise ConfigError(f"{ENV_RUN}={path}: give an absolute path (the model runs in its own folder), "
                          f"e.g. {ENV_RUN}=$PWD/{path}")
    env_seed = os.environ.get(ENV_SEED)
    return BaselinePredictor(load_run(path, seed if seed is not None else
                                      (int(env_seed) if env_seed else None), device="cpu"))  # fmt: skip
