"""Evaluation protocols: linear probes, fine-tuning and supervised baselines.

All three train through the one loop (:func:`medmod_lib.training.fit`) with the
same task loss (:func:`~medmod_lib.evaluation.heads.task_loss`), select the
epoch with the best validation metric (AUROC; macro AUROC for multi-label
tasks; linear-weighted kappa for length of stay), early-stop on it, restore
that epoch's weights, and score the test split into tidy result rows
(:data:`~medmod_lib.evaluation.results.RESULT_COLUMNS`) with seeded bootstrap
intervals.

=============  ======================================================  =================
protocol       what trains                                             ``protocol`` value
=============  ======================================================  =================
linear_eval    one ``nn.Linear`` on frozen encoder features (cached)   ``linear``
fine_tune      encoders + ``nn.Linear`` (projection heads unused)      ``finetune``
supervised     a fusion model / unimodal baseline from scratch         ``supervised``
=============  ======================================================  =================

X-ray-only models (modality ``"cxr"``, model ``cxr_only``) learn from and are
scored on the samples that have an image only; their rows say
``test_set="paired"`` whatever the cohort. The schedule is the loop's
warm-up + cosine (MedMod used MultiStepLR at 60 %/80 %; both decay the rate
to a small value by the end).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..devices import resolve_device, seed_everything
from ..ehr.discretizer import INPUT_WIDTH
from ..encoders import LSTMEncoder, ResNetEncoder
from ..fusion import FUSION_MODELS, build_fusion_model
from ..metrics import N_BOOT, PairedResult, compare_models
from ..reference import Task
from ..tasks import task_spec
from .features import extract_features
from .fitting import ProtocolConfig, ProtocolResult, subset_predictions, train_and_evaluate
from .heads import EncoderClassifier, FeatureHead, Modality
from .predict import Predictions, stay_clusters

__all__ = [
    "MODEL_MODALITY",
    "EncoderSpec",
    "ProtocolConfig",
    "ProtocolResult",
    "compare_results",
    "fine_tune",
    "label_protocol",
    "linear_eval",
    "linear_eval_fractions",
    "supervised",
    "train_and_evaluate",
]

#: Modality of each supervised model of :data:`medmod_lib.fusion.FUSION_MODELS`.
MODEL_MODALITY: dict[str, str] = {"ehr_only": "ehr", "cxr_only": "cxr"}


@dataclass
class EncoderSpec:
    """Encoders built from scratch for the supervised baselines.

    Attributes:
        ehr_hidden_dim, ehr_layers, ehr_dropout: LSTM (MedFuse 256, 2, 0.3).
        cxr_arch: ``"resnet18"`` (CPU) or ``"resnet34"`` (MedFuse/MedMod).
        cxr_in_channels: 1 (the kit's grey images) or 3.
    """

    ehr_hidden_dim: int = 128
    ehr_layers: int = 1
    ehr_dropout: float = 0.0
    cxr_arch: str = "resnet18"
    cxr_in_channels: int = 1

    def build(self) -> tuple[nn.Module, nn.Module]:
        """Fresh ``(LSTMEncoder, ResNetEncoder)`` with random weights (seed first)."""
        ehr = LSTMEncoder(INPUT_WIDTH, self.ehr_hidden_dim, self.ehr_layers, self.ehr_dropout)
        cxr = ResNetEncoder(self.cxr_arch, in_channels=self.cxr_in_channels, weights=None)
        return ehr, cxr


def _test_set(data: Any, paired_only: bool) -> str:
    return "paired" if paired_only else str(data.mode)


def _los_hours(data: Any) -> np.ndarray | None:
    if data.task == Task.LENGTH_OF_STAY and "y_true" in data.test.samples:
        return data.test.samples["y_true"].to_numpy(float)
    return None


def linear_eval(
    data: Any,
    *,
    ehr_encoder: nn.Module | None,
    cxr_encoder: nn.Module | None,
    modality: Modality = "ehr+cxr",
    method: str = "pretrained",
    config: ProtocolConfig | None = None,
    out_dir: str | Path | None = None,
) -> ProtocolResult:
    """Linear evaluation: one ``nn.Linear`` on frozen encoder features.

    The encoders are copied, frozen and run once per split on images through
    the evaluation transform (no augmentation; MedMod linear eval); the linear
    layer then trains on the cached features.

    Args:
        data: a :class:`~medmod_lib.workflow.TaskData` (``paired`` cohort for MedMod's
            protocol; ``partial`` works for ``"ehr"`` and ``"ehr+cxr"``).
        ehr_encoder, cxr_encoder: pretrained encoders (left unchanged).
        modality: ``"ehr"``, ``"cxr"`` or ``"ehr+cxr"`` (see :class:`EncoderClassifier`).
        method: pretraining method, stored in the rows (e.g. ``"simclr"``).
        config: protocol settings (default :class:`ProtocolConfig`).
        out_dir: loop checkpoints (``None``: in memory).
    """
    return linear_eval_fractions(
        data,
        ehr_encoder=ehr_encoder,
        cxr_encoder=cxr_encoder,
        modality=modality,
        method=method,
        config=config,
        out_dir=out_dir,
    )[1.0]


def label_protocol(fraction: float) -> str:
    """The ``protocol`` value of a linear probe fitted on ``fraction`` of the training labels:
    ``"linear"`` for all of them, else e.g. ``"linear@10%"``."""
    return "linear" if fraction >= 1.0 else f"linear@{fraction * 100:g}%"


def linear_eval_fractions(
    data: Any,
    *,
    ehr_encoder: nn.Module | None,
    cxr_encoder: nn.Module | None,
    modality: Modality = "ehr+cxr",
    method: str = "pretrained",
    fractions: tuple[float, ...] = (1.0,),
    config: ProtocolConfig | None = None,
    out_dir: str | Path | None = None,
) -> dict[float, ProtocolResult]:
    """Linear evaluation at several fractions of the training labels (label efficiency).

    Features are extracted once; for each fraction a fresh linear layer is fitted on a
    seeded random subset of the training rows (:meth:`FeatureSet.subset`, nested across
    fractions) and selected and scored on the whole validation and test splits, so the
    results differ only in how many labels the probe saw. Rows carry the protocol
    :func:`label_protocol` (``"linear"``, ``"linear@10%"``...).

    Args:
        fractions: shares of the training rows in (0, 1]; 1.0 is plain :func:`linear_eval`.
        Other arguments: as :func:`linear_eval`.

    Returns:
        ``{fraction: ProtocolResult}`` in the order given.
    """
    config = config or ProtocolConfig()
    fractions = tuple(float(f) for f in fractions)
    if not fractions or any(not 0.0 < f <= 1.0 for f in fractions):
        raise ValueError(f"fractions must be non-empty and in (0, 1], got {fractions}")
    seed_everything(config.seed)
    clf = EncoderClassifier(
        ehr_encoder=copy.deepcopy(ehr_encoder),
        cxr_encoder=copy.deepcopy(cxr_encoder),
        modality=modality,
        num_classes=task_spec(data.task).num_outputs(data.label_columns),
        freeze_encoders=True,
    )
    device = resolve_device(config.device)
    bs = config.batch_size
    feats = {
        split: extract_features(
            clf,
            torch.utils.data.DataLoader(
                data.eval_view(split),
                batch_size=bs,
                collate_fn=data.collate,
                num_workers=config.num_workers,
            ),
            device=device,
            desc=f"features {split}",
            progress=config.progress,
        )
        for split in ("train", "val", "test")
    }
    paired_only = modality == "cxr"
    initial = copy.deepcopy(clf.head.state_dict())
    out: dict[float, ProtocolResult] = {}
    for fraction in fractions:
        seed_everything(config.seed)
        clf.head.load_state_dict(initial)  # every fraction starts from the same head
        train = feats["train"].subset(fraction, seed=config.seed)
        result = train_and_evaluate(
            FeatureHead(clf.head, modality),
            task=data.task,
            train_loader=train.loader(batch_size=bs, shuffle=True, seed=config.seed),
            val_loader=feats["val"].loader(batch_size=bs, shuffle=False),
            test_loader=feats["test"].loader(batch_size=bs, shuffle=False),
            config=config,
            method=method,
            protocol=label_protocol(fraction),
            modality=modality,
            test_set=_test_set(data, paired_only),
            label_names=data.label_columns,
            paired_only=paired_only,
            los_hours=_los_hours(data),
            out_dir=out_dir
            if out_dir is None or len(fractions) == 1
            else Path(out_dir) / label_protocol(fraction),
        )
        model = copy.deepcopy(clf) if len(fractions) > 1 else clf
        result.model = model.eval()  # shares the trained head: predicts raw batches
        out[fraction] = result
    return out


def fine_tune(
    data: Any,
    *,
    ehr_encoder: nn.Module | None,
    cxr_encoder: nn.Module | None,
    modality: Modality = "ehr+cxr",
    method: str = "pretrained",
    config: ProtocolConfig | None = None,
    out_dir: str | Path | None = None,
) -> ProtocolResult:
    """Fine-tuning: copies of the encoders and a linear layer, all trained.

    MedMod freezes its projection heads while fine-tuning; the kit's classifier
    reads the encoder features directly, so the heads take no part at all.

    Args: as in :func:`linear_eval`.
    """
    config = config or ProtocolConfig()
    seed_everything(config.seed)
    clf = EncoderClassifier(
        ehr_encoder=copy.deepcopy(ehr_encoder),
        cxr_encoder=copy.deepcopy(cxr_encoder),
        modality=modality,
        num_classes=task_spec(data.task).num_outputs(data.label_columns),
        freeze_encoders=False,
    )
    clf.requires_grad_(True)
    return _train_on_batches(clf, data, config, method, "finetune", modality, out_dir)


def supervised(
    data: Any,
    name: str,
    *,
    encoders: EncoderSpec | None = None,
    ehr_encoder: nn.Module | None = None,
    cxr_encoder: nn.Module | None = None,
    config: ProtocolConfig | None = None,
    out_dir: str | Path | None = None,
    **model_kwargs: Any,
) -> ProtocolResult:
    """A supervised baseline: a model of :data:`medmod_lib.fusion.FUSION_MODELS` trained on the task.

    Args:
        data: a :class:`~medmod_lib.workflow.TaskData`.
        name: ``ehr_only``, ``cxr_only``, ``early``, ``joint``, ``late`` or ``medfuse``.
        encoders: sizes of fresh random encoders (default :class:`EncoderSpec`).
        ehr_encoder, cxr_encoder: start from copies of these instead (e.g. pretrained
            encoders for ``early``, whose encoders are frozen).
        config: protocol settings.
        out_dir: loop checkpoints.
        **model_kwargs: passed to :func:`~medmod_lib.fusion.build_fusion_model`
            (``missing``, ``fusion_hidden``, ...).
    """
    if name not in FUSION_MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(FUSION_MODELS)}")
    config = config or ProtocolConfig()
    seed_everything(config.seed)
    fresh_ehr, fresh_cxr = (encoders or EncoderSpec()).build()
    model = build_fusion_model(
        name,
        ehr_encoder=copy.deepcopy(ehr_encoder) if ehr_encoder is not None else fresh_ehr,
        cxr_encoder=copy.deepcopy(cxr_encoder) if cxr_encoder is not None else fresh_cxr,
        num_classes=task_spec(data.task).num_outputs(data.label_columns),
        task=data.task,
        **model_kwargs,
    )
    modality = MODEL_MODALITY.get(name, "ehr+cxr")
    return _train_on_batches(model, data, config, name, "supervised", modality, out_dir)


def _train_on_batches(
    model: nn.Module,
    data: Any,
    config: ProtocolConfig,
    method: str,
    protocol: str,
    modality: str,
    out_dir: str | Path | None,
) -> ProtocolResult:
    paired_only = modality == "cxr"
    kw = {"batch_size": config.batch_size, "num_workers": config.num_workers}
    return train_and_evaluate(
        model,
        task=data.task,
        train_loader=data.loader("train", seed=config.seed, **kw),
        val_loader=data.loader("val", **kw),
        test_loader=data.loader("test", **kw),
        config=config,
        method=method,
        protocol=protocol,
        modality=modality,
        test_set=_test_set(data, paired_only),
        label_names=data.label_columns,
        paired_only=paired_only,
        los_hours=_los_hours(data),
        out_dir=out_dir,
    )


def compare_results(
    a: ProtocolResult,
    b: ProtocolResult,
    *,
    metric: str | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> PairedResult:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the test samples both scored.

    See :func:`compare_predictions`; ``a`` and ``b`` must be results of one task.

    Raises:
        ValueError: different tasks, or samples that cannot be matched.
    """
    if a.task != b.task:
        raise ValueError(f"cannot compare {a.task.value} with {b.task.value}")
    return compare_predictions(
        a.task,
        a.predictions,
        b.predictions,
        metric=metric,
        n_boot=n_boot,
        seed=seed,
        names=(a.name, b.name),
    )


def compare_predictions(
    task: str | Task,
    pa: Predictions,
    pb: Predictions,
    *,
    metric: str | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    names: tuple[str, str] = ("a", "b"),
) -> PairedResult:
    """Paired bootstrap of ``metric(a) - metric(b)`` on the test samples both scored.

    Samples are matched by position when both models scored the same stays in
    the same order, else by ``stay_id`` (one sample per stay: mortality,
    phenotyping). An X-ray-only model scores paired samples only, so a fusion
    model is compared on that subset. Where a stay has several samples
    (decompensation, length of stay) the bootstrap resamples whole stays.

    Args:
        task: the task of both predictions.
        pa, pb: test predictions of model a and model b.
        metric: default the task's selection metric (``TaskSpec.monitor``).
        n_boot, seed: bootstrap settings.
        names: the two models' names, for error messages.

    Raises:
        ValueError: samples that cannot be matched.
    """
    task = Task.parse(task)
    metric = metric or task_spec(task).monitor
    if not np.array_equal(pa.stay_id, pb.stay_id):
        ids_a, ids_b = pa.stay_id, pb.stay_id
        if len(np.unique(ids_a)) != len(ids_a) or len(np.unique(ids_b)) != len(ids_b):
            raise ValueError(
                f"{names[0]} and {names[1]} scored different samples and stays repeat "
                "(hourly task); evaluate both on the same test loader"
            )
        common = np.intersect1d(ids_a, ids_b)
        pa = subset_predictions(pa, np.isin(ids_a, common))
        pb = subset_predictions(pb, np.isin(ids_b, common))
        pa = subset_predictions(pa, np.argsort(pa.stay_id, kind="stable"))
        pb = subset_predictions(pb, np.argsort(pb.stay_id, kind="stable"))
    y = pa.y_true
    if task_spec(task).kind == "binary":
        y, sa, sb = y.reshape(len(y)), pa.scores.reshape(len(y)), pb.scores.reshape(len(y))
    else:
        sa, sb = pa.scores, pb.scores
    # Whole stays are resampled where a stay has several samples (hourly tasks).
    clusters = stay_clusters(pa.stay_id)
    return compare_models(y, sa, sb, metric=metric, n_boot=n_boot, seed=seed, clusters=clusters)
