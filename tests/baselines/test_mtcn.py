from __future__ import annotations

import pytest
import torch

from vaar.baselines.mtcn import (
    MTCN,
    clip_logits,
    count_parameters,
    mtcn_flops,
    mtcn_loss,
    smoothing_loss,
)


def test_parameter_count_matches_ms_tcn() -> None:
    assert count_parameters(MTCN(2048, 10)) == 796_328


def test_shapes_and_stage_inputs() -> None:
    torch.manual_seed(0)
    m = MTCN(12, 5, num_stages=3, num_layers=4, num_f_maps=8).eval()
    x = torch.randn(2, 12, 16)
    out = m(x)
    assert out.shape == (3, 2, 5, 16)
    # stage 2 reads the softmax of stage 1
    assert torch.allclose(out[1], m.stages[1](torch.softmax(out[0], dim=1)))
    assert torch.allclose(clip_logits(out), out[-1].mean(-1))


def test_receptive_field_is_causal_free_and_length_preserving() -> None:
    m = MTCN(4, 3, num_stages=1, num_layers=3, num_f_maps=4, dropout=0.0).eval()
    for t in (1, 2, 7, 33):
        assert m(torch.randn(1, 4, t)).shape == (1, 1, 3, t)


def test_loss_is_ce_plus_truncated_mse() -> None:
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 3, 6) * 20  # large jumps: the MSE term saturates at tau^2
    y = torch.tensor([1, 2])
    ce = sum(torch.nn.functional.cross_entropy(s, y[:, None].expand(2, 6)) for s in logits)
    sm = sum(smoothing_loss(s, 4.0) for s in logits)
    assert torch.allclose(mtcn_loss(logits, y, 0.15, 4.0), ce + 0.15 * sm)
    assert float(smoothing_loss(logits[0], 4.0)) <= 16.0
    assert float(smoothing_loss(torch.zeros(1, 3, 5))) == 0.0


def test_loss_backward_and_flops() -> None:
    m = MTCN(8, 4, num_layers=2, num_f_maps=8)
    loss = mtcn_loss(m(torch.randn(3, 8, 10)), torch.tensor([0, 1, 3]))
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())
    # 1x1 in + 10 layers (3x3 dilated + 1x1) + 1x1 out, x4 stages, 2 FLOPs per MAC
    assert mtcn_flops(2048, 10, 1) == 2 * (2048 * 64 + 64 * 10 + 10 * 64 * 64 * 4
                                           + 3 * (10 * 64 + 64 * 10 + 10 * 64 * 64 * 4))


def test_num_stages_validated() -> None:
    with pytest.raises(ValueError):
        MTCN(4, 2, num_stages=0)
