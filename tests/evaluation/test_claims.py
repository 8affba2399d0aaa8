"""Claims: verdicts from the paired bootstrap of the difference, model choice on validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from medmod_lib.evaluation import claims
from medmod_lib.evaluation.predict import Predictions
from medmod_lib.metrics import compare_models
from medmod_lib.runner.results import CLAIM_COLUMNS

CLAIM = claims.Claim("mortality.test", "in-hospital-mortality", "03_linear_eval", "a beats b", "x")


def _predictions(seed: int = 0, n: int = 300):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    good = 1 / (1 + np.exp(-(2.5 * (2 * y - 1) + rng.normal(0, 1.0, n))))
    noise = rng.random(n)
    ids = np.arange(n, dtype=np.int64) + 100
    paired = np.ones(n, bool)

    def p(s):
        return Predictions(y.reshape(-1, 1), s.reshape(-1, 1), paired, ids)

    return y, good, noise, p


def test_verdict_reads_the_interval_of_the_difference():
    assert claims.verdict(0.01, 0.2) == claims.HELD
    assert claims.verdict(-0.2, -0.01) == claims.REVERSED
    assert claims.verdict(-0.01, 0.2) == claims.NOT_RESOLVED
    assert claims.verdict(float("nan"), float("nan")) == claims.NOT_RESOLVED


def test_check_claim_equals_the_paired_bootstrap_and_names_the_verdict():
    y, good, noise, p = _predictions()
    row = claims.check_claim(
        CLAIM,
        p(good),
        p(noise),
        test_set="paired",
        seed=3,
        a_name="good",
        b_name="noise",
        n_boot=200,
    )
    assert list(row) == list(CLAIM_COLUMNS)
    ref = compare_models(y, good, noise, metric="auroc", n_boot=200, seed=0)
    assert row["diff"] == pytest.approx(ref.diff)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
    assert row["verdict"] == claims.HELD and row["seed"] == 3 and row["n"] == len(y)
    # the same two models the other way round: the claim is reversed, not merely unresolved
    back = claims.check_claim(CLAIM, p(noise), p(good), test_set="paired", seed=3, n_boot=200)
    assert back["verdict"] == claims.REVERSED
    assert back["diff"] == pytest.approx(-row["diff"])
    # a model against itself cannot be resolved
    same = claims.check_claim(CLAIM, p(good), p(good), test_set="paired", seed=3, n_boot=200)
    assert same["verdict"] == claims.NOT_RESOLVED and same["diff"] == 0


def test_films_claim_compares_one_model_with_and_without_its_images():
    y, good, noise, p = _predictions()
    with_images = dataclasses.replace(p(good), scores_without_images=noise.reshape(-1, 1))
    row = claims.check_claim(
        CLAIM,
        with_images,
        claims.without_images(with_images),
        test_set="paired",
        seed=0,
        n_boot=100,
    )
    assert row["value_a"] > row["value_b"] and row["verdict"] == claims.HELD
    with pytest.raises(ValueError, match="also_without_images"):
        claims.without_images(p(good))


def test_best_on_validation_never_looks_at_the_test_set():
    from types import SimpleNamespace

    results = {
        "a": SimpleNamespace(best_score=0.7, test=0.9),
        "b": SimpleNamespace(best_score=0.8, test=0.5),
        "c": SimpleNamespace(best_score=None, test=1.0),
    }
    assert claims.best_on_validation(results, ["a", "b", "c", "missing"]) is results["b"]
    with pytest.raises(ValueError, match="none of"):
        claims.best_on_validation(results, ["x"])


def test_demo_claims_name_known_notebooks_and_unique_keys():
    keys = [c.key for c in claims.DEMO_CLAIMS]
    assert len(keys) == len(set(keys))
    assert {c.notebook for c in claims.DEMO_CLAIMS} == {"03_linear_eval", "04_missing_modality"}
    assert claims.find(claims.DEMO_CLAIMS, "radiology.xray_beats_ehr").task == "radiology"
    with pytest.raises(KeyError, match="known"):
        claims.find(claims.DEMO_CLAIMS, "nope")


def test_claims_round_trip_through_the_runner_files(tmp_path):
    from medmod_lib.runner.results import combine_claims, save_claims

    _, good, noise, p = _predictions()
    rows = [
        claims.check_claim(CLAIM, p(good), p(noise), test_set="paired", seed=s, n_boot=50)
        for s in (1, 0)
    ]
    frame = claims.claims_frame(rows)
    a = save_claims(frame.iloc[:1], tmp_path, "03_linear_eval_s1")
    b = save_claims(frame.iloc[1:], tmp_path, "03_linear_eval_s0")
    (tmp_path / "claims" / "bad.csv").write_text("claim,oops\nx,1\n")
    combined = combine_claims(sorted((tmp_path / "claims").glob("*.csv")))
    assert combined.table["seed"].tolist() == [0, 1]  # sorted, so reruns compare equal
    assert [p.name for p, _ in combined.skipped] == ["bad.csv"]
    assert {a, b} <= set(combined.files)
    with pytest.raises(ValueError, match="claims columns"):
        save_claims(pd.DataFrame({"claim": ["x"]}), tmp_path, "x")
