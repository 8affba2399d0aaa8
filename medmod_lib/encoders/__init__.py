"""Encoders for EHR time series (LSTM, transformer) and chest X-rays (ResNet), plus heads."""

from .cxr import ARCHS, ResNetEncoder
from .ehr import LSTMEncoder, TransformerEncoder, check_sequence_batch, sinusoidal_positions
from .heads import ProjectionHead, linear_head

__all__ = [
    "ARCHS",
    "LSTMEncoder",
    "ProjectionHead",
    "ResNetEncoder",
    "TransformerEncoder",
    "check_sequence_batch",
    "linear_head",
    "sinusoidal_positions",
]
