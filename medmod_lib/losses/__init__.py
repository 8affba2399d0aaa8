"""Self-supervised losses: SimCLR NT-Xent, VICReg, CLIP/ALIGN symmetric InfoNCE.

All take two (N, D) embedding batches whose row i is a positive pair: two
augmented views of one sample (intra-modal) or the EHR and X-ray embeddings of
one stay (cross-modal).
"""

from .clip import CLIPLoss, clip_loss
from .simclr import NTXentLoss, nt_xent_loss
from .vicreg import (
    VICRegLoss,
    covariance_loss,
    invariance_loss,
    variance_loss,
    vicreg_loss,
    vicreg_terms,
)

__all__ = [
    "CLIPLoss",
    "NTXentLoss",
    "VICRegLoss",
    "clip_loss",
    "covariance_loss",
    "invariance_loss",
    "nt_xent_loss",
    "variance_loss",
    "vicreg_loss",
    "vicreg_terms",
]
