"""Pretraining pairs from the linked cohort: a stay's EHR and its films.

The pairs are the ``paired`` rows of one task's linked cohort (default: in-hospital
mortality, MedMod's per-task pretraining set): the training split with the
``simclr`` image augmentations, the validation split with the deterministic
``benchmark`` transform. The per-epoch linear probe (MedMod's epoch selection)
predicts the task's first label from frozen encoder features of the training
pairs and is scored on the validation pairs. Runs, checkpoints and their reuse:
:mod:`medmod_lib.pretrain.runs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Subset

from ..reference import Task
from ..training import distributed as ddp
from .data import PairedCounts, make_loader, paired_subset
from .pairs import TRAIN_PAIRS, stay_image_samples

#: Default cohort of the pairs and label of the probe.
DEFAULT_TASK = "in-hospital-mortality"


@dataclass(frozen=True)
class PairData:
    """How the pairs were built (stored in ``settings.json``, compared on reuse).

    Attributes:
        task: linked cohort of the pairs and label of the probe.
        image_size: side of the transformed images.
        channels: image channels (1 = grey, the kit's cache).
        max_bins: keep the last ``max_bins`` hours of each EHR window (``None``: all).
        max_samples: cap each split (seeded) for smoke runs.
        sample_seed: seed of the capping.
        train_pairs: the pretraining pairs: ``"task"`` (the task's paired training
            samples, the probe's pairs) or ``"stay_images"`` (every image of
            ``views`` taken during any cohort stay of the training split, with the EHR
            up to the image: about 3.7x more pairs; see :mod:`.pairs`). The probe
            always uses the task's pairs.
        train_preset: image augmentation of the pretraining pairs (``"simclr"``: strong
            crops/affine/jitter; ``"benchmark"``: flips and mild affine).
        views: X-ray views of ``"stay_images"`` pairs.
    """

    task: str = DEFAULT_TASK
    image_size: int = 224
    channels: int = 1
    max_bins: int | None = None
    max_samples: int | None = None
    sample_seed: int = 0
    train_pairs: str = "task"
    train_preset: str = "simclr"
    views: tuple[str, ...] = ("AP",)

    def __post_init__(self) -> None:
        if self.train_pairs not in TRAIN_PAIRS:
            raise ValueError(
                f"PairData.train_pairs must be one of {TRAIN_PAIRS}, got {self.train_pairs!r}"
            )
        object.__setattr__(self, "views", tuple(self.views))


@dataclass
class LinkedPairs:
    """Paired stays of one linked cohort, ready for pretraining and probing.

    Attributes:
        train: pretraining pairs with augmented images (``settings.train_preset``): the
            task's training pairs, or every stay image of the training split
            (``settings.train_pairs``).
        probe_train: the task's training pairs with the deterministic ``benchmark``
            transform (the probe is fitted here).
        val: validation pairs (``benchmark`` transform); the probe is scored here.
        test: test pairs (``benchmark`` transform), for later evaluation only.
        counts: pairs used and unpaired rows skipped: ``"pretrain"`` (``train``) and the
            task's ``"train"`` (``probe_train``), ``"val"`` and ``"test"``.
        positives: positives of the probe label among those pairs (same keys).
        label: the probe's label column.
        settings: how the pairs were built.
        collate: the batch collate function.
        sources: fingerprints of the linked cohorts and the image list the pairs come
            from (:func:`sources_of`); runs trained on them are stale when they change.
    """

    train: Subset
    probe_train: Subset
    val: Subset
    test: Subset
    counts: dict[str, PairedCounts]
    positives: dict[str, int]
    label: str
    settings: PairData
    collate: Any
    sources: dict[str, str] = field(default_factory=dict)

    def loader(
        self, split: str, *, batch_size: int, seed: int = 0, num_workers: int = 0
    ) -> DataLoader:
        """Seeded loader over ``train`` (shuffled, last short batch dropped) or another split."""
        train = split == "train"
        return make_loader(
            getattr(self, split),
            batch_size=batch_size,
            shuffle=train,
            seed=seed,
            num_workers=num_workers,
            collate_fn=self.collate,
            drop_last=train,
        )

    @property
    def probe_scorable(self) -> bool:
        """True when the validation pairs hold both classes (else the AUROC is undefined)."""
        n_val = self.counts["val"].paired
        return 0 < self.positives["val"] < n_val and self.positives["train"] > 0

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{s}={self.counts[s].paired} ({self.positives[s]} pos)"
            for s in ("train", "val", "test")
        )
        extra = ""
        if self.settings.train_pairs != "task":
            extra = f", pretrain={self.counts['pretrain'].paired} ({self.settings.train_pairs})"
        return f"LinkedPairs(task={self.settings.task!r}, label={self.label!r}, {parts}{extra})"


def linked_pairs(linked, ehr, cache, settings: PairData | None = None) -> LinkedPairs:
    """Paired stays of ``settings.task`` from the linked cohorts.

    Args:
        linked: :class:`~medmod_lib.linking.LinkedData`.
        ehr: :class:`~medmod_lib.ehr.processed.ProcessedEHR`.
        cache: image cache (e.g. :func:`~medmod_lib.workflow.ensure_image_cache`).
        settings: how to build the pairs (default :class:`PairData`).

    Returns:
        The :class:`LinkedPairs`; unpaired rows are counted in ``counts``, never used.

    Raises:
        ValueError: a split has fewer than two pairs (names the cohort and the fix).
    """
    from ..workflow import task_datasets

    s = settings or PairData()
    task = Task.parse(s.task)
    if task in (Task.LENGTH_OF_STAY, Task.RADIOLOGY):
        raise ValueError(
            f"pretraining pairs need a binary-label EHR task for the probe, got {task.value!r}; "
            "use in-hospital-mortality, phenotyping or decompensation."
        )
    common = dict(
        task=task,
        mode="paired",
        image_size=s.image_size,
        channels=s.channels,
        max_bins=s.max_bins,
        max_samples=s.max_samples,
        seed=s.sample_seed,
    )
    plain = task_datasets(linked, ehr, cache, preset="benchmark", **common)
    if s.train_pairs == "stay_images":
        pretrain_source = _stay_image_dataset(linked, ehr, cache, s, task, plain)
    else:
        pretrain_source = task_datasets(linked, ehr, cache, preset=s.train_preset, **common).train
    sets, counts, positives = {}, {}, {}
    label = plain.label_columns[0]
    for name, source in (
        ("train", pretrain_source),
        ("probe_train", plain.eval_view("train")),
        ("val", plain.val),
        ("test", plain.test),
    ):
        try:
            sets[name], c = paired_subset(source)
        except ValueError as err:
            raise ValueError(
                f"{task.value}/paired, split {name}: {err} Use more data (more patients) or "
                "another task."
            ) from err
        key = {"train": "pretrain", "probe_train": "train"}.get(name, name)
        counts[key] = c
        y = source.samples.iloc[sets[name].indices][label].to_numpy(float)
        positives[key] = int(np.nansum(y))
    return LinkedPairs(
        sources=sources_of(linked, cache),
        train=sets["train"],
        probe_train=sets["probe_train"],
        val=sets["val"],
        test=sets["test"],
        counts=counts,
        positives=positives,
        label=label,
        settings=s,
        collate=plain.collate,
    )


def sources_of(linked, cache) -> dict[str, str]:
    """Fingerprints (:func:`medmod_lib.artifacts.digest_of`) of the linked cohorts and the
    image cache's image list; empty entries for objects without a folder (tests)."""
    from .. import artifacts

    found = {}
    if getattr(linked, "root", None) is not None:
        found["linked"] = artifacts.digest_of(linked.root, "linking.json")
    if getattr(cache, "cache_dir", None) is not None:
        found["image_cache"] = artifacts.digest_of(cache.cache_dir, "plan.json")
    return found


def _stay_image_dataset(linked, ehr, cache, s: PairData, task: Task, plain):
    """Every ``s.views`` image of a training-split stay with the EHR up to it (see .pairs)."""
    from .. import cxr
    from ..linking import MultimodalDataset

    stays = ehr.stays
    # the probe label where it is a stay property (in-hospital death), else unknown (NaN)
    died = stays.set_index("stay_id")["mortality_inhospital"]
    label = died if task == Task.IN_HOSPITAL_MORTALITY else None
    samples = stay_image_samples(stays, linked.images, split="train", views=s.views, label=label)
    samples = samples.assign(**{c: np.nan for c in plain.label_columns if c not in samples})
    missing = ~samples["dicom_id"].astype(str).map(cache.__contains__)
    if missing.any():  # failed decodes: counted as skipped pairs, as in task_datasets
        samples = samples.assign(paired=~missing)
    if s.max_samples is not None and len(samples) > s.max_samples:
        samples = samples.sample(n=s.max_samples, random_state=s.sample_seed).sort_index()
    return MultimodalDataset(
        samples,
        task=task,
        label_columns=plain.label_columns,
        ehr=ehr,
        normalizer=ehr.normalizer(task),
        images=cache,
        transform=cxr.get_transforms(
            s.train_preset, train=True, image_size=s.image_size, channels=s.channels
        ),
        max_bins=s.max_bins,
    )


#: Epoch-selection monitors of :func:`pretrain_linked`.
def linked_datasets(
    output_dir: str | Path,
    data_root: str | Path | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Data factory of ``python -m medmod_lib.pretrain --config`` on the linked cohort.

    Builds (or reuses) the processed EHR, the linked cohorts and the image cache in
    ``output_dir`` (rank 0 first under torchrun, the other ranks then reuse them)::

        data:
          factory: medmod_lib.pretrain.linked:linked_datasets
          kwargs: {output_dir: outputs/runs/cli, task: in-hospital-mortality, image_size: 224}

    Args:
        output_dir: folder for the processed data (not the checkpoint folder).
        data_root: raw data (default: ``$MEDMOD_DATA_ROOT`` or the synthetic data).
        **settings: :class:`PairData` fields.

    Returns:
        ``{"train": augmented train pairs, "val": val pairs, "collate_fn": collate}``.
    """
    from .. import workflow

    info = ddp.current()

    def build() -> LinkedPairs:
        ehr, linked, cache = workflow.prepare_study(data_root, output_dir, progress=info.is_main)
        return linked_pairs(linked, ehr, cache, PairData(**settings))

    if info.is_main:
        data = build()
        ddp.barrier()
    else:
        ddp.barrier()
        data = build()
    if info.is_main:
        print(data, flush=True)
    return {"train": data.train, "val": data.val, "collate_fn": data.collate}
