"""Headline claims of a run, each checked on the run's own test predictions.

A claim says that model ``a`` scores higher than model ``b`` on one task and one
test set. Its verdict comes from the paired bootstrap of the *difference*
``metric(a) - metric(b)`` on the same test stays (both models scored on the
same resamples): the claim **holds** when the 95 % interval of the difference
lies above 0, is **reversed** when it lies below 0, and is **not resolved**
otherwise. Two separate intervals that overlap say little: a difference can be
consistent although each model's own interval is wide.

The notebooks that produce a claim's models compute its verdict
(:func:`check_claim`) and save it with ``ctx.save_claims``; the runner collects
every notebook's verdicts into ``reports/<run>/claims.csv`` and shows them first
on the report's index page. The claims the synthetic demo is built to show are
listed in :data:`DEMO_CLAIMS`.

Example::

    from medmod_lib.evaluation import claims
    claim = claims.find(claims.DEMO_CLAIMS, "radiology.xray_beats_ehr")
    row = claims.check_claim(
        claim, results["cxr_only/supervised/cxr"], results["ehr_only/supervised/ehr"],
        test_set="paired", seed=0,
    )
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..metrics import N_BOOT
from ..metrics.bootstrap import PairedResult
from ..reference import Task
from ..runner.results import CLAIM_COLUMNS
from ..tasks import task_spec
from .fitting import ProtocolResult
from .predict import Predictions
from .protocols import compare_predictions

#: The three verdicts, from the 95 % interval of ``a - b``.
HELD, NOT_RESOLVED, REVERSED = "held", "not resolved", "reversed"


@dataclass(frozen=True)
class Claim:
    """One headline claim: ``a`` scores higher than ``b``.

    Attributes:
        key: stable identifier, ``<task short name>.<what>``, e.g. ``radiology.xray_beats_ehr``.
        task: the task; its monitored metric (``TaskSpec.monitor``) is compared.
        notebook: the notebook whose run produces both models (and the verdict).
        statement: the claim in words, e.g. "X-ray-only beats EHR-only".
        why: the planted effect (synthetic data) or the reason to expect it.
    """

    key: str
    task: str
    notebook: str
    statement: str
    why: str


#: The demo's headline claims (``data_cards/synthetic_demo.md``, "What the demo shows"),
#: sized to hold on the default synthetic data (:mod:`medmod_lib.synthetic.signal` plants
#: the effects). The notebook named in each claim checks it on every run.
DEMO_CLAIMS: tuple[Claim, ...] = (
    Claim(
        "mortality.fusion_beats_single",
        "in-hospital-mortality",
        "03_linear_eval",
        "the best fusion model beats the best single modality",
        "the films carry the lung and cardiac state, the EHR the neuro and metabolic "
        "state: each modality holds mortality information the other lacks",
    ),
    Claim(
        "mortality.ehr_beats_xray",
        "in-hospital-mortality",
        "03_linear_eval",
        "EHR-only beats X-ray-only",
        "the EHR sees every factor (some through noisy vital signs), the film only the "
        "shared, lung and cardiac ones",
    ),
    Claim(
        "mortality.pretrained_beats_random",
        "in-hospital-mortality",
        "03_linear_eval",
        "the linear probe on pretrained features beats the same probe on random encoders",
        "cross-modal pretraining aligns what the two modalities share (the shared "
        "factor, intubation)",
    ),
    Claim(
        "radiology.fusion_beats_single",
        "radiology",
        "03_linear_eval",
        "the best fusion model beats the best single modality",
        "the EHR adds the latent state behind each finding and the intubation "
        "(GCS 'No Response-ETT') behind Support Devices",
    ),
    Claim(
        "radiology.xray_beats_ehr",
        "radiology",
        "03_linear_eval",
        "X-ray-only beats EHR-only",
        "the findings are drawn on the film",
    ),
    Claim(
        "radiology.pretrained_beats_random",
        "radiology",
        "03_linear_eval",
        "the linear probe on pretrained features beats the same probe on random encoders",
        "pretraining on stay-film pairs shapes the X-ray features around the film's findings",
    ),
    Claim(
        "mortality.films_help_partial_model",
        "in-hospital-mortality",
        "04_missing_modality",
        "the partial-trained fusion model scores higher with every film than with none",
        "the films carry mortality information that the EHR lacks",
    ),
    Claim(
        "radiology.films_help_fusion_model",
        "radiology",
        "04_missing_modality",
        "the fusion model scores higher with every film than with none",
        "the findings are drawn on the film",
    ),
    Claim(
        "mortality.partial_beats_paired_training",
        "in-hospital-mortality",
        "04_missing_modality",
        "on the partial test set, the partial-trained model beats the paired-trained one",
        "a model trained only on stays with a film never learnt to predict without one",
    ),
)


#: The claims of notebook 06 (MEDIMP-style prompt pretraining), checked on every run of it.
#: MEDIMP's argument is about limited labels, so both compare linear probes fitted on the
#: smallest share of the training labels the run uses (10 % by default; the ``a`` and ``b``
#: names of a verdict carry the share).
PROMPT_CLAIMS: tuple[Claim, ...] = (
    Claim(
        "radiology.prompt_pretraining_beats_random",
        "radiology",
        "06_clinical_prompts",
        "with limited labels, the probe on prompt-pretrained X-ray features beats the same "
        "probe on a random encoder",
        "the prompts state intubation (the ET tube on the film) and, weakly, the lung and "
        "shared state behind the findings, so aligning films with them shapes the features",
    ),
    Claim(
        "mortality.prompt_pretraining_beats_random",
        "in-hospital-mortality",
        "06_clinical_prompts",
        "with limited labels, the probe on prompt-pretrained X-ray features beats the same "
        "probe on a random encoder",
        "the prompts carry the shared and neuro state that drives mortality",
    ),
)


def find(claims: Iterable[Claim], key: str) -> Claim:
    """The claim named ``key``.

    Raises:
        KeyError: no such claim (the message lists the known keys).
    """
    claims = list(claims)
    for claim in claims:
        if claim.key == key:
            return claim
    raise KeyError(f"no claim {key!r}; known: {[c.key for c in claims]}")


def of_notebook(claims: Iterable[Claim], notebook: str) -> list[Claim]:
    """The claims that ``notebook`` checks, in their listed order."""
    return [c for c in claims if c.notebook == notebook]


def verdict(ci_low: float, ci_high: float) -> str:
    """:data:`HELD` if the interval of ``a - b`` is above 0, :data:`REVERSED` if below."""
    if np.isfinite(ci_low) and ci_low > 0:
        return HELD
    if np.isfinite(ci_high) and ci_high < 0:
        return REVERSED
    return NOT_RESOLVED


def claim_row(
    claim: Claim, diff: PairedResult, *, a: str, b: str, test_set: str, seed: int
) -> dict[str, Any]:
    """One row of a claims table from a paired bootstrap of ``a - b``."""
    return {
        "claim": claim.key,
        "task": Task.parse(claim.task).value,
        "notebook": claim.notebook,
        "statement": claim.statement,
        "a": a,
        "b": b,
        "test_set": test_set,
        "metric": diff.metric,
        "value_a": diff.value_a,
        "value_b": diff.value_b,
        "diff": diff.diff,
        "ci_low": diff.ci_low,
        "ci_high": diff.ci_high,
        "n": diff.n,
        "n_boot": diff.n_boot,
        "seed": seed,
        "verdict": verdict(diff.ci_low, diff.ci_high),
    }


def check_claim(
    claim: Claim,
    a: ProtocolResult | Predictions,
    b: ProtocolResult | Predictions,
    *,
    test_set: str,
    seed: int,
    a_name: str | None = None,
    b_name: str | None = None,
    n_boot: int = N_BOOT,
    bootstrap_seed: int = 0,
) -> dict[str, Any]:
    """The verdict of ``claim`` from the two models' predictions on the same test stays.

    Args:
        claim: what is claimed.
        a, b: the model claimed higher and the one claimed lower: trained results
            (their test predictions are used) or :class:`Predictions` of the same
            test set (e.g. one model with and without its images).
        test_set: name of the test set both were scored on (``paired``, ``partial``).
        seed: the run's seed (stored).
        a_name, b_name: labels; default the results' ``method/protocol/modality``.
        n_boot, bootstrap_seed: paired bootstrap settings.

    Returns:
        One row with :data:`CLAIM_COLUMNS`.
    """
    task = Task.parse(claim.task)
    pa = a.predictions if isinstance(a, ProtocolResult) else a
    pb = b.predictions if isinstance(b, ProtocolResult) else b
    a_name = a_name or (a.name if isinstance(a, ProtocolResult) else "a")
    b_name = b_name or (b.name if isinstance(b, ProtocolResult) else "b")
    diff = compare_predictions(
        task, pa, pb, metric=task_spec(task).monitor, n_boot=n_boot, seed=bootstrap_seed
    )
    return claim_row(claim, diff, a=a_name, b=b_name, test_set=test_set, seed=seed)


def best_on_validation(
    results: Mapping[str, ProtocolResult], names: Sequence[str]
) -> ProtocolResult:
    """Among ``results[name]`` for ``names`` present, the one with the best validation score.

    The choice uses validation only, so the test comparison that follows is not
    biased by picking the test set's winner. Ties keep the first listed.

    Raises:
        ValueError: none of ``names`` was trained.
    """
    present = [results[n] for n in names if n in results]
    if not present:
        raise ValueError(f"none of {list(names)} in the results ({sorted(results)})")

    def score(r: ProtocolResult) -> float:
        return float(r.best_score) if r.best_score is not None else float("-inf")

    return max(present, key=score)


def without_images(p: Predictions) -> Predictions:
    """The same test samples scored with every image removed (for "films help" claims).

    Raises:
        ValueError: the predictions were collected without ``also_without_images``.
    """
    if p.scores_without_images is None:
        raise ValueError("collect the predictions with also_without_images=True")
    return Predictions(p.y_true, p.scores_without_images, np.zeros_like(p.paired), p.stay_id)


def claims_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows of :func:`check_claim` as a table with :data:`CLAIM_COLUMNS` (empty is fine)."""
    return pd.DataFrame(list(rows), columns=list(CLAIM_COLUMNS))


def print_verdicts(table: pd.DataFrame) -> None:
    """One line per claim: statement, difference with its interval, verdict."""
    if table.empty:
        print("No claims checked in this run.")
        return
    for r in table.itertuples():
        print(
            f"- [{r.verdict.upper()}] {r.task}: {r.statement} ({r.test_set} test set, n={r.n}): "
            f"{r.a} {r.value_a:.3f} vs {r.b} {r.value_b:.3f}, difference {r.diff:+.3f} "
            f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}] {r.metric}"
        )
