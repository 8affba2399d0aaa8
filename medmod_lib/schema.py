"""Column names, order and types of the MIMIC-IV and MIMIC-CXR-JPG files the kit reads.

One source of truth for the synthetic generator (which writes them), the
readers (which check them) and the tests (which compare the two). Orders follow
mimic-code ``create.sql`` for MIMIC-IV v2.2/v3.1 and the PhysioNet
MIMIC-CXR-JPG 2.0.0/2.1.0 files. Types are the kinds a reader should parse:
``int`` (64-bit integer), ``float``, ``str`` (keep as text: ICD codes, ids with
letters), ``datetime`` (``YYYY-MM-DD HH:MM:SS``), ``date`` (``YYYY-MM-DD``).
"""

from __future__ import annotations

from .reference import CHEXPERT_LABELS

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"

#: MIMIC-IV tables the kit uses: module, table -> ordered {column: kind}.
MIMIC_IV: dict[str, dict[str, dict[str, str]]] = {
    "hosp": {
        "patients": {
            "subject_id": "int",
            "gender": "str",
            "anchor_age": "int",
            "anchor_year": "int",
            "anchor_year_group": "str",
            "dod": "date",
        },
        "admissions": {
            "subject_id": "int",
            "hadm_id": "int",
            "admittime": "datetime",
            "dischtime": "datetime",
            "deathtime": "datetime",
            "admission_type": "str",
            "admit_provider_id": "str",
            "admission_location": "str",
            "discharge_location": "str",
            "insurance": "str",
            "language": "str",
            "marital_status": "str",
            "race": "str",
            "edregtime": "datetime",
            "edouttime": "datetime",
            "hospital_expire_flag": "int",
        },
        "diagnoses_icd": {
            "subject_id": "int",
            "hadm_id": "int",
            "seq_num": "int",
            "icd_code": "str",
            "icd_version": "int",
        },
        "d_icd_diagnoses": {
            "icd_code": "str",
            "icd_version": "int",
            "long_title": "str",
        },
        "labevents": {
            "labevent_id": "int",
            "subject_id": "int",
            "hadm_id": "int",
            "specimen_id": "int",
            "itemid": "int",
            "order_provider_id": "str",
            "charttime": "datetime",
            "storetime": "datetime",
            "value": "str",
            "valuenum": "float",
            "valueuom": "str",
            "ref_range_lower": "float",
            "ref_range_upper": "float",
            "flag": "str",
            "priority": "str",
            "comments": "str",
        },
        "d_labitems": {
            "itemid": "int",
            "label": "str",
            "fluid": "str",
            "category": "str",
        },
    },
    "icu": {
        "icustays": {
            "subject_id": "int",
            "hadm_id": "int",
            "stay_id": "int",
            "first_careunit": "str",
            "last_careunit": "str",
            "intime": "datetime",
            "outtime": "datetime",
            "los": "float",
        },
        "chartevents": {
            "subject_id": "int",
            "hadm_id": "int",
            "stay_id": "int",
            "caregiver_id": "int",
            "charttime": "datetime",
            "storetime": "datetime",
            "itemid": "int",
            "value": "str",
            "valuenum": "float",
            "valueuom": "str",
            "warning": "int",
        },
        "d_items": {
            "itemid": "int",
            "label": "str",
            "abbreviation": "str",
            "linksto": "str",
            "category": "str",
            "unitname": "str",
            "param_type": "str",
            "lownormalvalue": "float",
            "highnormalvalue": "float",
        },
    },
}

_CXR_LABEL_COLUMNS = {
    "subject_id": "int",
    "study_id": "int",
    **{n: "float" for n in CHEXPERT_LABELS},
}

#: MIMIC-CXR-JPG files (the "2.0.0" in the names is kept in the 2.1.0 release).
MIMIC_CXR: dict[str, dict[str, str]] = {
    "mimic-cxr-2.0.0-metadata": {
        "dicom_id": "str",
        "subject_id": "int",
        "study_id": "int",
        "PerformedProcedureStepDescription": "str",
        "ViewPosition": "str",
        "Rows": "int",
        "Columns": "int",
        "StudyDate": "int",  # YYYYMMDD
        "StudyTime": "float",  # HHMMSS.fff, leading zero lost
        "ProcedureCodeSequence_CodeMeaning": "str",
        "ViewCodeSequence_CodeMeaning": "str",
        "PatientOrientationCodeSequence_CodeMeaning": "str",
    },
    "mimic-cxr-2.0.0-chexpert": dict(_CXR_LABEL_COLUMNS),
    "mimic-cxr-2.0.0-negbio": dict(_CXR_LABEL_COLUMNS),
    "mimic-cxr-2.0.0-split": {
        "dicom_id": "str",
        "study_id": "int",
        "subject_id": "int",
        "split": "str",
    },
}


def columns(table: str) -> list[str]:
    """Ordered column names of a MIMIC-IV table (``"patients"``) or CXR file stem."""
    for module in MIMIC_IV.values():
        if table in module:
            return list(module[table])
    if table in MIMIC_CXR:
        return list(MIMIC_CXR[table])
    raise KeyError(f"Unknown table {table!r}")


def module_of(table: str) -> str:
    """``"hosp"`` or ``"icu"`` for a MIMIC-IV table."""
    for module, tables in MIMIC_IV.items():
        if table in tables:
            return module
    raise KeyError(f"Unknown MIMIC-IV table {table!r}")


def cxr_image_relpath(subject_id: int, study_id: int, dicom_id: str) -> str:
    """``files/pXX/pSUBJECT/sSTUDY/DICOM.jpg`` as in the MIMIC-CXR-JPG release."""
    s = str(int(subject_id))
    return f"files/p{s[:2]}/p{s}/s{int(study_id)}/{dicom_id}.jpg"
