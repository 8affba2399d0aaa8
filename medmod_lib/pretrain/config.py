"""Settings of a pretraining run.

Defaults are the *CPU-laptop* configuration used by the notebooks (minutes on
2 cores). The MedMod benchmark values are given in the comments (Elsharief et al.,
MedMod, CHIL 2025; nyuad-cai/MedMod ``src/scripts/pretrain/*.sh`` and
``src/models/selfsupervised/``);
:func:`medmod_benchmark` returns them as a config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from ..ehr.discretizer import INPUT_WIDTH

Method = Literal["simclr", "vicreg", "align"]
METHODS = ("simclr", "vicreg", "align")
#: MedMod's ALIGN swaps a random 16-20 % of each batch's EHR rows
#: (nyuad-cai/MedMod ``src/models/selfsupervised/models/align_model.py``, ``_swap``,
#: lines 187-215); the kit swaps a fixed share, the middle of that range.
ALIGN_SWAP_FRACTION = 0.18
#: Temperature used when ``PretrainConfig.temperature`` is None.
DEFAULT_TEMPERATURE = {"simclr": 0.1, "align": 0.07}


@dataclass
class PretrainConfig:
    """One pretraining run: objective, model sizes, optimisation, device.

    Attributes:
        method: ``"simclr"`` (NT-Xent), ``"vicreg"`` or ``"align"`` (CLIP loss with a
            learnable temperature).
        views: ``"cross"``: EHR vs X-ray of the same stay (MedMod); ``"intra"``: two
            augmented views of the X-ray (the batch must provide ``image_view2``).
        epochs: training epochs (MedMod 300). Also the schedule length.
        batch_size: samples per batch and process (MedMod 256).
        lr: peak learning rate (MedMod: SimCLR 0.6044 and VICReg 0.5989 with LARS;
            ALIGN 6.026e-5 with AdamW).
        weight_decay: decoupled weight decay (MedMod 1e-4).
        optimizer: ``"adamw"`` or ``"lars"`` (MedMod SimCLR/VICReg: LARS).
        warmup_epochs: linear warm-up before the cosine (MedMod 10).
        grad_clip: max gradient norm, ``None`` for no clipping.
        temperature: NT-Xent temperature (MedMod scripts 0.01) or the ALIGN initial
            temperature (0.07); ``None`` = 0.1 for SimCLR, 0.07 for ALIGN.
        temperature_lr_scale: learning rate of ALIGN's learnable temperature as a
            multiple of ``lr`` (:class:`~medmod_lib.training.OptimConfig`).
        decoupled: exclude the positive from the softmax denominator (DCL) of
            NT-Xent or of the ALIGN loss. This alone is *not* MedMod's SimCLR loss;
            see ``simclr_loss``.
        simclr_loss: ``"nt_xent"``: SimCLR's NT-Xent over the 2N embeddings
            (default); ``"medmod"``: MedMod's cross-modal form, decoupled, no
            intra-modal negatives, the two directions summed
            (:func:`~medmod_lib.losses.medmod_simclr_loss`; ``decoupled`` is then
            implied).
        sim_coeff, std_coeff, cov_coeff: VICReg weights (25, 25, 1).
        swap_fraction: ALIGN noisy-pair augmentation (MedMod ``_swap``, about 0.18);
            0 disables it (default).
        ehr_input_dim: features per hour (76: the discretizer's ``INPUT_WIDTH``).
        ehr_hidden_dim: LSTM width (MedMod SSL 128; ALIGN 256).
        ehr_layers: LSTM layers (MedMod SSL 1).
        ehr_dropout: dropout on the EHR features (MedMod SSL 0).
        cxr_arch: ``"resnet18"`` (CPU default) or ``"resnet34"`` (MedMod).
        cxr_in_channels: 1 (grayscale, the kit's cache) or 3.
        proj_hidden_dim, proj_dim, proj_layers: projection head g(.) (128, 128, 3).
        align_dim: ALIGN shared embedding size (512: Linear(256, 512), Linear(512, 512)).
        seed: seeds model initialisation and data order (MedMod 84305).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
        amp: mixed precision on CUDA only (``"auto"``, ``"bf16"``, ``"fp16"``, ``"off"``).
        monitor: metric for ``best.pt``/early stopping; ``"auto"`` = ``val_auroc`` with a
            probe, else ``val_loss`` with a validation loader, else none.
        patience: early-stopping patience in epochs on ``monitor`` (MedMod 30); ``None`` = off.
        max_steps_per_epoch: cap on batches per epoch (smoke runs).
        restore_best: load the best epoch's weights into the returned model.
        keep_epoch_checkpoints: keep one weights file per epoch (for later model selection).
        num_workers: data-loader workers (used by the command line).
        progress: tqdm progress bars.
    """

    method: Method = "simclr"
    views: Literal["cross", "intra"] = "cross"
    epochs: int = 5  # MedMod: 300
    batch_size: int = 32  # MedMod: 256
    lr: float = 1e-3  # MedMod: see docstring
    weight_decay: float = 1e-4
    optimizer: Literal["adamw", "lars"] = "adamw"  # MedMod SimCLR/VICReg: "lars"
    warmup_epochs: float = 1.0  # MedMod: 10
    grad_clip: float | None = None
    temperature: float | None = None  # MedMod SimCLR scripts: 0.01
    temperature_lr_scale: float = 1.0
    decoupled: bool = False  # MedMod: True
    simclr_loss: Literal["nt_xent", "medmod"] = "nt_xent"  # MedMod: "medmod"
    sim_coeff: float = 25.0
    std_coeff: float = 25.0
    cov_coeff: float = 1.0
    swap_fraction: float = 0.0  # MedMod ALIGN: ~0.18
    ehr_input_dim: int = INPUT_WIDTH
    ehr_hidden_dim: int = 128  # MedMod ALIGN: 256
    ehr_layers: int = 1
    ehr_dropout: float = 0.0
    cxr_arch: str = "resnet18"  # MedMod: "resnet34"
    cxr_in_channels: int = 1
    proj_hidden_dim: int = 128
    proj_dim: int = 128
    proj_layers: int = 3
    align_dim: int = 512
    seed: int = 0  # MedMod: 84305
    device: str = "auto"
    amp: str = "auto"
    monitor: str | None = "auto"
    patience: int | None = None  # MedMod: 30 (on the validation loss)
    max_steps_per_epoch: int | None = None
    restore_best: bool = True
    keep_epoch_checkpoints: bool = False
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"PretrainConfig.method must be one of {METHODS}, got {self.method!r}")
        if self.views not in ("cross", "intra"):
            raise ValueError(f"PretrainConfig.views must be 'cross' or 'intra', got {self.views!r}")
        if not 0.0 <= self.swap_fraction <= 0.2:
            raise ValueError(
                f"PretrainConfig.swap_fraction must be in [0, 0.2] (rows of [0.6B, 0.8B) are the "
                f"swap partners), got {self.swap_fraction}"
            )
        if self.simclr_loss not in ("nt_xent", "medmod"):
            raise ValueError(
                f"PretrainConfig.simclr_loss must be 'nt_xent' or 'medmod', got "
                f"{self.simclr_loss!r}"
            )
        if self.simclr_loss == "medmod" and (self.method != "simclr" or self.views != "cross"):
            raise ValueError(
                "PretrainConfig.simclr_loss='medmod' is MedMod's cross-modal SimCLR loss; "
                "use it with method='simclr' and views='cross'."
            )
        if self.swap_fraction > 0 and self.method != "align":
            raise ValueError(
                "PretrainConfig.swap_fraction is the ALIGN noisy-pair option; use method='align'."
            )
        if self.batch_size < 2:
            raise ValueError(
                f"PretrainConfig.batch_size must be >= 2 (contrastive pairs), got {self.batch_size}"
            )

    @property
    def resolved_temperature(self) -> float | None:
        """The temperature actually used (``None`` for VICReg)."""
        if self.method == "vicreg":
            return None
        return (
            self.temperature if self.temperature is not None else DEFAULT_TEMPERATURE[self.method]
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for YAML/JSON and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PretrainConfig:
        """Build from a dict, rejecting unknown keys (typos must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown PretrainConfig keys {unknown}; valid keys: {sorted(known)}")
        return cls(**values)


def medmod_benchmark(method: Method = "simclr", **overrides: Any) -> PretrainConfig:
    """MedMod's published settings for ``method``; GPU-sized.

    From nyuad-cai/MedMod ``src/scripts/pretrain/{simclr,vicreg,align}.sh`` and the
    trainers and models under ``src/models/selfsupervised/``.

    Args:
        method: ``"simclr"``, ``"vicreg"`` or ``"align"``.
        **overrides: fields to change.
    """
    common = dict(
        method=method,
        epochs=300,
        batch_size=256,
        weight_decay=1e-4,
        warmup_epochs=10,
        cxr_arch="resnet34",
        seed=84305,
        decoupled=method != "vicreg",
    )
    per_method = {
        "simclr": dict(
            optimizer="lars",
            lr=0.6044,
            temperature=0.01,
            ehr_hidden_dim=128,
            simclr_loss="medmod",
        ),
        "vicreg": dict(optimizer="lars", lr=0.5989, ehr_hidden_dim=128),
        "align": dict(
            optimizer="adamw",
            lr=6.026e-5,
            temperature=0.07,
            ehr_hidden_dim=256,
            warmup_epochs=0,
            swap_fraction=ALIGN_SWAP_FRACTION,
        ),
    }
    return replace(PretrainConfig(**(common | per_method[method])), **overrides)
