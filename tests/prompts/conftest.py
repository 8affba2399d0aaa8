"""Processed EHR and linked cohorts of the session's synthetic data, shared by the prompt tests."""

from __future__ import annotations

import numpy as np
import pytest

from medmod_lib import workflow


@pytest.fixture(scope="session")
def linked(synthetic_root, tmp_path_factory):
    """``(ProcessedEHR, LinkedData, run folder)`` built once per session."""
    out = tmp_path_factory.mktemp("prompt-run")
    ehr = workflow.ensure_processed(synthetic_root, out)
    return ehr, workflow.ensure_linked(ehr, synthetic_root, out), out


class CountingEncoder:
    """A frozen 3-d 'encoder' that counts the texts it embedded (no model download)."""

    name = "counting-test-encoder"

    def __init__(self) -> None:
        self.calls, self.texts = 0, 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return np.array([[len(t), t.count(" "), t.count("a")] for t in texts], np.float32)


@pytest.fixture
def counting_encoder() -> CountingEncoder:
    return CountingEncoder()
