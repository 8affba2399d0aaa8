"""Subject-level split: shares, no overlap, stability when patients are added."""

from __future__ import annotations

import numpy as np
import pytest

from medmod_lib.ehr.splits import assign_splits


def test_shares_and_determinism():
    ids = np.arange(10_000_000, 10_020_000)
    a = assign_splits(ids, seed=3)
    shares = a["split"].value_counts(normalize=True)
    assert shares["train"] == pytest.approx(0.7, abs=0.015)
    assert shares["val"] == pytest.approx(0.1, abs=0.01)
    assert shares["test"] == pytest.approx(0.2, abs=0.015)
    assert a.equals(assign_splits(ids[::-1], seed=3))
    assert not a["split"].equals(assign_splits(ids, seed=4)["split"])


def test_one_split_per_subject_and_stable_under_adding_patients():
    ids = np.arange(10_000_000, 10_002_000)
    small = assign_splits(np.repeat(ids, 2), seed=0)
    assert small["subject_id"].is_unique
    big = assign_splits(np.concatenate([ids, np.arange(11_000_000, 11_005_000)]), seed=0)
    merged = small.merge(big, on="subject_id", suffixes=("_small", "_big"))
    assert len(merged) == len(ids)
    assert (merged["split_small"] == merged["split_big"]).all()


def test_bad_fractions():
    with pytest.raises(ValueError, match="fractions"):
        assign_splits([1, 2], fractions=(0.5, 0.5, 0.5))
