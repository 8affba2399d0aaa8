"""On the synthetic linked run: no radiology sample's EHR input has an event after its film."""

from __future__ import annotations

import numpy as np
import pandas as pd

from medmod_lib import workflow
from medmod_lib.ehr.discretizer import discretize_events
from medmod_lib.ehr.windows import long_events
from medmod_lib.reference import Task


def test_radiology_inputs_equal_the_benchmark_up_to_the_film(linked_run):
    _, ehr, linked, cache = linked_run
    data = workflow.task_datasets(linked, ehr, cache, task=Task.RADIOLOGY, mode="paired")
    events = long_events(ehr.timeseries())
    checked = inside = leaked = 0
    for ds in (data.train, data.val, data.test):
        samples = ds.samples
        ends = samples["period_length"].to_numpy(float)
        inside += int(((np.ceil(ends) - ends) > 1e-6).sum())
        for i in range(len(ds)):
            stay, end = int(samples.at[i, "stay_id"]), float(ends[i])
            seen = events[(events["stay_id"] == stay) & (events["hours"] < end + 1e-6)]
            want = discretize_events(seen, pd.Series([end], index=[stay]))[0]
            n = len(want)
            got = ehr.window(stay, end)
            np.testing.assert_array_equal(got[:n], want, err_msg=f"stay {stay} at {end} h")
            item = ds[i]["ehr"]
            assert item.shape[0] == max(n, 1)
            np.testing.assert_allclose(item[:n], ds.normalizer.transform(want), rtol=1e-6)
            whole = ehr.inputs(stay, max(n, 1))[:n]
            leaked += not np.array_equal(whole, want)  # what whole bins would have shown
            checked += 1
    assert checked > 20 and inside > 0.9 * checked  # films fall inside an hour
    assert leaked > 0  # the synthetic charting does put events after films in their hour
