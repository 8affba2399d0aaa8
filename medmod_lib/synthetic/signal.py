"""The planted signal: one documented table of every effect the generator plants.

Each ICU stay carries a latent clinical state ``z`` of five standard-normal
factors (:data:`FACTORS`). The factors drive the files as follows; the
coefficients below are the whole model, and ``data_cards/synthetic_demo.md``
explains the intended effect sizes.

============  ===============================================  =========================
factor        EHR files (chartevents / labevents / diagnoses)   X-ray findings (pixels)
============  ===============================================  =========================
shared        heart rate, resp. rate, lactate, sepsis/shock    lung opacity, edema,
              codes, length of stay                            support devices
lung          weakly: SpO2, FiO2, resp. rate, temperature;     opacity, consolidation,
              COPD and pneumonia codes                         pneumonia, atelectasis,
                                                               effusion (strongly)
cardiac       weakly: heart rate, blood pressure; CHF/AMI/     cardiomegaly, enlarged
              dysrhythmia codes                                cardiomediastinum, edema,
                                                               effusion (strongly)
neuro         GCS eye/verbal/motor, cerebrovascular codes      fracture (faint)
metabolic     glucose, pH, blood pressure, creatinine,         pleural other (faint),
              diabetes/renal codes                             effusion, edema (a little)
============  ===============================================  =========================

So the "lung" and "cardiac" state is drawn plainly on the films and seen by the EHR
only through weak, noisy vital signs; the "neuro" and "metabolic" state is in the EHR
(and behind two findings that are faint on a 64 px film); "shared" is in both. Each
modality therefore holds mortality information the other lacks, and the EHR adds
to the films' findings: the fusion claims of the demo rest on this. Ventilation (logistic in shared, lung and neuro)
links the two directly: "No Response-ETT" in the EHR, the ET tube on every ICU film.
These links are the structure cross-modal pretraining can find.
"""

from __future__ import annotations

import numpy as np

#: Names of the latent factors, in column order of every ``z`` array.
FACTORS: tuple[str, ...] = ("shared", "lung", "cardiac", "neuro", "metabolic")

#: In-hospital death: logit = intercept + z @ weights + age_per_year * (age - 65).
MORTALITY_INTERCEPT = -3.6
MORTALITY_WEIGHTS = np.array([0.6, 1.5, 1.4, 1.8, 1.5])
MORTALITY_AGE_PER_YEAR = 0.02

#: Fraction of a stay's latent state inherited from the patient's chronic state.
PATIENT_SHARE = 0.55

#: ICU length of stay: log(days) = log(median) + z @ weights + N(0, sd).
LOS_MEDIAN_DAYS = 2.1
LOS_WEIGHTS = np.array([0.3, 0.15, 0.05, 0.1, 0.05])
LOS_NOISE_SD = 0.65

#: Hours before death over which vitals deteriorate (exponential ramp time constant).
DETERIORATION_HOURS = 10.0

#: Continuous charted variables: baseline, effect of each factor (per SD), noise SD,
#: deterioration shift at death, and clip range (in the benchmark unit).
VITALS: dict[str, dict[str, object]] = {
    "Heart Rate": dict(base=86.0, w=[7.0, 0.1, 1.0, 0.0, 1.5], sd=9.0, det=28.0, lo=30, hi=200),
    "Systolic blood pressure": dict(
        base=120.0, w=[-6.0, 0.0, -1.5, 0.0, -9.0], sd=12.0, det=-35.0, lo=50, hi=230
    ),
    "Respiratory rate": dict(base=18.0, w=[2.5, 0.6, 0.1, 0.0, 0.5], sd=3.5, det=9.0, lo=4, hi=50),
    "Oxygen saturation": dict(
        base=96.5, w=[-0.5, -0.3, 0.0, 0.0, 0.0], sd=1.8, det=-7.0, lo=60, hi=100
    ),
    "Temperature": dict(base=37.0, w=[0.35, 0.1, 0.0, 0.0, 0.0], sd=0.45, det=-0.6, lo=33, hi=41.5),
    "Glucose": dict(base=135.0, w=[10.0, 0.0, 0.0, 0.0, 38.0], sd=30.0, det=20.0, lo=35, hi=600),
    "pH": dict(base=7.39, w=[-0.025, -0.01, 0.0, 0.0, -0.045], sd=0.035, det=-0.1, lo=6.8, hi=7.7),
    "Fraction inspired oxygen": dict(
        base=40.0, w=[4.0, 1.5, 0.1, 0.0, 0.0], sd=8.0, det=25.0, lo=21, hi=100
    ),
}

#: GCS: a neuro severity score ``g = neuro + 0.3 * shared`` lowers each component.
GCS_NEURO_WEIGHTS = np.array([0.3, 0.0, 0.0, 1.0, 0.0])

#: The 14 CheXpert findings: logit of presence = intercept + z @ weights.
#: Order of weights: shared, lung, cardiac, neuro, metabolic.
FINDINGS: dict[str, tuple[float, list[float]]] = {
    "Atelectasis": (-1.6, [0.4, 1.5, 0.0, 0.0, 0.0]),
    "Cardiomegaly": (-1.4, [0.2, 0.0, 2.7, 0.0, 0.0]),
    "Consolidation": (-2.4, [0.3, 2.25, 0.0, 0.0, 0.0]),
    "Edema": (-2.0, [0.6, 0.9, 1.8, 0.0, 0.6]),
    "Enlarged Cardiomediastinum": (-2.2, [0.1, 0.0, 2.1, 0.0, 0.0]),
    # barely visible at the demo's 64 px; trauma with a low GCS (neuro) in the EHR
    "Fracture": (-3.0, [0.3, 0.0, 0.0, 1.5, 0.0]),
    "Lung Lesion": (-3.2, [0.0, 0.75, 0.0, 0.0, 0.0]),
    "Lung Opacity": (-1.0, [0.7, 2.1, 0.3, 0.0, 0.0]),
    "Pleural Effusion": (-1.5, [0.4, 1.35, 1.35, 0.0, 0.6]),
    # barely visible; fluid overload with renal or hepatic failure (metabolic) in the EHR
    "Pleural Other": (-3.4, [0.0, 0.6, 0.0, 0.0, 1.2]),
    "Pneumonia": (-2.1, [0.5, 1.95, 0.0, 0.0, 0.0]),
    "Pneumothorax": (-3.4, [0.3, 0.9, 0.0, 0.0, 0.0]),
    "Support Devices": (-0.8, [1.2, 0.9, 0.3, 0.5, 0.0]),
}

#: Phenotypes (benchmark names): intercept, factor weights, per-year age effect.
PHENOTYPES: dict[str, tuple[float, list[float], float]] = {
    "Acute and unspecified renal failure": (-1.4, [0.6, 0.0, 0.2, 0.0, 0.9], 0.01),
    "Acute cerebrovascular disease": (-2.6, [0.0, 0.0, 0.0, 1.4, 0.0], 0.01),
    "Acute myocardial infarction": (-2.4, [0.3, 0.0, 1.1, 0.0, 0.0], 0.01),
    "Cardiac dysrhythmias": (-0.9, [0.3, 0.0, 0.9, 0.0, 0.0], 0.03),
    "Chronic kidney disease": (-1.9, [0.0, 0.0, 0.3, 0.0, 0.9], 0.03),
    "Chronic obstructive pulmonary disease and bronchiectasis": (
        -2.0,
        [0.0, 1.0, 0.0, 0.0, 0.0],
        0.02,
    ),
    "Complications of surgical procedures or medical care": (-1.8, [0.3, 0.0, 0.0, 0.0, 0.0], 0.0),
    "Conduction disorders": (-2.5, [0.0, 0.0, 0.8, 0.0, 0.0], 0.02),
    "Congestive heart failure; nonhypertensive": (-1.5, [0.2, 0.3, 1.5, 0.0, 0.0], 0.03),
    "Coronary atherosclerosis and other heart disease": (-1.2, [0.0, 0.0, 1.0, 0.0, 0.2], 0.04),
    "Diabetes mellitus with complications": (-2.3, [0.0, 0.0, 0.0, 0.0, 1.2], 0.01),
    "Diabetes mellitus without complication": (-1.6, [0.0, 0.0, 0.0, 0.0, 0.8], 0.02),
    "Disorders of lipid metabolism": (-1.0, [0.0, 0.0, 0.4, 0.0, 0.4], 0.03),
    "Essential hypertension": (-0.5, [-0.2, 0.0, 0.2, 0.0, 0.2], 0.03),
    "Fluid and electrolyte disorders": (-0.9, [0.6, 0.0, 0.0, 0.0, 0.7], 0.0),
    "Gastrointestinal hemorrhage": (-2.4, [0.4, 0.0, 0.0, 0.0, 0.2], 0.0),
    "Hypertension with complications and secondary hypertension": (
        -1.7,
        [0.0, 0.0, 0.6, 0.0, 0.6],
        0.03,
    ),
    "Other liver diseases": (-2.2, [0.3, 0.0, 0.0, 0.0, 0.7], 0.0),
    "Other lower respiratory disease": (-1.9, [0.2, 0.8, 0.0, 0.0, 0.0], 0.0),
    "Other upper respiratory disease": (-2.9, [0.0, 0.3, 0.0, 0.0, 0.0], 0.0),
    "Pleurisy; pneumothorax; pulmonary collapse": (-2.4, [0.2, 1.0, 0.0, 0.0, 0.0], 0.0),
    "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)": (
        -1.9,
        [0.5, 1.3, 0.0, 0.0, 0.0],
        0.01,
    ),
    "Respiratory failure; insufficiency; arrest (adult)": (-1.7, [0.9, 1.1, 0.2, 0.3, 0.0], 0.0),
    "Septicemia (except in labor)": (-2.0, [1.3, 0.3, 0.0, 0.0, 0.2], 0.0),
    "Shock": (-2.8, [1.5, 0.0, 0.3, 0.0, 0.3], 0.0),
}

#: Label noise: probability that a present phenotype is not coded, and that an
#: absent one is coded anyway.
PHENOTYPE_MISSED = 0.1
PHENOTYPE_SPURIOUS = 0.02
#: Radiology report noise: flip probability of a mentioned finding label, and
#: probability that a faint finding (intensity < 0.45) is reported uncertain (-1).
FINDING_FLIP = 0.04
FINDING_UNCERTAIN = 0.5


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Elementwise logistic function."""
    return 1.0 / (1.0 + np.exp(-x))
