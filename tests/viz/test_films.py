"""medmod_lib.viz.films: thumbnails captioned with their study's CheXpert findings."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from medmod_lib.reference import CHEXPERT_LABELS  # noqa: E402
from medmod_lib.viz.films import (  # noqa: E402
    SYNTHETIC_NOTE,
    film_findings,
    show_films_with_findings,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_film_captions_list_positive_and_uncertain_findings():
    chexpert = pd.DataFrame({"subject_id": [1, 1], "study_id": [50, 51]})
    for name in CHEXPERT_LABELS:
        chexpert[name] = np.nan
    chexpert.loc[0, ["Edema", "Support Devices", "Atelectasis"]] = [1.0, 1.0, -1.0]
    chexpert.loc[1, "Edema"] = 0.0
    films = pd.DataFrame({"dicom_id": ["a" * 8, "b" * 8, "c" * 8], "study_id": [50, 51, 52]})
    captions = film_findings(films, chexpert)
    assert captions == ["+ Edema, Support Devices; ? Atelectasis", "no positive finding",
                        "no CheXpert row"]  # fmt: skip

    class Cache:
        def get(self, dicom_id: str) -> np.ndarray:
            return np.zeros((8, 8), np.uint8)

    fig = show_films_with_findings(Cache(), films, chexpert, synthetic=True)
    assert SYNTHETIC_NOTE in fig._suptitle.get_text()
    assert "? Atelectasis" in fig.axes[0].get_xlabel()
    real = show_films_with_findings(Cache(), films.head(1), chexpert, synthetic=False)
    assert "SYNTHETIC" not in real._suptitle.get_text()
