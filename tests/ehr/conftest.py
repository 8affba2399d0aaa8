"""Fixtures of the EHR tests: hand-written releases and a one-call extractor."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mimic_tables import write_release  # noqa: E402

from medmod_lib.ehr import (  # noqa: E402
    CohortConfig,
    MimicIVReader,
    SkipLog,
    VariableConfig,
    build_cohort,
    extract_events,
    fetch_events,
)
from medmod_lib.ehr.events import CHANNELS, clean_chunk, value_strings  # noqa: E402


def extract(
    tmp_path: Path,
    stays: list[dict],
    chartevents=(),
    labevents=(),
    config: VariableConfig | None = None,
    cohort: CohortConfig | None = None,
    **kwargs,
):
    """Write a release, run cohort + variable extraction; return (events, skips, stats)."""
    root = write_release(tmp_path / "raw", stays, chartevents, labevents, **kwargs)
    reader = MimicIVReader(root)
    skips = SkipLog()
    try:
        cohort_stays, _ = build_cohort(reader, cohort, skips)
        stats = extract_events(reader, cohort_stays, config, skips)
        arrays = fetch_events(reader, 0, 2**62)
    finally:
        reader.close()
    arrays, counts = clean_chunk(arrays, (config or VariableConfig()).derive_gcs_total)
    skips.add("events", "exact duplicate rows", counts.duplicates)
    skips.add(
        "events",
        "same-time values of one channel (benchmark: largest number or string)",
        counts.same_time,
    )
    stats.gcs_total_derived = counts.gcs_total_derived
    events = pd.DataFrame(
        {
            "stay_id": arrays["stay_id"],
            "hours": arrays["hours"],
            "channel": [CHANNELS[c] for c in arrays["ch"]],
            "value": value_strings(arrays["ch"], arrays["v"]),
        }
    )
    return events, skips, stats


@pytest.fixture
def run_extract(tmp_path):
    def _run(*args, **kwargs) -> tuple[pd.DataFrame, SkipLog, object]:
        return extract(tmp_path, *args, **kwargs)

    return _run
