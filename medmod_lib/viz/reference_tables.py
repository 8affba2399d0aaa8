"""Reference tables for the data tour: the five tasks and the 17 variables, built from code.

Everything the kit's code already defines (window lengths, sampling, label
counts, linking windows, channel types, one-hot widths, normal values, item
maps) is read from :mod:`medmod_lib.reference`, :mod:`medmod_lib.ehr.tasks`,
:mod:`medmod_lib.ehr.discretizer` and :class:`~medmod_lib.linking.LinkingRule`,
so the tables cannot drift from the rules the pipeline applies. Only the
clinical framing (who would act on a score) and the units after conversion are
written here.
"""

from __future__ import annotations

import pandas as pd

from .. import reference
from ..ehr import discretizer, tasks
from ..ehr.variables import CONVERSIONS, CRR, GCS_TOTAL, RESCALE
from ..linking.rules import LinkingRule
from ..reference import CHEXPERT_LABELS, LOS_BIN_EDGES_DAYS, Task

#: Who would act on each task's score (clinical framing, not derived from code).
ACTED_ON_BY: dict[Task, str] = {
    Task.IN_HOSPITAL_MORTALITY: "ICU team at 48 h: goals-of-care talk, escalation, triage",
    Task.PHENOTYPING: "nobody at the bedside: coding audit, cohort building, research",
    Task.DECOMPENSATION: "bedside nurse / rapid-response team: an hourly early-warning alert",
    Task.LENGTH_OF_STAY: "bed managers and discharge planners: ICU capacity",
    Task.RADIOLOGY: "radiologist / intensivist: worklist triage, a second reader",
}

#: Units of the continuous channels *after* the kit's conversions (``CONVERSIONS``
#: and ``RESCALE`` in :mod:`medmod_lib.ehr.variables`; mimic3-benchmarks units).
UNITS: dict[str, str] = {
    "Diastolic blood pressure": "mmHg",
    "Fraction inspired oxygen": "fraction (0.21-1)",
    "Glucose": "mg/dL",
    "Heart Rate": "beats/min",
    "Height": "cm",
    "Mean blood pressure": "mmHg",
    "Oxygen saturation": "%",
    "Respiratory rate": "breaths/min",
    "Systolic blood pressure": "mmHg",
    "Temperature": "degC",
    "Weight": "kg",
    "pH": "(none)",
}


def _hours(h: float) -> str:
    return f"{h:g} h"


def task_table() -> pd.DataFrame:
    """The five tasks: when the score is made, from what, labelled how, used by whom.

    Returns:
        One row per :class:`~medmod_lib.reference.Task` (index ``task``) with
        columns ``prediction time``, ``EHR input window``, ``X-ray linked``,
        ``label (source)``, ``outputs``, ``samples per stay``, ``acted on by``.
    """
    ihm, step, first = tasks.IHM_HOURS, tasks.SAMPLE_RATE_HOURS, tasks.SHORTEST_HOURS
    hourly = f"every {_hours(step)} from t > {_hours(first)} (after the first event)"
    rows = {
        Task.IN_HOSPITAL_MORTALITY: (
            f"{_hours(ihm)} after ICU admission (stays of >= {_hours(ihm)})",
            f"first {_hours(ihm)}: {discretizer.n_bins_for(ihm)} hourly bins",
            "death in hospital (admissions deathtime, patients dod)",
            1,
            "1",
        ),
        Task.PHENOTYPING: (
            "after discharge: retrospective (ICD codes are assigned at discharge)",
            "the whole ICU stay",
            f"{len(reference.phenotypes())} HCUP-CCS groups from the admission's discharge "
            "ICD codes (diagnoses_icd)",
            len(reference.phenotypes()),
            "1",
        ),
        Task.DECOMPENSATION: (
            hourly,
            "intime .. prediction time t",
            f"death in hospital within the next {_hours(tasks.FUTURE_HOURS)} "
            "(admissions deathtime)",
            1,
            f"1 per {_hours(step)}",
        ),
        Task.LENGTH_OF_STAY: (
            hourly,
            "intime .. prediction time t",
            f"remaining ICU hours (icustays outtime), {len(LOS_BIN_EDGES_DAYS) + 1} day bins",
            len(LOS_BIN_EDGES_DAYS) + 1,
            f"1 per {_hours(step)}",
        ),
        Task.RADIOLOGY: (
            "when the film is read",
            "none in the image-only cohort; the whole stay in the paired one",
            f"{len(CHEXPERT_LABELS)} CheXpert findings parsed from the radiology report",
            len(CHEXPERT_LABELS),
            "1 film (paired) or every labelled film (image-only)",
        ),
    }
    out = []
    for task in Task:
        when, window, label, k, per_stay = rows[task]
        rule = LinkingRule.for_task(task).describe().split(": ", 1)[1]
        out.append(
            {
                "task": task.value,
                "prediction time": when,
                "EHR input window": window,
                "X-ray linked": rule,
                "label (source)": label,
                "outputs": k,
                "samples per stay": per_stay,
                "acted on by": ACTED_ON_BY[task],
            }
        )
    return pd.DataFrame(out).set_index("task")


def _source(channel: str, items: pd.DataFrame) -> str:
    rows = items[items["variable"] == channel]
    if rows.empty:
        if channel == CRR:
            return "icu/d_items, labels 'Capillary Refill...' (not in the item map)"
        if channel == GCS_TOTAL:
            return "eye + verbal + motor at one charttime (not in the item map)"
        return "(no item)"
    counts = rows["table"].value_counts()
    parts = [f"{n} {table} itemid{'s' * (n > 1)}" for table, n in counts.items()]
    converted = sorted(set(rows["itemid"]) & set(CONVERSIONS))
    note = f"; unit converted: {', '.join(map(str, converted))}" if converted else ""
    note += "; rescaled to the unit" if channel in RESCALE else ""
    return " + ".join(parts) + note


def variable_table() -> pd.DataFrame:
    """The 17 benchmark variables as the discretizer encodes them.

    Returns:
        One row per channel in benchmark order (index ``variable``) with columns
        ``type`` (continuous / categorical), ``unit``, ``normal value`` (imputed
        before the first measurement), ``one-hot columns`` (0 for continuous),
        ``input columns`` (0-based positions in the 76-column input, value
        columns then the mask column) and ``MIMIC-IV source``.
    """
    header = discretizer.header(store_masks=True)
    items = reference.itemid_map()
    rows = []
    for channel in reference.channels():
        categorical = reference.is_categorical(channel)
        cols = [i for i, h in enumerate(header) if h == channel or h.startswith(f"{channel}->")]
        mask = header.index(f"mask->{channel}")
        span = f"{cols[0]}" if len(cols) == 1 else f"{cols[0]}-{cols[-1]}"
        rows.append(
            {
                "variable": channel,
                "type": "categorical" if categorical else "continuous",
                "unit": "category" if categorical else UNITS.get(channel, ""),
                "normal value": reference.normal_value(channel),
                "one-hot columns": len(reference.possible_values(channel)) if categorical else 0,
                "input columns": f"{span} + mask {mask}",
                "MIMIC-IV source": _source(channel, items),
            }
        )
    return pd.DataFrame(rows).set_index("variable")
