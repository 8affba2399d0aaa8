"""Planted X-ray signal, measured on the written JPEGs and CSVs (not on latent variables).

Bands are documented in data_cards/synthetic_demo.md ("Planted signal").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from medmod_lib import cxr, paths
from medmod_lib.synthetic import generate

FINDING_AUROC_MIN = {"Cardiomegaly": 0.85, "Pleural Effusion": 0.78, "Edema": 0.78}
IMAGE_IHM_AUROC_BAND = (0.62, 0.85)
FUSED_OVER_IMAGE_MIN = 0.04
#: The films add to the EHR for mortality: the basis of the demo's fusion claims.
FUSED_OVER_EHR_MIN = 0.02
ETT_AUROC_MIN = 0.85
IMAGE_FEATURES = [
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Lung Opacity",
    "Pleural Effusion",
    "Pneumonia",
    "Support Devices",
]


def cv_auroc(x: np.ndarray, y: np.ndarray, c: float, repeats: int = 2) -> float:
    scores = []
    for seed in range(repeats):
        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
        p = cross_val_predict(
            LogisticRegression(C=c, max_iter=3000), x, y, cv=cv, method="decision_function"
        )
        scores.append(roc_auc_score(y, p))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def stays_with_films(tmp_path_factory):
    """ICU stays >= 48 h with the latest AP film of their first 48 h, pixels, EHR summary."""
    root = generate(
        tmp_path_factory.mktemp("imgsignal") / "data",
        patients=2500,
        seed=5,
        image_size=64,
        progress=False,
    )
    iv, cr = paths.mimic_iv_root(root), paths.mimic_cxr_root(root)
    icu = pd.read_csv(iv / "icu" / "icustays.csv.gz", parse_dates=["intime"])
    adm = pd.read_csv(
        iv / "hosp" / "admissions.csv.gz", usecols=["hadm_id", "hospital_expire_flag"]
    )
    icu = icu[icu["los"] >= 2].merge(adm, on="hadm_id")
    films = cxr.load_metadata(root, views=("AP",)).merge(
        icu[["subject_id", "stay_id", "intime"]], on="subject_id"
    )
    inside = (films["study_datetime"] >= films["intime"]) & (
        films["study_datetime"] <= films["intime"] + pd.Timedelta("48h")
    )
    films = films[inside].sort_values("study_datetime").drop_duplicates("stay_id", keep="last")
    labels = cxr.read_study_labels(root).drop(columns="subject_id")
    films = films.merge(labels, on="study_id", how="left").merge(
        icu[["stay_id", "hospital_expire_flag"]], on="stay_id"
    )
    pixels = np.stack(
        [
            np.asarray(Image.open(cr / p).convert("L").resize((16, 16)), np.float32).ravel()
            for p in films["path"]
        ]
    )
    pixels = (pixels - pixels.mean(0)) / (pixels.std(0) + 1e-6)
    ce = pd.read_csv(
        iv / "icu" / "chartevents.csv.gz",
        usecols=["stay_id", "charttime", "itemid", "value", "valuenum"],
        parse_dates=["charttime"],
    )
    ce = ce.merge(icu[["stay_id", "intime"]], on="stay_id")
    ce = ce[(ce["charttime"] - ce["intime"]) <= pd.Timedelta("48h")]
    # Intubated per the EHR: GCS verbal charted as "No Response-ETT" in the window.
    ett = ce.loc[(ce["itemid"] == 223900) & (ce["value"] == "No Response-ETT"), "stay_id"]
    films["ett_charted"] = films["stay_id"].isin(set(ett))
    ehr = ce.groupby(["stay_id", "itemid"])["valuenum"].agg(["mean", "min", "max"]).unstack()
    ehr = ehr.loc[:, ehr.notna().mean() > 0.3].reindex(films["stay_id"])
    ehr = ehr.fillna(ehr.median())
    ehr = ((ehr - ehr.mean()) / ehr.std()).fillna(0).to_numpy()
    films = films.reset_index(drop=True)
    films.attrs["root"] = root
    return films, pixels, ehr


@pytest.mark.slow
def test_findings_are_visible_in_pixels(stays_with_films):
    films, pixels, _ = stays_with_films
    assert len(films) > 800
    for finding, floor in FINDING_AUROC_MIN.items():
        y = (films[finding] == 1).to_numpy(int)
        auc = cv_auroc(pixels, y, c=0.05, repeats=1)
        print(f"16 x 16 pixels -> {finding}: AUROC {auc:.3f}")  # the data card's figures
        assert auc >= floor, finding


@pytest.mark.slow
def test_mortality_information_is_split_across_modalities(stays_with_films):
    """X-ray-only predicts death; EHR + X-ray beats each alone (each holds what the other lacks)."""
    films, pixels, ehr = stays_with_films
    y = films["hospital_expire_flag"].to_numpy()
    # Image features: cross-validated finding scores from pixels (an image-only model).
    image = np.stack(
        [
            cross_val_predict(
                LogisticRegression(C=0.05, max_iter=3000),
                pixels,
                (films[f] == 1).to_numpy(int),
                cv=5,
                method="decision_function",
            )
            for f in IMAGE_FEATURES
        ],
        axis=1,
    )
    image = (image - image.mean(0)) / image.std(0)
    auc_image = cv_auroc(image, y, c=0.1)
    auc_ehr = cv_auroc(ehr, y, c=0.1)
    auc_fused = cv_auroc(np.hstack([ehr, image]), y, c=0.1)
    print(f"death: X-ray {auc_image:.3f}, EHR {auc_ehr:.3f}, EHR + X-ray {auc_fused:.3f}")
    assert IMAGE_IHM_AUROC_BAND[0] <= auc_image <= IMAGE_IHM_AUROC_BAND[1], auc_image
    assert auc_fused >= auc_image + FUSED_OVER_IMAGE_MIN, (auc_fused, auc_image)
    assert auc_fused >= auc_ehr + FUSED_OVER_EHR_MIN, (auc_fused, auc_ehr)
    assert auc_ehr > auc_image, (auc_ehr, auc_image)  # the demo's "EHR-only beats X-ray-only"


@pytest.mark.slow
def test_intubation_links_the_modalities(stays_with_films):
    """Shared structure for cross-modal pretraining: the ET tube on the film <-> ETT in the EHR."""
    films, _, _ = stays_with_films
    root = paths.mimic_cxr_root(films.attrs["root"])
    crops = []
    for p in films["path"]:
        img = np.asarray(Image.open(root / p).convert("L").resize((64, 64)), np.float32)
        crops.append(img[:16, 24:40].ravel())  # the trachea above the carina
    x = np.stack(crops)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    y = films["ett_charted"].to_numpy(int)
    assert 0.2 < y.mean() < 0.7
    auc = cv_auroc(x, y, c=0.05, repeats=1)
    print(f"trachea pixels -> 'No Response-ETT' charted: AUROC {auc:.3f} ({y.mean():.0%} charted)")
    assert auc >= ETT_AUROC_MIN
