"""ICD diagnosis codes: the phenotype codes the generator writes, with their titles.

ICD-9 admissions get the codes of :data:`PHENOTYPE_CODES`, each listed in the
CCS group it stands for in ``icd_9_10_definitions_2.yaml`` (a test checks this).
ICD-10 admissions get a code drawn uniformly from the *whole* AHRQ CCS for
ICD-10-CM v2019.1 category of the phenotype (:func:`icd10_options`), most of
them absent from the benchmark YAML (J9601, I480, E1122, ...), so the labeller's
ICD-10 mapping is exercised; the ICD-10 background codes include one that CCS
v2019.1 does not list (U071, created in 2020), counted as unmapped. Codes are
written without dots with their long titles for ``hosp/d_icd_diagnoses``. ICD-9
codes include leading zeros (``0389``) and V/E codes; they are kept as strings.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from .. import reference
from . import signal

#: Benchmark phenotype -> ((ICD-9 code, title), ...), ((typical ICD-10 code, title), ...).
#: The generator writes the ICD-9 codes; ICD-10 codes come from :func:`icd10_options`
#: (the typical codes are listed for reference and checked to lie in that category).
PHENOTYPE_CODES: dict[str, tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    "Acute and unspecified renal failure": (
        (("5849", "Acute kidney failure, unspecified"),),
        (("N179", "Acute kidney failure, unspecified"),),
    ),
    "Acute cerebrovascular disease": (
        (("431", "Intracerebral hemorrhage"), ("430", "Subarachnoid hemorrhage")),
        (("I619", "Nontraumatic intracerebral hemorrhage, unspecified"),),
    ),
    "Acute myocardial infarction": (
        (("41071", "Subendocardial infarction, initial episode of care"),),
        (
            (
                "I2109",
                "ST elevation (STEMI) myocardial infarction involving other coronary artery of anterior wall",
            ),
        ),
    ),
    "Cardiac dysrhythmias": (
        (("42731", "Atrial fibrillation"),),
        (("I4891", "Unspecified atrial fibrillation"),),
    ),
    "Chronic kidney disease": (
        (("5859", "Chronic kidney disease, unspecified"), ("V4511", "Renal dialysis status")),
        (("N189", "Chronic kidney disease, unspecified"),),
    ),
    "Chronic obstructive pulmonary disease and bronchiectasis": (
        (("496", "Chronic airway obstruction, not elsewhere classified"),),
        (("J449", "Chronic obstructive pulmonary disease, unspecified"),),
    ),
    "Complications of surgical procedures or medical care": (
        (
            ("99859", "Other postoperative infection"),
            ("9974", "Digestive system complications, not elsewhere classified"),
        ),
        (("T814XXA", "Infection following a procedure, initial encounter"),),
    ),
    "Conduction disorders": (
        (("4260", "Atrioventricular block, complete"), ("V4501", "Cardiac pacemaker in situ")),
        (("I442", "Atrioventricular block, complete"),),
    ),
    "Congestive heart failure; nonhypertensive": (
        (("4280", "Congestive heart failure, unspecified"),),
        (("I509", "Heart failure, unspecified"),),
    ),
    "Coronary atherosclerosis and other heart disease": (
        (("41401", "Coronary atherosclerosis of native coronary artery"),),
        (
            (
                "I2510",
                "Atherosclerotic heart disease of native coronary artery without angina pectoris",
            ),
        ),
    ),
    "Diabetes mellitus with complications": (
        (
            (
                "25040",
                "Diabetes with renal manifestations, type II or unspecified type, not stated as uncontrolled",
            ),
        ),
        (("E1165", "Type 2 diabetes mellitus with hyperglycemia"),),
    ),
    "Diabetes mellitus without complication": (
        (
            (
                "25000",
                "Diabetes mellitus without mention of complication, type II or unspecified type, not stated as uncontrolled",
            ),
        ),
        (("E119", "Type 2 diabetes mellitus without complications"),),
    ),
    "Disorders of lipid metabolism": (
        (("2724", "Other and unspecified hyperlipidemia"),),
        (("E785", "Hyperlipidemia, unspecified"),),
    ),
    "Essential hypertension": (
        (("4019", "Unspecified essential hypertension"),),
        (("I10", "Essential (primary) hypertension"),),
    ),
    "Fluid and electrolyte disorders": (
        (("2761", "Hyposmolality and/or hyponatremia"), ("2762", "Acidosis")),
        (("E871", "Hypo-osmolality and hyponatremia"),),
    ),
    "Gastrointestinal hemorrhage": (
        (("5789", "Hemorrhage of gastrointestinal tract, unspecified"),),
        (("K922", "Gastrointestinal hemorrhage, unspecified"),),
    ),
    "Hypertension with complications and secondary hypertension": (
        (
            (
                "40391",
                "Hypertensive chronic kidney disease, unspecified, with chronic kidney disease stage V or end stage renal disease",
            ),
        ),
        (
            (
                "I129",
                "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease",
            ),
        ),
    ),
    "Other liver diseases": (
        (("5723", "Portal hypertension"),),
        (("K766", "Portal hypertension"),),
    ),
    "Other lower respiratory disease": (
        (("514", "Pulmonary congestion and hypostasis"),),
        (("R0602", "Shortness of breath"),),
    ),
    "Other upper respiratory disease": (
        (("4781", "Other diseases of nasal cavity and sinuses"),),
        (("J342", "Deviated nasal septum"),),
    ),
    "Pleurisy; pneumothorax; pulmonary collapse": (
        (("5119", "Unspecified pleural effusion"),),
        (("J939", "Pneumothorax, unspecified"),),
    ),
    "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)": (
        (("486", "Pneumonia, organism unspecified"), ("00322", "Salmonella pneumonia")),
        (("J189", "Pneumonia, unspecified organism"),),
    ),
    "Respiratory failure; insufficiency; arrest (adult)": (
        (("51881", "Acute respiratory failure"),),
        (("J9600", "Acute respiratory failure, unspecified whether with hypoxia or hypercapnia"),),
    ),
    "Septicemia (except in labor)": (
        (("0389", "Unspecified septicemia"), ("99591", "Sepsis")),
        (("A419", "Sepsis, unspecified organism"),),
    ),
    "Shock": (
        (("78552", "Septic shock"),),
        (("R6521", "Severe sepsis with septic shock"),),
    ),
}

#: Codes outside the 25 benchmark groups, written as background diagnoses (U071:
#: not in CCS for ICD-10-CM v2019.1, so the pipeline counts it as unmapped).
OTHER_CODES: tuple[tuple[str, int, str], ...] = (
    ("V5861", 9, "Long-term (current) use of anticoagulants"),
    ("V1582", 9, "Personal history of tobacco use"),
    ("E8497", 9, "Accidents occurring in residential institution"),
    ("3051", 9, "Tobacco use disorder"),
    ("2859", 9, "Anemia, unspecified"),
    ("Z7901", 10, "Long term (current) use of anticoagulants"),
    ("Z87891", 10, "Personal history of nicotine dependence"),
    ("D649", 10, "Anemia, unspecified"),
    ("Y929", 10, "Unspecified place or not applicable"),
    ("U071", 10, "COVID-19"),
)


@cache
def icd10_options(phenotype: str) -> tuple[tuple[str, str], ...]:
    """Every ICD-10-CM code of ``phenotype``'s CCS v2019.1 category, with its title, sorted."""
    table = reference.ccs_icd10cm()
    ccs = reference.phenotype_ccs_categories()[phenotype]
    rows = table[table["ccs_category"] == ccs].sort_values("icd_code")
    return tuple(zip(rows["icd_code"], rows["long_title"], strict=True))


def d_icd_diagnoses() -> pd.DataFrame:
    """All codes the generator can write, with titles (``hosp/d_icd_diagnoses`` rows)."""
    rows = []
    for name, (icd9, _) in PHENOTYPE_CODES.items():
        rows += [(c, 9, t) for c, t in icd9] + [(c, 10, t) for c, t in icd10_options(name)]
    rows += list(OTHER_CODES)
    df = pd.DataFrame(rows, columns=["icd_code", "icd_version", "long_title"])
    return df.drop_duplicates(["icd_code", "icd_version"]).sort_values(["icd_version", "icd_code"])


def diagnoses(
    admissions: pd.DataFrame, adm_z: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """``hosp/diagnoses_icd`` rows driven by each admission's latent state.

    Args:
        admissions: admissions with ``subject_id, hadm_id, age, icd_version``.
        adm_z: float (n_admissions, 5): latent state per admission (for admissions
            without an ICU stay, the patient's chronic state).
        rng: random generator.

    Returns:
        Rows ``subject_id, hadm_id, seq_num, icd_code, icd_version``, ``seq_num``
        1 the primary diagnosis.
    """
    names = list(signal.PHENOTYPES)
    b0 = np.array([signal.PHENOTYPES[n][0] for n in names])
    w = np.array([signal.PHENOTYPES[n][1] for n in names])
    age_w = np.array([signal.PHENOTYPES[n][2] for n in names])
    age = admissions["age"].to_numpy(float)
    logit = b0 + adm_z @ w.T + (age[:, None] - 65) * age_w
    truth = rng.random(logit.shape) < signal.sigmoid(logit)
    coded = np.where(
        truth,
        rng.random(truth.shape) >= signal.PHENOTYPE_MISSED,
        rng.random(truth.shape) < signal.PHENOTYPE_SPURIOUS,
    )
    # Primary diagnosis first: order a stay's codes by decreasing logit.
    order = np.argsort(-logit, axis=1)
    other9 = [c for c in OTHER_CODES if c[1] == 9]
    other10 = [c for c in OTHER_CODES if c[1] == 10]
    rows = []
    versions = admissions["icd_version"].to_numpy()
    for i, (sid, hadm) in enumerate(admissions[["subject_id", "hadm_id"]].itertuples(index=False)):
        v = int(versions[i])
        codes = []
        for j in order[i]:
            if coded[i, j]:
                options = PHENOTYPE_CODES[names[j]][0] if v == 9 else icd10_options(names[j])
                codes.append(options[int(rng.integers(len(options)))][0])
        pool = other9 if v == 9 else other10
        for k in rng.choice(len(pool), size=int(rng.integers(0, 3)), replace=False):
            codes.append(pool[k][0])
        for seq, code in enumerate(dict.fromkeys(codes), start=1):
            rows.append((int(sid), int(hadm), seq, code, v))
    return pd.DataFrame(
        rows, columns=["subject_id", "hadm_id", "seq_num", "icd_code", "icd_version"]
    )
