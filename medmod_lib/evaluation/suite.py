"""Run every protocol of one task, and summarise results and sweeps for the notebooks.

:func:`evaluate_task` trains the linear probes, the fine-tuned model and the
supervised baselines of one task on one cohort and returns their results;
:func:`results_table` turns tidy rows into the one "value [CI]" table of
notebook 03; :func:`degradation` reduces missing-modality sweeps to the
numbers notebook 04 reports (drop from 0 % to 100 % missing, slope, and the
gap to the EHR-only model at 100 % missing, which decides "graceful").
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from ..reference import Task
from ..tasks import task_spec
from .heads import MODALITIES
from .protocols import (
    EncoderSpec,
    ProtocolConfig,
    ProtocolResult,
    fine_tune,
    linear_eval,
    supervised,
)
from .results import RESULT_COLUMNS, _typed
from .stage1 import ehr_first, stage2_init

#: Supervised baselines trained by default (``early`` needs pretrained encoders).
DEFAULT_BASELINES: tuple[str, ...] = ("ehr_only", "cxr_only", "joint", "late", "medfuse")


def evaluate_task(
    data: Any,
    *,
    ehr_encoder: nn.Module | None,
    cxr_encoder: nn.Module | None,
    method: str,
    probe_config: ProtocolConfig,
    train_config: ProtocolConfig,
    probes: Sequence[str] = MODALITIES,
    finetune: Sequence[str] = ("ehr+cxr",),
    baselines: Sequence[str] = DEFAULT_BASELINES,
    encoders: EncoderSpec | None = None,
    cxr_stage1: nn.Module | None = None,
    verbose: bool = True,
) -> dict[str, ProtocolResult]:
    """Linear probes, fine-tuning and supervised baselines of one task.

    Args:
        data: a :class:`~medmod_lib.workflow.TaskData`.
        ehr_encoder, cxr_encoder: pretrained encoders (``None`` skips probes and
            fine-tuning).
        method: pretraining method name for the rows.
        probe_config: settings of the linear probes.
        train_config: settings of fine-tuning and the supervised baselines.
        probes, finetune: modalities of the probes and of fine-tuning.
        baselines: names of :data:`medmod_lib.fusion.FUSION_MODELS`; ``early`` uses the
            pretrained encoders (frozen, as in MedFuse), the others fresh ones.
        encoders: sizes of the baselines' fresh encoders.
        cxr_stage1: MedFuse's two stages (:mod:`.stage1`): the baselines with an X-ray
            encoder start from this one (trained on the radiology labels), and the
            fusion baselines take their EHR encoder from the ``ehr_only`` baseline
            trained just before. ``None``: every baseline starts from random weights.
        verbose: print one line per model (best epoch, headline metric, seconds).

    Returns:
        ``{result.name: result}`` in training order.
    """
    _check_early(baselines, (ehr_encoder, cxr_encoder))  # before the probes' minutes
    out: dict[str, ProtocolResult] = {}
    if ehr_encoder is not None or cxr_encoder is not None:
        kw = {"ehr_encoder": ehr_encoder, "cxr_encoder": cxr_encoder, "method": method}
        jobs = [
            lambda m=m: linear_eval(data, modality=m, config=probe_config, **kw) for m in probes
        ]
        jobs += [
            lambda m=m: fine_tune(data, modality=m, config=train_config, **kw) for m in finetune
        ]
        for job in jobs:
            start = time.perf_counter()
            res = job()
            out[res.name] = res
            if verbose:
                _report(data, res, start)
    trained = supervised_baselines(
        data,
        baselines,
        config=train_config,
        encoders=encoders,
        cxr_stage1=cxr_stage1,
        pretrained=(ehr_encoder, cxr_encoder),
        verbose=verbose,
    )
    return out | {res.name: res for res in trained.values()}


def supervised_baselines(
    data: Any,
    names: Sequence[str],
    *,
    config: ProtocolConfig,
    encoders: EncoderSpec | None = None,
    cxr_stage1: nn.Module | None = None,
    pretrained: tuple[nn.Module | None, nn.Module | None] = (None, None),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    verbose: bool = True,
) -> dict[str, ProtocolResult]:
    """The supervised baselines of one task, in MedFuse's two stages.

    With ``cxr_stage1``, the ``ehr_only`` model trains first; every fusion model then
    starts from its EHR encoder and from the stage-1 X-ray encoder (trained on the
    radiology labels), and the X-ray-only model from the latter (:mod:`.stage1`).
    Without it every model starts from random weights. ``early`` fusion freezes the
    ``pretrained`` encoders (MedFuse's early fusion; random frozen ones teach nothing).

    Args:
        data: a :class:`~medmod_lib.workflow.TaskData`.
        names: names of :data:`medmod_lib.fusion.FUSION_MODELS`.
        config: training settings.
        encoders: sizes of the fresh encoders.
        cxr_stage1: the stage-1 X-ray encoder, or ``None``.
        pretrained: ``(ehr_encoder, cxr_encoder)`` for ``early``.
        options: extra :func:`supervised` arguments per model, e.g.
            ``{"joint": {"missing": "learnable"}}``.
        verbose: print one line per model (best epoch, headline metric, seconds).

    Returns:
        ``{name: result}`` in training order.
    """
    _check_early(names, pretrained)
    trained: dict[str, ProtocolResult] = {}
    for name in ehr_first(names) if cxr_stage1 is not None else names:
        start = time.perf_counter()
        if name == "early":
            init = {"ehr_encoder": pretrained[0], "cxr_encoder": pretrained[1]}
        else:
            init = stage2_init(name, cxr_stage1, trained.get("ehr_only"))
        extra = dict((options or {}).get(name, {}))
        trained[name] = supervised(data, name, encoders=encoders, config=config, **init, **extra)
        if verbose:
            _report(data, trained[name], start)
    return trained


def _check_early(names: Sequence[str], pretrained: tuple[Any, Any]) -> None:
    if "early" in names and (pretrained[0] is None or pretrained[1] is None):
        raise ValueError("baseline 'early' freezes pretrained encoders; pass both encoders")


def _report(data: Any, res: ProtocolResult, start: float) -> None:
    metric = task_spec(res.task).monitor
    value = res.rows.set_index("metric").loc[metric, "value"]
    print(
        f"{data.task.value:22s} {res.name:32s} best epoch {res.best_epoch!s:>4}  "
        f"test {metric} {value:.3f} on {res.test_set}  ({time.perf_counter() - start:.0f} s)"
    )


def _fmt(value: float, lo: float, hi: float, digits: int) -> str:
    if not np.isfinite(value):
        return "n/a"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def results_table(rows: pd.DataFrame, *, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per (task, model), one "value [95% CI]" column per headline metric.

    Args:
        rows: tidy result rows (several tasks and models).
        metrics: metric names to show (default: each task's ``TaskSpec.headline``).

    Returns:
        A frame indexed by ``task, method, protocol, modality, test_set, n``.
    """
    keys = ["task", "method", "protocol", "modality", "test_set", "n"]
    parts = []
    for task, part in rows.groupby("task", sort=False):
        wanted = list(metrics) if metrics is not None else list(task_spec(task).headline)
        part = part[part["metric"].isin(wanted)].copy()
        digits = np.where(part["metric"].isin(["mad", "mse", "mape"]), 1, 3)
        cols = (part["value"], part["ci_low"], part["ci_high"], digits)
        part["cell"] = [_fmt(v, lo, hi, int(d)) for v, lo, hi, d in zip(*cols, strict=True)]
        wide = part.pivot_table(
            index=keys[:5], columns="metric", values="cell", aggfunc="first", sort=False
        )
        n = part.groupby(keys[:5], sort=False)["n"].first()
        wide = wide.join(n).set_index("n", append=True)
        parts.append(wide[[m for m in wanted if m in wide.columns]])
    return pd.concat(parts) if parts else pd.DataFrame()


def degradation(
    sweep: pd.DataFrame, *, reference: str = "ehr_only", tolerance: float = 0.02
) -> pd.DataFrame:
    """How each model's metric falls as X-rays are removed (rows of a sweep table).

    Args:
        sweep: concatenated :func:`~medmod_lib.evaluation.missing.missing_modality_sweep`
            tables (``model``, ``test_set``, ``fraction``, ``value``).
        reference: model whose value at fraction 0 (it ignores images) is the
            EHR-only level, matched on ``test_set`` (and ``trained_on`` if present).
        tolerance: "graceful" when the value at 100 % missing is at least
            ``reference - tolerance`` on the same test set.

    Returns:
        Per (model, test_set[, trained_on]): ``at_0``, ``at_100``, ``drop`` (at_0 - at_100),
        ``slope`` (least-squares change per unit fraction), ``vs_reference``
        (at_100 - reference) and ``graceful`` (bool; NA without a reference).
    """
    keys = ["model", "test_set"] + (["trained_on"] if "trained_on" in sweep else [])
    rows = []
    for key, part in sweep.groupby(keys, sort=False):
        part = part.sort_values("fraction")
        x, y = part["fraction"].to_numpy(float), part["value"].to_numpy(float)
        ok = np.isfinite(y)
        slope = float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else np.nan
        rows.append(
            dict(zip(keys, key, strict=True))
            | {"at_0": float(y[0]), "at_100": float(y[-1]), "slope": slope}
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["drop"] = out["at_0"] - out["at_100"]
    ctx = keys[1:]
    ref = out[out["model"] == reference].set_index(ctx)["at_0"]
    joined = out.join(ref.rename("reference"), on=ctx)
    out["vs_reference"] = out["at_100"] - joined["reference"]
    graceful = (out["vs_reference"] >= -tolerance).astype("boolean")
    out["graceful"] = graceful.mask(out["vs_reference"].isna())
    cols = [*keys, "at_0", "at_100", "drop", "slope", "vs_reference", "graceful"]
    return out[cols]


def sweep_rows(
    sweep: pd.DataFrame,
    *,
    task: str | Task,
    protocol: str,
    modality: str = "ehr+cxr",
    seed: int | None = 0,
    n_boot: int | None = None,
    bootstrap_seed: int | None = None,
) -> pd.DataFrame:
    """Sweep tables as tidy result rows: metric ``<metric>@missing<percent>``, method = model.

    Args:
        sweep: :func:`~medmod_lib.evaluation.missing.missing_modality_sweep` tables.
        task, protocol, modality, seed: the row keys (``protocol`` e.g. ``supervised_partial``).
        n_boot, bootstrap_seed: the sweep's bootstrap settings, stored for provenance.

    Returns:
        Rows in :data:`~medmod_lib.evaluation.results.RESULT_COLUMNS` order.
    """
    frame = pd.DataFrame(
        {
            "task": Task.parse(task).value,
            "method": sweep["model"].astype(str).to_numpy(),
            "protocol": protocol,
            "modality": modality,
            "seed": seed,
            "metric": [
                f"{m}@missing{round(100 * f)}"
                for m, f in zip(sweep["metric"], sweep["fraction"], strict=True)
            ],
            "value": sweep["value"].to_numpy(float),
            "ci_low": sweep["ci_low"].to_numpy(float),
            "ci_high": sweep["ci_high"].to_numpy(float),
            "n": sweep["n"].to_numpy(),
            "test_set": sweep["test_set"].astype(str).to_numpy(),
            "n_boot": n_boot,
            "bootstrap_seed": bootstrap_seed,
            "n_boot_valid": pd.NA,
            "n_skipped": pd.NA,
        },
        columns=list(RESULT_COLUMNS),
    )
    return _typed(frame)
