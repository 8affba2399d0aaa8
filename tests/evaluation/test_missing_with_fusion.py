"""The sweep's assumption on real fusion models: a sample's score depends only on its own row."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from medmod_lib.encoders.ehr import LSTMEncoder
from medmod_lib.evaluation import collect_predictions, drop_mask, without_images
from medmod_lib.fusion.factory import build_fusion_model


class TinyCNN(nn.Module):
    """A small image encoder with BatchNorm (eval mode must make rows independent)."""

    out_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


def _batches(n_batches: int = 3, b: int = 6):
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n_batches):
        lengths = torch.randint(1, 9, (b,), generator=g)
        ehr = torch.randn(b, 8, 76, generator=g) * (
            torch.arange(8)[None, :, None] < lengths[:, None, None]
        )
        paired = torch.rand(b, generator=g) < 0.7
        image = torch.randn(b, 1, 12, 12, generator=g) * paired.view(-1, 1, 1, 1)
        labels = (torch.rand(b, 1, generator=g) < 0.5).float()
        out.append(
            {"ehr": ehr, "ehr_lengths": lengths, "image": image, "paired": paired, "labels": labels}
        )
    return out


@pytest.mark.parametrize("name", ["medfuse", "joint", "late"])
def test_assembled_scores_equal_scores_on_dropped_batches(name: str) -> None:
    torch.manual_seed(0)
    model = build_fusion_model(
        name,
        ehr_encoder=LSTMEncoder(hidden_dim=8, num_layers=1, dropout=0.0),
        cxr_encoder=TinyCNN(),
        num_classes=1,
        fusion_hidden=8,
    ).eval()
    batches = _batches()
    preds = collect_predictions(lambda b: model(b), batches, also_without_images=True)
    keep = drop_mask(preds.paired, 0.5, seed=1)
    assembled = np.where(keep[:, None], preds.scores, preds.scores_without_images)
    direct, offset = [], 0
    with torch.no_grad():
        for b in batches:
            k = keep[offset : offset + len(b["paired"])]
            offset += len(k)
            direct.append(model(without_images(b, k)).numpy())
    np.testing.assert_allclose(assembled, np.concatenate(direct), rtol=1e-5, atol=1e-5)
