"""Tiny models and data for the training-loop tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: faster and steadier for tiny models on a shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


class TinyData(Dataset):
    """B=8-sized batches of (T=6, 76) EHR and 1x32x32 images with a binary label."""

    def __init__(self, n: int = 32, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 6, 76, generator=g)
        self.image = torch.randn(n, 1, 32, 32, generator=g)
        self.y = (self.x[:, 0, :1] > 0).float()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"ehr": self.x[i], "image": self.image[i], "labels": self.y[i]}


class TinyModel(nn.Module):
    """Linear + dropout on EHR, conv on images; forward(batch) -> loss terms."""

    def __init__(self) -> None:
        super().__init__()
        self.ehr = nn.Linear(76, 4)
        self.conv = nn.Conv2d(1, 2, 3, stride=4)
        self.out = nn.Linear(4 + 2 * 8 * 8, 1)
        self.drop = nn.Dropout(0.3)

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        h = torch.cat([self.ehr(batch["ehr"]).mean(1), self.conv(batch["image"]).flatten(1)], 1)
        logits = self.out(self.drop(h))
        bce = nn.functional.binary_cross_entropy_with_logits(logits, batch["labels"])
        return {"loss": bce, "l2": self.out.weight.pow(2).sum().detach()}


def tiny_loader(n: int = 32, batch_size: int = 8, seed: int = 0) -> DataLoader:
    gen = torch.Generator().manual_seed(123)
    return DataLoader(TinyData(n, seed), batch_size=batch_size, shuffle=True, generator=gen)


@pytest.fixture
def make_loader():
    return tiny_loader


@pytest.fixture
def make_model():
    def build(seed: int = 1) -> TinyModel:
        torch.manual_seed(seed)
        return TinyModel()

    return build
