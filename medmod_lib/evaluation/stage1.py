"""MedFuse's stage 1: an X-ray encoder trained on the 14 radiology labels first.

MedFuse trains its fusion models in two stages (Hayat, Geras, Shamout, MLHC 2022,
arXiv 2207.07027; nyuad-cai/MedFuse ``trainers/fusion_trainer.py`` loads the
stage-1 encoders given by ``--load_state_cxr`` / ``--load_state_ehr``): the
X-ray encoder first learns the 14 CheXpert findings on the image-only radiology
cohort, the EHR encoder learns the task (the EHR-only model); stage 2 starts the
fusion model from both encoders and trains everything. Started from random
weights instead (MedFuse's ``medFuse_rand``), a ResNet that sees only the few
hundred paired films of a task overfits them, and on the synthetic demo data the
fused model then scores *better* with its images removed.

:func:`radiology_cxr_encoder` trains the stage-1 encoder on the training split of
the radiology cohort (the subject split every cohort shares, so no validation or
test subject is seen) and keeps it in ``<output_dir>/stage1/`` for notebooks 03
and 04 to share, built atomically and reused while the settings, the linked cohorts
and the image list match (:mod:`medmod_lib.artifacts`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from torch import nn

from .. import artifacts
from ..reference import Task
from ..training.checkpoint import load_checkpoint, save_checkpoint
from .fitting import ProtocolConfig
from .protocols import EncoderSpec, supervised

#: Folder under ``output_dir`` with the stage-1 encoders.
STAGE1_DIR = "stage1"
#: The encoder's weights inside its folder ``STAGE1_DIR/radiology_cxr_<settings key>/``.
ENCODER_FILE = "encoder.pt"
#: Config fields that do not change the trained weights.
_IGNORED = ("device", "progress", "num_workers", "n_boot", "bootstrap_seed")


def _settings(
    encoders: EncoderSpec, config: ProtocolConfig, image_size: int, max_samples: int | None
) -> dict[str, Any]:
    train = {k: v for k, v in asdict(config).items() if k not in _IGNORED}
    return {
        "cxr_arch": encoders.cxr_arch,
        "cxr_in_channels": encoders.cxr_in_channels,
        "config": train,
        "image_size": int(image_size),
        "max_samples": max_samples,
    }


def radiology_cxr_encoder(
    linked: Any,
    cache: Any,
    output_dir: str | Path,
    *,
    encoders: EncoderSpec,
    config: ProtocolConfig,
    epochs: int,
    image_size: int,
    max_samples: int | None = None,
    verbose: bool = True,
) -> nn.Module | None:
    """The stage-1 X-ray encoder: trained on the radiology labels, reused if present.

    Args:
        linked: the linked cohorts (:class:`~medmod_lib.linking.LinkedData`).
        cache: the image cache.
        output_dir: the run's folder; the encoder is kept in ``output_dir/stage1/``.
        encoders: sizes of the encoder (its ``cxr_arch`` and ``cxr_in_channels``).
        config: training settings (learning rate, batch size, seed, ...), usually the
            task models'; its ``epochs`` and ``patience`` are replaced.
        epochs: stage-1 epochs, all run (no early stopping); the epoch with the best
            validation macro AUROC is kept. 0: no stage 1 (MedFuse's ``medFuse_rand``).
        image_size: image side; must match the task models that start from it.
        max_samples: cap per split (smoke runs).
        verbose: print one line (trained or reused, validation and test macro AUROC).

    Returns:
        A ``ResNetEncoder`` with the stage-1 weights (a fresh module each call), or
        ``None`` for ``epochs=0``: the fusion models then start from random weights.

    Raises:
        ValueError: ``epochs`` is negative.
    """
    from ..workflow import task_datasets

    if epochs < 0:
        raise ValueError(f"stage-1 epochs must be >= 0 (0: no stage 1), got {epochs}")
    if epochs == 0:
        return None

    config = replace(config, epochs=epochs, patience=None)
    settings = _settings(encoders, config, image_size, max_samples)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    folder = Path(output_dir) / STAGE1_DIR / f"radiology_cxr_{key}"
    trained: dict[str, Any] = {}

    def build(tmp: Path) -> None:
        data = task_datasets(
            linked,
            None,
            cache,
            task=Task.RADIOLOGY,
            mode="radiology",
            image_size=image_size,
            channels=encoders.cxr_in_channels,
            max_samples=max_samples,
            seed=config.seed,
        )
        result = supervised(data, "cxr_only", encoders=encoders, config=config)
        value = float(result.rows.set_index("metric").loc["auroc_macro", "value"])
        save_checkpoint(
            tmp / ENCODER_FILE,
            {
                "model": result.model.cxr_encoder.state_dict(),
                "settings": json.dumps(settings),
                "best_epoch": result.best_epoch,
                "test_auroc_macro": value,
            },
        )
        trained.update(films=len(data.train), best_epoch=result.best_epoch)

    artifacts.get_or_build(
        folder,
        kind="stage1-cxr-encoder",
        settings=settings,
        upstream=_upstream(linked, cache),
        build=build,
        load=Path,
        markers=(ENCODER_FILE,),
    )
    state = load_checkpoint(folder / ENCODER_FILE)
    encoder = encoders.build()[1]
    encoder.load_state_dict(state["model"])
    if verbose and trained:
        print(
            f"stage 1: X-ray encoder trained on the radiology labels of {trained['films']} "
            f"training films, best epoch {trained['best_epoch']}, "
            f"test macro AUROC {state['test_auroc_macro']:.3f}"
        )
    elif verbose:
        print(f"stage 1: reusing {folder.name} (test macro AUROC {state['test_auroc_macro']:.3f})")
    return encoder


def _upstream(linked: Any, cache: Any) -> dict[str, str]:
    """Fingerprints of the linked cohorts and the image cache the encoder is trained on."""
    upstream = {}
    root = getattr(linked, "root", None)
    if root is not None:
        upstream["linked"] = artifacts.digest_of(root, "linking.json")
    cache_dir = getattr(cache, "cache_dir", None)
    if cache_dir is not None:  # the image list and size; shards are checked by the cache
        upstream["image_cache"] = artifacts.digest_of(cache_dir, "plan.json")
    return upstream


def ehr_first(names: Sequence[str]) -> list[str]:
    """``names`` with ``ehr_only`` (the fusion models' EHR stage 1) moved to the front."""
    return sorted(names, key=lambda name: name != "ehr_only")


def stage2_init(
    name: str, cxr_stage1: nn.Module | None, ehr_only: Any | None = None
) -> dict[str, nn.Module]:
    """The encoders a supervised baseline starts from in MedFuse's stage 2.

    Args:
        name: the baseline (``ehr_only``, ``cxr_only``, ``joint``, ``late``, ``medfuse``).
        cxr_stage1: the stage-1 X-ray encoder (:func:`radiology_cxr_encoder`); ``None``
            means every baseline starts from random weights.
        ehr_only: the task's trained ``ehr_only`` result (its EHR encoder is the EHR
            stage 1 of the fusion baselines); ``None``: a fresh EHR encoder.

    Returns:
        Keyword arguments for :func:`~medmod_lib.evaluation.supervised` (``{}``: random).
    """
    if cxr_stage1 is None or name == "ehr_only":
        return {}
    init = {"cxr_encoder": cxr_stage1}
    if name != "cxr_only" and ehr_only is not None:
        init["ehr_encoder"] = ehr_only.model.ehr_encoder
    return init
