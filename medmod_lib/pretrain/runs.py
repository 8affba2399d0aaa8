"""Pretraining runs on the linked cohort: reusable checkpoints, their settings and logs.

Checkpoint layout (shared by notebooks 02, 03, 04 and 06 through ``output_dir``)::

    <output_dir>/pretrain/<method>/seed<seed>/
        best.pt          weights of the selected epoch (always written)
        last.pt          last epoch + optimizer/scheduler/RNG state (resume)
        log.csv          per-step, per-epoch and validation rows (loss terms, val_auroc)
        settings.json    PretrainConfig, data settings, pair counts, monitor, best epoch

Typical use::

    path = ensure_pretrained(ctx.output_dir, "simclr", data_root=ctx.data_root, seed=ctx.seed)
    model = load_pretrained(path)          # PretrainModel; model.ehr_encoder, model.cxr_encoder

The pairs themselves are assembled by :mod:`medmod_lib.pretrain.linked`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..devices import seed_everything
from ..training import distributed as ddp
from ..training.checkpoint import BEST, LAST, load_model_weights, save_checkpoint
from .config import PretrainConfig
from .core import PretrainResult, pretrain
from .linked import LinkedPairs, PairData, linked_pairs, sources_of
from .model import PretrainModel, build_pretrain_model
from .probe import Features, make_probe_fn

#: Folder under ``output_dir`` with one sub-folder per method and seed.
PRETRAIN_DIR = "pretrain"
SETTINGS_FILE = "settings.json"
#: Config fields that do not change the weights (ignored when reusing a checkpoint).
_NOT_COMPARED = ("device", "progress", "num_workers")


def pretrain_dir(output_dir: str | Path, method: str, seed: int) -> Path:
    """``<output_dir>/pretrain/<method>/seed<seed>``: the standard checkpoint folder."""
    return Path(output_dir) / PRETRAIN_DIR / method / f"seed{int(seed)}"


MONITORS = ("auto", "val_auroc", "val_loss", None)


def _monitor(pairs: LinkedPairs, requested: str | None) -> tuple[str | None, str]:
    """The monitor actually used for ``requested`` and why."""
    if requested not in MONITORS:
        raise ValueError(f"PretrainConfig.monitor must be one of {MONITORS}, got {requested!r}")
    undefined = (
        f"the {pairs.counts['val'].paired} validation pairs have "
        f"{pairs.positives['val']} positives, so the probe AUROC is undefined"
    )
    if requested is None:
        return None, "none requested: the last epoch is kept"
    if requested == "val_loss":
        return "val_loss", "validation loss (requested)"
    if pairs.probe_scorable:
        return "val_auroc", "linear-probe validation AUROC"
    if requested == "val_auroc":
        raise ValueError(
            f"monitor='val_auroc' but {undefined}; use monitor='val_loss' or more data."
        )
    return "val_loss", f"validation loss: {undefined}"


def pretrain_linked(
    pairs: LinkedPairs,
    config: PretrainConfig,
    *,
    out_dir: str | Path | None,
    features: Features = "both",
    log_probe: bool = True,
) -> PretrainResult:
    """Pretrain on the training pairs; select the epoch by the probe or the val loss.

    The linear probe (logistic regression on frozen ``features`` of the training
    pairs, scored on the validation pairs) is logged every epoch as ``val_auroc``.
    ``config.monitor`` chooses the epoch kept in ``best.pt``: ``"auto"`` is the probe
    AUROC (MedMod) when the validation pairs hold both classes, else ``val_loss``;
    ``"val_loss"`` is the objective on the validation pairs (steadier than a probe
    scored on a few dozen stays); ``None`` keeps the last epoch. The monitor used
    and why are written to ``settings.json``. A rerun with the same ``out_dir``
    resumes from ``last.pt``.

    Args:
        pairs: from :func:`linked_pairs`.
        config: the pretraining run.
        out_dir: checkpoint folder, usually :func:`pretrain_dir`; ``None``: in memory.
        features: encoder features of the probe (``"ehr"``, ``"cxr"``, ``"both"``).
        log_probe: run the probe every epoch even when the monitor does not need it
            (``False`` saves a feature pass over the probe's films each epoch; the log
            then has no ``val_auroc``).

    Returns:
        The :class:`~medmod_lib.pretrain.PretrainResult` (best-epoch weights restored).
    """
    monitor, why = _monitor(pairs, config.monitor)
    if out_dir is not None and ddp.current().is_main:
        _clear_other_run(Path(out_dir), config, pairs.settings, features)
    requested, config = config, replace(config, monitor=monitor)
    bs = config.batch_size
    train = pairs.loader("train", batch_size=bs, seed=config.seed, num_workers=config.num_workers)
    if len(train) == 0:
        raise ValueError(
            f"{pairs!r}: fewer training pairs than batch_size={bs}; lower the batch size."
        )
    val = pairs.loader("val", batch_size=bs, num_workers=config.num_workers)
    probe = None
    if log_probe or monitor == "val_auroc":
        probe = make_probe_fn(
            pairs.loader("probe_train", batch_size=bs, num_workers=config.num_workers),
            val,
            features=features,
        )
    result = pretrain(config, train, val, out_dir=out_dir, probe_fn=probe)
    if out_dir is not None and ddp.current().is_main:
        out = Path(out_dir)
        if not (out / BEST).is_file():  # no epoch improved (e.g. NaN scores): keep the last
            meta = {"epoch": result.fit.last_epoch, "monitor": monitor, "score": None}
            save_checkpoint(out / BEST, {"model": result.model.state_dict(), **meta})
        settings = {
            "pretrain": requested.to_dict(),
            "data": _plain(pairs.settings),
            "features": features,
            "monitor": monitor,
            "monitor_reason": why,
            "pairs": {s: c.paired for s, c in pairs.counts.items()},
            "unpaired_skipped": {s: c.unpaired_skipped for s, c in pairs.counts.items()},
            "positives": pairs.positives,
            "best_epoch": result.best_epoch,
            "best_score": _finite(result.best_score),
            "last_epoch": result.fit.last_epoch,
            "finished": result.fit.last_epoch >= config.epochs or result.fit.stopped_early,
        }
        (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, default=str) + "\n")
    return result


def _clear_other_run(out: Path, config: PretrainConfig, settings: PairData, features: str) -> None:
    """Remove a previous run's files from ``out`` when it had other settings (else resume)."""
    file = out / SETTINGS_FILE
    if not file.is_file():
        return
    stored = json.loads(file.read_text())
    same = (
        _comparable(stored.get("pretrain", {})) == _comparable(config.to_dict())
        and _same_data(stored.get("data"), settings)
        and stored.get("features") == features
    )
    if not same:
        print(f"{out}: replacing a pretraining run with other settings.")
        for name in (LAST, BEST, SETTINGS_FILE, "log.csv"):
            (out / name).unlink(missing_ok=True)


def _plain(settings: PairData) -> dict[str, Any]:
    """``settings`` as stored in ``settings.json`` (JSON types: lists, not tuples)."""
    return json.loads(json.dumps(asdict(settings)))


def _same_data(stored: dict[str, Any] | None, settings: PairData) -> bool:
    """Stored pair settings equal ``settings`` (fields added later take their defaults)."""
    try:
        return _plain(PairData(**(stored or {}))) == _plain(settings)
    except (TypeError, ValueError):
        return False


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def read_settings(path: str | Path) -> dict[str, Any]:
    """``settings.json`` of a checkpoint folder (``path`` may be the folder or a file in it)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    file = folder / SETTINGS_FILE
    if not file.is_file():
        raise FileNotFoundError(
            f"No {SETTINGS_FILE} in {folder}: not a checkpoint folder written by "
            "medmod_lib.pretrain.pretrain_linked. Run notebooks/02_pretraining or ensure_pretrained."
        )
    return json.loads(file.read_text())


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in _NOT_COMPARED}


def load_pretrained(path: str | Path, *, device: str = "cpu") -> PretrainModel:
    """Rebuild the :class:`PretrainModel` of a checkpoint and load its weights.

    Args:
        path: ``best.pt`` (or ``last.pt``, or the folder: ``best.pt`` is used).
        device: where to put the model.

    Returns:
        The model in eval mode; ``model.ehr_encoder`` and ``model.cxr_encoder`` are the
        pretrained encoders.
    """
    path = Path(path)
    if path.is_dir():
        path = path / BEST
    settings = read_settings(path)
    model = build_pretrain_model(PretrainConfig.from_dict(settings["pretrain"]))
    load_model_weights(model, path)
    return model.to(device).eval()


def random_like(path: str | Path, *, seed: int, device: str = "cpu") -> PretrainModel:
    """The untrained model of a checkpoint's architecture: the "random encoders" baseline.

    Built as :func:`load_pretrained` builds it, from the same settings, but with the
    seeded initial weights instead of the trained ones, so a probe on these encoders
    shows what pretraining added.

    Args:
        path: a checkpoint (``best.pt``) or its folder.
        seed: seed of the initial weights.
        device: where to put the model.
    """
    path = Path(path)
    settings = read_settings(path / BEST if path.is_dir() else path)
    seed_everything(seed)
    model = build_pretrain_model(PretrainConfig.from_dict(settings["pretrain"]))
    return model.to(device).eval()


def ensure_pretrained(
    output_dir: str | Path,
    method: str = "simclr",
    config: PretrainConfig | None = None,
    *,
    data_root: str | Path | None = None,
    seed: int = 0,
    pairs: PairData | None = None,
    force: bool = False,
) -> Path:
    """The ``best.pt`` of ``method`` at the standard location, pretraining it if needed.

    Reuse rules: with ``config=None`` any finished run of ``method`` and ``seed`` in
    ``output_dir`` is reused (what notebooks 03/04/06 want: 02's checkpoint); otherwise
    the stored settings must equal ``config`` (ignoring device, progress, workers) and
    ``pairs``. Either way a run stamped with the fingerprints of other linked cohorts or
    another image list (:mod:`medmod_lib.artifacts`) is stale. A run is built in a
    temporary sibling folder and renamed into place when finished, so a killed run is
    never reused: it starts again (an unfinished run of notebook 02 is run again with its
    stored settings). A run with other settings is replaced, with a message.

    Args:
        output_dir: the run's shared folder (``ctx.output_dir``).
        method: ``"simclr"``, ``"vicreg"`` or ``"align"``.
        config: settings to train with (default: ``PretrainConfig(method=method, seed=seed)``).
        data_root: raw data (default: ``$MEDMOD_DATA_ROOT`` or the synthetic data).
        seed: the run's seed (folder name; the default config's seed).
        pairs: how to build the pairs (default :class:`PairData`).
        force: retrain even if a matching checkpoint exists.

    Returns:
        Path of ``best.pt``.
    """
    from .. import artifacts, workflow

    if config is not None and config.method != method:
        raise ValueError(f"config.method={config.method!r} but method={method!r}.")
    out = pretrain_dir(output_dir, method, seed)
    wanted = config or PretrainConfig(method=method, seed=seed)
    pairs_settings = pairs or PairData(sample_seed=seed)
    ehr, linked, cache = workflow.prepare_study(data_root, output_dir, progress=wanted.progress)
    upstream = sources_of(linked, cache)
    if (out / SETTINGS_FILE).is_file() and (out / BEST).is_file() and not force:
        stored = read_settings(out)
        stamp = artifacts.read_stamp(out)
        fresh = stamp is None or stamp.get("upstream") == upstream  # unstamped: notebook 02's
        same = config is None or (
            _comparable(stored["pretrain"]) == _comparable(wanted.to_dict())
            and _same_data(stored["data"], pairs_settings)
        )
        if same and fresh and stored.get("finished"):
            return out / BEST
        if same and config is None:  # run the stored run again as it was configured
            wanted = PretrainConfig.from_dict(stored["pretrain"])
            pairs_settings = PairData(**stored["data"])
        if not same or not fresh:
            print(
                f"ensure_pretrained: {out} holds a run with other settings or data; replacing it."
            )
    data = linked_pairs(linked, ehr, cache, pairs_settings)
    artifacts.get_or_build(
        out,
        kind="pretrain",
        settings={
            "pretrain": _comparable(wanted.to_dict()),
            "data": _plain(pairs_settings),
            "features": "both",
        },
        upstream=upstream,
        build=lambda tmp: pretrain_linked(data, wanted, out_dir=tmp),
        load=Path,
        force=True,
        markers=(SETTINGS_FILE, BEST, LAST),
    )
    return out / BEST


def history_frame(folder: str | Path) -> pd.DataFrame:
    """``log.csv`` of a checkpoint folder (per-step, per-epoch and validation rows)."""
    file = Path(folder) / "log.csv"
    if not file.is_file():
        raise FileNotFoundError(f"No log.csv in {folder}; pretrain into this folder first.")
    return pd.read_csv(file)
