"""Label policies and labeler files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cxr_release import dicom_id, write_release

from medmod_lib.cxr.labels import apply_policy, policy_table, read_study_labels
from medmod_lib.reference import CHEXPERT_LABELS

RAW = np.array([[1.0, 0.0, -1.0, np.nan]])


@pytest.mark.parametrize(
    ("policy", "targets", "mask"),
    [
        ("zeros", [1, 0, 0, 0], [1, 1, 1, 1]),
        ("ones", [1, 0, 1, 0], [1, 1, 1, 1]),
        ("ignore", [1, 0, 0, 0], [1, 1, 0, 0]),
    ],
)
def test_policies(policy, targets, mask):
    t, m = apply_policy(RAW, policy)
    assert t.dtype == np.float32 and m.dtype == np.float32
    np.testing.assert_array_equal(t, [targets])
    np.testing.assert_array_equal(m, [mask])


def test_unknown_policy():
    with pytest.raises(ValueError, match=r"'zeros', 'ones', 'ignore'"):
        apply_policy(RAW, "u-zeros")


def test_policy_table_nan_marks_unknown_under_ignore():
    raw = pd.DataFrame(
        [[10, 50, *([1.0, 0.0, -1.0, np.nan] + [0.0] * 10)]],
        columns=["subject_id", "study_id", *CHEXPERT_LABELS],
    )
    ignore = policy_table(raw, "ignore")[list(CHEXPERT_LABELS)].to_numpy()[0]
    assert ignore[:2].tolist() == [1.0, 0.0] and np.isnan(ignore[2:4]).all()
    ones = policy_table(raw, "ones")[list(CHEXPERT_LABELS)].to_numpy()[0]
    assert ones[:4].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert raw.iloc[0, 4] == -1.0  # input untouched


def test_labelers_and_bad_values(tmp_path):
    rows = [{"dicom_id": dicom_id(1), "subject_id": 1, "study_id": 5}]
    rel = write_release(tmp_path, rows, labels={5: [1.0] + [0.0] * 13})
    neg = rel / "mimic-cxr-2.0.0-negbio.csv.gz"
    df = pd.read_csv(neg)
    df["Edema"] = -1.0
    df.to_csv(neg, index=False)
    assert read_study_labels(tmp_path)["Edema"].tolist() == [0.0]
    assert read_study_labels(tmp_path, labeler="negbio")["Edema"].tolist() == [-1.0]
    with pytest.raises(ValueError, match="Unknown labeler"):
        read_study_labels(tmp_path, labeler="chexbert")
    df["Edema"] = 2.0
    df.to_csv(neg, index=False)
    with pytest.raises(ValueError, match=r"negbio\.csv\.gz: 1 label values .*'Edema' = 2\.0"):
        read_study_labels(tmp_path, labeler="negbio")
