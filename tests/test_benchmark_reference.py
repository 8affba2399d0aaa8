"""The speed baseline of ``benchmarks/ehr_extract.py`` computes what the kit computes.

``benchmarks/mimic3_reference.py`` re-creates the mimic3-benchmarks path
(per-subject events, episode timeseries, Python-loop discretizer). A ratio
against it only means something if it does the same work: on a channel where
the kit fixes no reference bug (heart rate: no conversion, no range hit), its
hourly values and masks must equal the kit's.
"""

from __future__ import annotations

import gzip
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def m3(repo_root):
    sys.path.insert(0, str(repo_root / "benchmarks"))
    try:
        import mimic3_reference

        yield mimic3_reference
    finally:
        sys.path.remove(str(repo_root / "benchmarks"))


def test_reference_path_matches_the_kit_on_heart_rate(m3, synthetic_root, linked_run, tmp_path):
    from medmod_lib import reference
    from medmod_lib.paths import mimic_iv_root

    _, ehr, _, _ = linked_run
    stays = ehr.stays[["subject_id", "stay_id", "intime", "outtime"]]
    chart = mimic_iv_root(synthetic_root) / "icu" / "chartevents.csv.gz"
    itemids = {str(i) for i in reference.itemid_map()["itemid"]}
    rows = m3.break_up_by_subject(
        chart, itemids, {str(s) for s in stays["stay_id"]}, 10**9, tmp_path
    )
    with gzip.open(chart, "rt") as fh:
        assert rows == sum(1 for _ in fh) - 1  # every data row read
    assert m3.extract_episodes(tmp_path, stays) > 0

    names = ehr.header
    hr, mask = names.index("Heart Rate"), names.index("mask->Heart Rate")
    disc = m3._Discretizer()
    index = ehr.index
    # the kit drops physiologically impossible values (README decisions: range filter);
    # mimic3-benchmarks keeps them, so a stay with an HR artefact (0 or 999) is not compared
    low, high = reference.variable_ranges().loc["Heart Rate", ["OUTLIER LOW", "OUTLIER HIGH"]]
    compared = artefacts = 0
    for subject_dir in sorted(p for p in tmp_path.iterdir() if p.is_dir())[:20]:
        subject = stays[stays["subject_id"] == int(subject_dir.name)].sort_values("intime")
        for k, stay_id in enumerate(subject["stay_id"], start=1):
            path = subject_dir / f"episode{k}_timeseries.csv"
            if not path.is_file() or index.loc[stay_id, "n_bins"] < 1:
                continue
            ref = disc.transform(*m3._read_timeseries(path))
            assert ref.shape[1] == len(names) == 76
            if ((ref[:, hr] < low) | (ref[:, hr] > high)).any():
                artefacts += 1
                continue
            ours = ehr.inputs(stay_id, int(index.loc[stay_id, "n_bins"]))
            n = min(len(ref), len(ours))
            np.testing.assert_allclose(ref[:n, hr], ours[:n, hr], rtol=1e-6)
            np.testing.assert_array_equal(ref[:n, mask], ours[:n, mask])
            compared += 1
    assert compared >= 10 and artefacts <= compared
