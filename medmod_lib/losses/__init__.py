"""Self-supervised losses: SimCLR NT-Xent, MedMod's cross-modal form, VICReg, CLIP/ALIGN.

All take two (N, D) embedding batches whose row i is a positive pair: two
augmented views of one sample (intra-modal) or the EHR and X-ray embeddings of
one stay (cross-modal).
"""

from .clip import CLIPLoss, clip_loss
from .medmod_simclr import MedModSimCLRLoss, medmod_simclr_loss
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
    "MedModSimCLRLoss",
    "NTXentLoss",
    "VICRegLoss",
    "clip_loss",
    "covariance_loss",
    "invariance_loss",
    "medmod_simclr_loss",
    "nt_xent_loss",
    "variance_loss",
    "vicreg_loss",
    "vicreg_terms",
]
