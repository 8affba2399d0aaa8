"""Projection and classification heads."""

from __future__ import annotations

from torch import nn


class ProjectionHead(nn.Sequential):
    """MLP projection head g(.) of MedMod / SimCLR.

    ``num_layers`` Linear layers with ReLU in between; the last Linear has no
    bias. The default (3 layers, 128 wide) is MedMod's g(.):
    Linear(in, 128) - ReLU - Linear(128, 128) - ReLU - Linear(128, 128, bias=False).

    Args:
        in_dim: input feature size (encoder ``out_dim``).
        hidden_dim: width of the hidden layers.
        out_dim: embedding size.
        num_layers: number of Linear layers (>= 1; 1 gives one bias-free Linear).

    Examples:
        >>> import torch
        >>> head = ProjectionHead(512)
        >>> head(torch.randn(4, 512)).shape
        torch.Size([4, 128])
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 128, out_dim: int = 128, num_layers: int = 3
    ) -> None:
        if num_layers < 1:
            raise ValueError(f"ProjectionHead: num_layers must be >= 1, got {num_layers}")
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(num_layers - 1):
            layers += [nn.Linear(d, hidden_dim), nn.ReLU(inplace=True)]
            d = hidden_dim
        layers.append(nn.Linear(d, out_dim, bias=False))
        super().__init__(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim


def linear_head(in_dim: int, num_classes: int) -> nn.Linear:
    """Linear classifier with the benchmark initialisation (xavier-uniform, zero bias).

    Args:
        in_dim: feature size.
        num_classes: number of logits K.

    Returns:
        ``nn.Linear(in_dim, num_classes)`` mapping (B, in_dim) -> (B, K).
    """
    layer = nn.Linear(in_dim, num_classes)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer
