"""Planted signal, measured on the written files (not on the latent variables)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict

from medmod_lib import paths
from medmod_lib.synthetic import generate

#: Documented in data_cards/synthetic_demo.md.
EHR_IHM_AUROC_BAND = (0.72, 0.92)


@pytest.fixture(scope="module")
def medium_root(tmp_path_factory):
    out = tmp_path_factory.mktemp("signal") / "data"
    return generate(out, patients=1200, seed=11, images=False, progress=False)


@pytest.mark.slow
def test_ehr_first_48h_predicts_ihm(medium_root):
    iv = paths.mimic_iv_root(medium_root)
    icu = pd.read_csv(iv / "icu" / "icustays.csv.gz", parse_dates=["intime"])
    adm = pd.read_csv(iv / "hosp" / "admissions.csv.gz")
    cols = ["stay_id", "charttime", "itemid", "valuenum"]
    ce = pd.read_csv(iv / "icu" / "chartevents.csv.gz", usecols=cols, parse_dates=["charttime"])
    icu = icu[icu["los"] >= 2].merge(adm[["hadm_id", "hospital_expire_flag"]], on="hadm_id")
    ce = ce.merge(icu[["stay_id", "intime"]], on="stay_id")
    ce = ce[(ce["charttime"] - ce["intime"]) <= pd.Timedelta("48h")]
    f = ce.groupby(["stay_id", "itemid"])["valuenum"].agg(["mean", "min", "max"]).unstack()
    f.columns = [f"{a}_{b}" for a, b in f.columns]
    f = f[[c for c in f.columns if f[c].notna().mean() > 0.3]].reindex(icu["stay_id"])
    x = f.fillna(f.median())
    x = ((x - x.mean()) / x.std()).fillna(0)
    y = icu["hospital_expire_flag"].to_numpy()
    assert 0.08 < y.mean() < 0.35
    model = LogisticRegression(C=0.1, max_iter=2000)
    p = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    auc = roc_auc_score(y, p)
    print(f"EHR first 48 h -> in-hospital death: AUROC {auc:.3f}")  # the data card's figure
    assert EHR_IHM_AUROC_BAND[0] <= auc <= EHR_IHM_AUROC_BAND[1], auc
