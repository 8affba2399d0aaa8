"""Fixtures of the export tests: the session dataset processed, linked and exported."""

from __future__ import annotations

import pytest

from medmod_lib import workflow
from medmod_lib.export import export_processed


@pytest.fixture(scope="session")
def kit(synthetic_root, tmp_path_factory):
    """``(processed EHR, linked cohorts)`` of the session dataset."""
    out = tmp_path_factory.mktemp("export-kit")
    ehr = workflow.ensure_processed(synthetic_root, out)
    linked = workflow.ensure_linked(ehr, synthetic_root, out)
    return ehr, linked


@pytest.fixture(scope="session")
def exports(kit, synthetic_root, tmp_path_factory):
    ehr, _ = kit
    base = tmp_path_factory.mktemp("exports")
    return {
        flavour: export_processed(
            ehr.root, base / flavour, flavour=flavour, cxr_root=synthetic_root, progress=False
        )
        for flavour in ("medfuse", "mimic3-benchmarks")
    }
