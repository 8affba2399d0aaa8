"""The multimodal dataset and its collate function.

Each sample yields its EHR inputs (bins x 76, normalised), the X-ray (or
``None``), a ``paired`` flag, labels and ids. :class:`MultimodalCollate` pads
sequences and stacks images; rows without an image get zeros *and*
``paired=False``, so a model never sees a fake zero image without knowing it.
The batch layout is the contract in CONTRIBUTING.md ("Model batches").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..ehr.discretizer import INPUT_WIDTH, Normalizer, n_bins_for
from ..reference import Task


class EHRSource(Protocol):
    """Hourly EHR inputs of stays.

    A source may also offer ``window(stay_id, end) -> (bins, 76)`` (the rows of a
    window ending at ``end`` hours, with no event charted after it) and
    ``prepare_windows(stay_ids, ends)`` (precompute those windows at once), as
    :class:`~medmod_lib.ehr.processed.ProcessedEHR` does; the dataset then uses
    them for every sample. A source with ``inputs`` only serves whole bins, which
    is exact only for windows that end on the hour or at the end of the stay.
    """

    def inputs(self, stay_id: int, n_bins: int) -> np.ndarray:
        """The first ``n_bins`` hourly rows (n_bins, 76) of a stay, unnormalised."""


class ImageSource(Protocol):
    def get(self, dicom_id: str) -> np.ndarray:
        """A cached image as uint8 (H, W)."""


def _to_tensor_image(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).unsqueeze(0)  # uint8 (1, H, W)


class MultimodalDataset(Dataset):
    """Samples of a cohort as tensors.

    Args:
        samples: the cohort's rows (``Cohort.samples`` or one split of it).
        task: the task (decides the label type: LOS is a class index).
        label_columns: label column names in output order.
        ehr: source of hourly inputs; ``None`` for image-only cohorts.
        normalizer: fitted on the training split; ``None`` keeps raw values.
        images: source of cached images; ``None`` for EHR-only use.
        transform: applied to each uint8 (1, H, W) image tensor.
        max_bins: keep at most the last ``max_bins`` hours of long windows
            (CPU teaching runs); ``None`` keeps the benchmark's full window.
    """

    def __init__(
        self,
        samples: pd.DataFrame,
        *,
        task: str | Task,
        label_columns: Sequence[str],
        ehr: EHRSource | None = None,
        normalizer: Normalizer | None = None,
        images: ImageSource | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        max_bins: int | None = None,
    ) -> None:
        self.samples = samples.reset_index(drop=True)
        self.task = Task.parse(task)
        self.label_columns = list(label_columns)
        missing = [c for c in self.label_columns if c not in self.samples.columns]
        if missing:
            raise ValueError(f"label columns {missing} are not in the samples")
        self.ehr, self.normalizer, self.images = ehr, normalizer, images
        self.transform = transform
        self.max_bins = max_bins
        self._labels = self.samples[self.label_columns].to_numpy(dtype=np.float32)
        self._paired = (
            self.samples["paired"].to_numpy(bool)
            if "paired" in self.samples
            else np.zeros(len(self.samples), bool)
        )
        if self.images is None:
            self._paired = np.zeros(len(self.samples), bool)
        if self.ehr is not None and hasattr(self.ehr, "prepare_windows"):
            # Windows cut at an image (radiology, pretraining pairs) end inside an
            # hour: their last bin is rebuilt once, from the events up to the image.
            rows = self.samples[self.samples["stay_id"].notna()]
            self.ehr.prepare_windows(
                rows["stay_id"].to_numpy(np.int64), rows["period_length"].to_numpy(float)
            )

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        n_paired = int(self._paired.sum())
        return (
            f"MultimodalDataset(task={self.task.value!r}, samples={len(self)}, paired={n_paired}, "
            f"unpaired={len(self) - n_paired}, labels={len(self.label_columns)}, "
            f"ehr={'yes' if self.ehr is not None else 'no'}, images={'yes' if self.images is not None else 'no'})"
        )

    def _ehr(self, row: pd.Series) -> np.ndarray | None:
        if self.ehr is None or pd.isna(row.get("stay_id")):
            return None
        end = float(row["period_length"])
        if hasattr(self.ehr, "window"):
            x = self.ehr.window(int(row["stay_id"]), end)
        else:
            x = self.ehr.inputs(int(row["stay_id"]), max(n_bins_for(end), 1))
        if self.max_bins is not None and len(x) > self.max_bins:
            x = x[-self.max_bins :]
        return self.normalizer.transform(x) if self.normalizer is not None else x.astype(np.float32)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self.samples.iloc[i]
        image = None
        if self._paired[i]:
            image = _to_tensor_image(self.images.get(str(row["dicom_id"])))
            if self.transform is not None:
                image = self.transform(image)
        labels = self._labels[i]
        return {
            "ehr": self._ehr(row),
            "image": image,
            "paired": bool(self._paired[i]),
            "labels": labels,
            "stay_id": int(row["stay_id"])
            if "stay_id" in row and not pd.isna(row["stay_id"])
            else -1,
            "subject_id": int(row["subject_id"]),
        }


class MultimodalCollate:
    """Stack samples into the batch dict of CONTRIBUTING.md.

    Args:
        image_shape: (C, H, W) of the zero image given to unpaired rows when
            no row of the batch has an image.
        n_features: width of the EHR inputs (76 for the benchmark).
        class_labels: labels are one class index per sample (length of stay).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 224, 224),
        n_features: int = INPUT_WIDTH,
        class_labels: bool = False,
    ) -> None:
        self.image_shape = tuple(image_shape)
        self.n_features = n_features
        self.class_labels = class_labels

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        b = len(items)
        seqs = [it["ehr"] for it in items]
        lengths = torch.tensor([len(s) if s is not None else 1 for s in seqs], dtype=torch.long)
        ehr = torch.zeros(b, int(lengths.max()), self.n_features)
        for k, s in enumerate(seqs):
            if s is not None:
                ehr[k, : len(s)] = torch.from_numpy(np.asarray(s, dtype=np.float32))
        paired = torch.tensor([it["paired"] for it in items], dtype=torch.bool)
        shape = next(
            (tuple(it["image"].shape) for it in items if it["image"] is not None), self.image_shape
        )
        dtype = next((it["image"].dtype for it in items if it["image"] is not None), torch.float32)
        image = torch.zeros((b, *shape), dtype=dtype)
        for k, it in enumerate(items):
            if it["image"] is not None:
                image[k] = it["image"]
        labels = torch.from_numpy(np.stack([it["labels"] for it in items]))
        batch = {
            "ehr": ehr,
            "ehr_lengths": lengths,
            "has_ehr": torch.tensor([s is not None for s in seqs], dtype=torch.bool),
            "image": image,
            "paired": paired,
            "stay_id": torch.tensor([it["stay_id"] for it in items], dtype=torch.long),
            "subject_id": torch.tensor([it["subject_id"] for it in items], dtype=torch.long),
        }
        if self.class_labels:
            batch["labels"] = labels.reshape(b, -1)[:, 0].long()
        else:
            # NaN marks an unknown label (radiology "ignore" policy): mask it out.
            batch["label_mask"] = (~torch.isnan(labels)).float()
            batch["labels"] = torch.nan_to_num(labels, nan=0.0)
        return batch
