"""Shared fixtures: one small synthetic MIMIC dataset per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

#: Size of the session dataset: small enough for seconds, large enough that
#: every cohort filter and task has something to keep and to remove.
SMALL_PATIENTS = 160
SMALL_IMAGE_SIZE = 64
SMALL_SEED = 7


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A synthetic MIMIC-IV + MIMIC-CXR-JPG data root (read-only by convention)."""
    from medmod_lib.synthetic import generate

    root = tmp_path_factory.mktemp("synthetic") / "data"
    generate(root, patients=SMALL_PATIENTS, seed=SMALL_SEED, image_size=SMALL_IMAGE_SIZE)
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def one_thread():
    """One intra-op thread: faster and steadier for tiny models on a shared 2-core machine."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def linked_run(synthetic_root, tmp_path_factory):
    """``(output_dir, processed EHR, linked cohorts, image cache)`` of the session dataset."""
    from medmod_lib import workflow

    out = tmp_path_factory.mktemp("linked-run")
    ehr = workflow.ensure_processed(synthetic_root, out)
    linked = workflow.ensure_linked(ehr, synthetic_root, out)
    cache = workflow.ensure_image_cache(synthetic_root, out, progress=False)
    return out, ehr, linked, cache
