"""Build a supervised model by name."""

from __future__ import annotations

from torch import nn

from ..reference import Task
from ..tasks import task_spec
from .base import FusionModel
from .concat import ConcatFusion
from .late import LateFusion
from .medfuse import MedFuseLSTM
from .unimodal import CXROnly, EHROnly

FUSION_MODELS: dict[str, str] = {
    "ehr_only": "EHR encoder -> Linear (image ignored)",
    "cxr_only": "X-ray encoder -> Linear (unpaired rows: bias only, mask them out)",
    "early": "frozen encoders; concat(EHR, Linear(CXR)) -> Linear",
    "joint": "concat(EHR, Linear(CXR)) -> Linear, trained end to end",
    "late": "mean of EHR and X-ray probabilities (softmax for LOS); EHR only without image",
    "medfuse": "LSTM over [EHR, Linear(CXR)]; length 1 when the image is missing",
}


def build_fusion_model(
    name: str,
    *,
    ehr_encoder: nn.Module | None = None,
    cxr_encoder: nn.Module | None = None,
    num_classes: int,
    missing: str | None = None,
    freeze_encoders: bool | None = None,
    fusion_hidden: int = 512,
    dropout: float = 0.0,
    task: str | Task | None = None,
    activation: str | None = None,
) -> FusionModel:
    """Build one of :data:`FUSION_MODELS`.

    Args:
        name: a key of :data:`FUSION_MODELS`.
        ehr_encoder: EHR encoder (not needed for ``"cxr_only"``).
        cxr_encoder: image encoder (not needed for ``"ehr_only"``).
        num_classes: number of logits K.
        missing: replacement for missing images: ``"zeros"``/``"learnable"``
            (early, joint, medfuse) or ``"drop"`` (medfuse); ``None`` = the
            model's default (zeros; drop for medfuse).
        freeze_encoders: ``None`` = True for ``"early"``, else False. ``"early"``
            and ``"joint"`` differ only in this flag.
        fusion_hidden: hidden size of the MedFuse fusion LSTM.
        dropout: dropout before the MedFuse classifier.
        task: the task the logits are for; it fixes late fusion's activation
            (softmax over the length-of-stay bins, so the averaged
            probabilities sum to 1; sigmoid otherwise).
        activation: ``"sigmoid"`` or ``"softmax"``, used by late fusion to average
            probabilities; ``None`` = the task's (sigmoid without a task).

    Returns:
        A :class:`FusionModel`: ``model(ehr, ehr_lengths, image, paired) -> (B, K)``.

    Raises:
        ValueError: for an unknown name, a missing encoder, an option the model
            does not take, or an activation that contradicts the task.
    """
    if name not in FUSION_MODELS:
        raise ValueError(f"unknown fusion model {name!r}; choose one of {sorted(FUSION_MODELS)}")
    if name != "cxr_only" and ehr_encoder is None:
        raise ValueError(f"fusion model {name!r} needs an ehr_encoder")
    if name != "ehr_only" and cxr_encoder is None:
        raise ValueError(f"fusion model {name!r} needs a cxr_encoder")
    if missing is not None and name in ("ehr_only", "cxr_only", "late"):
        raise ValueError(f"fusion model {name!r} takes no `missing` option (got {missing!r})")
    activation = task_activation(task, activation)
    freeze = (name == "early") if freeze_encoders is None else freeze_encoders
    if name == "ehr_only":
        return EHROnly(ehr_encoder, num_classes, freeze_encoders=freeze)
    if name == "cxr_only":
        return CXROnly(cxr_encoder, num_classes, freeze_encoders=freeze)
    if name in ("early", "joint"):
        return ConcatFusion(
            ehr_encoder,
            cxr_encoder,
            num_classes,
            freeze_encoders=freeze,
            missing=missing or "zeros",
        )
    if name == "late":
        return LateFusion(
            ehr_encoder, cxr_encoder, num_classes, freeze_encoders=freeze, activation=activation
        )
    return MedFuseLSTM(
        ehr_encoder,
        cxr_encoder,
        num_classes,
        fusion_hidden=fusion_hidden,
        dropout=dropout,
        freeze_encoders=freeze,
        missing=missing or "drop",
    )


def task_activation(task: str | Task | None, activation: str | None = None) -> str:
    """The output activation of ``task``: softmax for length of stay, sigmoid otherwise.

    Args:
        task: a :class:`~medmod_lib.reference.Task` or its name; ``None`` = unknown.
        activation: an explicit choice, checked against the task.

    Raises:
        ValueError: if ``activation`` contradicts the task (e.g. sigmoid for the
            10 mutually exclusive length-of-stay bins).
    """
    if task is None:
        return activation or "sigmoid"
    want = "softmax" if task_spec(task).kind == "multiclass" else "sigmoid"
    if activation is not None and activation != want:
        raise ValueError(
            f"activation {activation!r} does not fit task {Task.parse(task).value!r}, whose "
            f"probabilities come from {want}; leave activation=None to follow the task"
        )
    return want
