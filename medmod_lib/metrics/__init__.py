"""Metrics with seeded bootstrap confidence intervals.

Quick use::

    from medmod_lib.metrics import task_metrics, compare_models
    results = task_metrics("in-hospital-mortality", y_true, y_prob)   # dict of MetricResult
    print(results["auroc"])                      # auroc 0.812 [0.781, 0.842] (n=1373)
    diff = compare_models(y_true, prob_fusion, prob_cxr, metric="auroc")

Modules: ``kernels`` (vectorised count-weighted metrics), ``bootstrap``
(resampling, :class:`MetricResult`, :class:`PairedResult`), ``classification``
(AUROC/AUPRC), ``los`` (kappa, MAD), ``calibration`` (Brier, reliability
curve), ``operating`` (sensitivity, specificity, PPV and alerts per 100 at a
threshold), ``tasks`` (the metric set per task, paired comparison).
"""

from .bootstrap import (
    BOOT_SEED,
    N_BOOT,
    MetricResult,
    PairedResult,
    bootstrap,
    bootstrap_table,
    paired_bootstrap,
    resample_counts,
)
from .calibration import brier_score, reliability_curve, wilson_interval
from .classification import auprc, auroc, auroc_half_width, ranking_metrics
from .los import hour_errors, los_metrics
from .operating import OPERATING_COLUMNS, operating_points, threshold_at_sensitivity
from .tasks import compare_models, task_metrics

__all__ = [
    "BOOT_SEED",
    "N_BOOT",
    "OPERATING_COLUMNS",
    "MetricResult",
    "PairedResult",
    "auprc",
    "auroc_half_width",
    "auroc",
    "bootstrap",
    "bootstrap_table",
    "brier_score",
    "compare_models",
    "hour_errors",
    "los_metrics",
    "operating_points",
    "paired_bootstrap",
    "ranking_metrics",
    "reliability_curve",
    "wilson_interval",
    "resample_counts",
    "task_metrics",
    "threshold_at_sensitivity",
]
