"""Projection and linear heads."""

import pytest
import torch
from torch import nn

from medmod_lib.encoders import ProjectionHead, linear_head


def test_default_head_is_medmod_g():
    head = ProjectionHead(512)
    kinds = [type(m) for m in head]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in head if isinstance(m, nn.Linear)] == [
        (512, 128),
        (128, 128),
        (128, 128),
    ]
    assert head[0].bias is not None and head[2].bias is not None and head[4].bias is None
    assert head(torch.randn(3, 512)).shape == (3, 128)
    assert (head.in_dim, head.out_dim) == (512, 128)


def test_one_layer_and_invalid():
    head = ProjectionHead(16, out_dim=4, num_layers=1)
    assert len(head) == 1 and head[0].bias is None and head[0].in_features == 16
    with pytest.raises(ValueError, match="num_layers"):
        ProjectionHead(16, num_layers=0)


def test_linear_head_init():
    layer = linear_head(10, 3)
    assert layer.weight.shape == (3, 10)
    assert torch.count_nonzero(layer.bias) == 0
    assert layer.weight.abs().max() <= (6 / 13) ** 0.5
