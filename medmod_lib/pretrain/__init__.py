"""Self-supervised pretraining (SimCLR, VICReg, ALIGN) through the one training loop.

Run from Python (notebooks)::

    cfg = PretrainConfig(method="simclr", epochs=5)
    result = pretrain(cfg, train_loader, val_loader, out_dir="outputs/pretrain/simclr",
                      probe_fn=make_probe_fn(probe_train_loader, probe_val_loader))

or from the command line, on one process or several with ``torchrun``::

    python -m medmod_lib.pretrain --config cfg.yaml
    torchrun --nproc_per_node=2 -m medmod_lib.pretrain --config cfg.yaml
"""

from .config import METHODS, PretrainConfig, medmod_benchmark
from .core import PretrainResult, pretrain, train_config
from .data import PairedCounts, RandomPairs, make_loader, paired_subset, random_pair_datasets
from .model import PretrainModel, as_float_image, build_pretrain_model, swap_pairs
from .probe import extract_features, make_probe_fn, probe_auroc

__all__ = [
    "METHODS",
    "PairedCounts",
    "PretrainConfig",
    "PretrainModel",
    "PretrainResult",
    "RandomPairs",
    "as_float_image",
    "build_pretrain_model",
    "extract_features",
    "make_loader",
    "make_probe_fn",
    "medmod_benchmark",
    "paired_subset",
    "pretrain",
    "probe_auroc",
    "random_pair_datasets",
    "swap_pairs",
    "train_config",
]
