"""Fusion models and unimodal baselines.

All share ``forward(ehr, ehr_lengths, image, paired) -> logits (B, K)`` and a
``features(...)`` method; the X-ray encoder runs only on paired rows.
"""

from .base import FusionModel, freeze
from .concat import ConcatFusion
from .factory import FUSION_MODELS, build_fusion_model, task_activation
from .late import LateFusion, average_probability_logits
from .medfuse import MedFuseLSTM
from .tokens import MissingImageToken
from .unimodal import CXROnly, EHROnly

__all__ = [
    "FUSION_MODELS",
    "CXROnly",
    "ConcatFusion",
    "EHROnly",
    "FusionModel",
    "LateFusion",
    "MedFuseLSTM",
    "MissingImageToken",
    "average_probability_logits",
    "build_fusion_model",
    "freeze",
    "task_activation",
]
