"""Data-parallel training with PyTorch DDP, started by ``torchrun``.

::

    torchrun --standalone --nproc-per-node 2 --no-python \\
        vaar-bench train --config baselines/avarnet.yaml --dataset DS --features FEAT --out RUN

Every rank holds the whole (small) feature tensors and draws the same epoch permutation (same
seed); each batch of ``batch_size`` clips is split between the ranks (``idx[rank::world]``,
padded by repetition when the batch is smaller than the world, as ``DistributedSampler`` pads),
and DDP averages the gradients, so a step sees the same global batch as one process does.
Backend: ``nccl`` with one GPU per rank (``LOCAL_RANK``), else ``gloo`` on CPU. Rank 0 writes
the run folder; the other ranks train in step and write nothing. Outside ``torchrun`` (no
``WORLD_SIZE`` > 1) every function here is a no-op.
"""

from __future__ import annotations

import atexit
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def active() -> bool:
    """Running under ``torchrun`` with more than one process, and the group is set up."""
    import torch.distributed as dist

    return world_size() > 1 and dist.is_available() and dist.is_initialized()


def setup() -> bool:
    """Join the process group ``torchrun`` describes; True when training is distributed."""
    if world_size() <= 1:
        return False
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
            dist.init_process_group("nccl")
        else:
            dist.init_process_group("gloo")
        atexit.register(teardown)
    return True


def teardown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if active() else 0


def is_main() -> bool:
    return rank() == 0


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """``DistributedDataParallel(model)`` when distributed, else ``model`` itself."""
    if not active():
        return model
    from torch.nn.parallel import DistributedDataParallel

    dev = next(model.parameters()).device
    return DistributedDataParallel(model, device_ids=[dev] if dev.type == "cuda" else None)


def shard(idx: torch.Tensor) -> torch.Tensor:
    """This rank's part of one global batch of indices: (b,) → (ceil(b / world),)."""
    if not active():
        return idx
    world = world_size()
    if len(idx) % world:
        reps = -(-world // len(idx)) + 1
        idx = idx.repeat(reps)[: -(-len(idx) // world) * world]
    return idx[rank() :: world]


def all_sum(value: float) -> float:
    """Sum of ``value`` over the ranks (a float on every rank)."""
    if not active():
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item())

