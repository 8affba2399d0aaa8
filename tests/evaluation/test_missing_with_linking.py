"""The missing-modality utilities on the real linking dataset and collate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from medmod_lib.evaluation import drop_images, missing_modality_sweep
from medmod_lib.linking.dataset import MultimodalCollate, MultimodalDataset


class FakeEHR:
    def __init__(self, signal: dict[int, float]) -> None:
        self.signal = signal

    def inputs(self, stay_id: int, n_bins: int) -> np.ndarray:
        return np.full((n_bins, 76), self.signal[stay_id], dtype=np.float32)


class FakeImages:
    def __init__(self, signal: dict[str, float]) -> None:
        self.signal = signal

    def get(self, dicom_id: str) -> np.ndarray:
        return np.full((4, 4), self.signal[dicom_id], dtype=np.uint8)


def _dataset(n: int = 120, seed: int = 0) -> MultimodalDataset:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    stay = np.arange(30_000_000, 30_000_000 + n)
    paired = rng.random(n) < 0.75
    dicom = [f"d{i}" for i in range(n)]
    samples = pd.DataFrame(
        {
            "stay_id": stay,
            "subject_id": stay - 20_000_000,
            "period_length": 48.0,
            "paired": paired,
            "dicom_id": [d if p else None for d, p in zip(dicom, paired, strict=True)],
            "y_true": y,
        }
    )
    ehr = FakeEHR({int(s): float(0.5 * yy + rng.normal()) for s, yy in zip(stay, y, strict=True)})
    img = FakeImages(
        {d: int(60 + 100 * yy + rng.integers(0, 60)) for d, yy in zip(dicom, y, strict=True)}
    )
    return MultimodalDataset(
        samples, task="in-hospital-mortality", label_columns=["y_true"], ehr=ehr, images=img
    )


def _predict(batch) -> torch.Tensor:
    ehr = batch["ehr"][:, 0, 0]
    img = batch["image"].float().flatten(1).mean(1) / 255.0
    return torch.sigmoid(ehr + torch.where(batch["paired"], 4 * (img - 0.5), torch.zeros_like(img)))


def _loader(ds) -> DataLoader:
    return DataLoader(
        ds, batch_size=32, shuffle=False, collate_fn=MultimodalCollate(image_shape=(1, 4, 4))
    )


def test_dataset_drop_and_sweep_agree() -> None:
    ds = _dataset()
    sweep = missing_modality_sweep(
        _predict, _loader(ds), task="in-hospital-mortality", seed=5, n_boot=50
    )
    assert sweep["value"].iloc[0] > sweep["value"].iloc[-1]
    for frac, value in zip(sweep["fraction"], sweep["value"], strict=True):
        dropped = drop_images(ds, frac, seed=5)
        assert int(dropped.samples["paired"].sum()) == sweep["n_paired"].iloc[0] - round(
            frac * sweep["n_paired"].iloc[0]
        )
        direct = missing_modality_sweep(
            _predict, _loader(dropped), task="in-hospital-mortality", fractions=(0.0,), n_boot=0
        )
        assert direct["value"].iloc[0] == value
    assert "paired=" in repr(drop_images(ds, 1.0, seed=5)) and ds.samples["paired"].sum() > 0
