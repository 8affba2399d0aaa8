"""Evaluation: tidy results, subgroup metrics, missing-modality sweeps and their figures.

The protocols (linear evaluation, fine-tuning, supervised baselines) build on
these and on ``medmod_lib.training``; metrics live in ``medmod_lib.metrics``.
"""

from .errors import most_confident_errors
from .features import FeatureSet, extract_features, label_subset
from .heads import MODALITIES, EncoderClassifier, FeatureHead, task_loss, task_scores
from .missing import (
    DEFAULT_FRACTIONS,
    drop_images,
    drop_mask,
    drop_order,
    missing_modality_sweep,
    sweep_predictions,
)
from .plots import (
    plot_label_draws,
    plot_pr_curves,
    plot_reliability,
    plot_roc_curves,
    plot_sweep,
)
from .predict import Predictions, collect_predictions, without_images
from .protocols import (
    EncoderSpec,
    ProtocolConfig,
    ProtocolResult,
    compare_results,
    fine_tune,
    label_protocol,
    linear_eval,
    linear_eval_fractions,
    supervised,
    train_and_evaluate,
)
from .results import RESULT_COLUMNS, append_results, evaluate_predictions, read_results, result_rows
from .stage1 import ehr_first, radiology_cxr_encoder, stage2_init
from .strata import (
    ACUITY_CRITERIA,
    acuity_score,
    intubated,
    read_stay_events,
    stratified_auroc,
)
from .subgroups import (
    AGE_BINS,
    age_group,
    forest_frame,
    plot_subgroup_forest,
    race_group,
    sex_group,
    subgroup_frame,
    subgroup_metrics,
)
from .suite import (
    DEFAULT_BASELINES,
    degradation,
    evaluate_task,
    results_table,
    supervised_baselines,
    sweep_rows,
)

__all__ = [
    "ACUITY_CRITERIA",
    "AGE_BINS",
    "acuity_score",
    "forest_frame",
    "intubated",
    "most_confident_errors",
    "plot_subgroup_forest",
    "read_stay_events",
    "stratified_auroc",
    "DEFAULT_BASELINES",
    "degradation",
    "ehr_first",
    "evaluate_task",
    "radiology_cxr_encoder",
    "stage2_init",
    "results_table",
    "sweep_rows",
    "MODALITIES",
    "EncoderClassifier",
    "EncoderSpec",
    "FeatureHead",
    "FeatureSet",
    "ProtocolConfig",
    "ProtocolResult",
    "compare_results",
    "extract_features",
    "label_subset",
    "fine_tune",
    "label_protocol",
    "linear_eval",
    "linear_eval_fractions",
    "supervised",
    "supervised_baselines",
    "task_loss",
    "task_scores",
    "train_and_evaluate",
    "Predictions",
    "DEFAULT_FRACTIONS",
    "RESULT_COLUMNS",
    "age_group",
    "append_results",
    "collect_predictions",
    "drop_images",
    "drop_mask",
    "drop_order",
    "evaluate_predictions",
    "missing_modality_sweep",
    "plot_label_draws",
    "plot_pr_curves",
    "plot_reliability",
    "plot_roc_curves",
    "plot_sweep",
    "race_group",
    "read_results",
    "result_rows",
    "sex_group",
    "subgroup_frame",
    "subgroup_metrics",
    "sweep_predictions",
    "without_images",
]
