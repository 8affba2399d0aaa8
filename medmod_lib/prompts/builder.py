"""Clinical prompts: a stay's tabular EHR written as short clinical text.

MEDIMP (Milecki et al., 2023) paired images with text prompts generated from
structured clinical data and learned image-text representations
contrastively. This module writes such prompts for a linked ICU stay from
its demographics and the vitals and labs charted **inside the task window**
(never after the prediction time), with clinical wording ("tachycardic",
"febrile", "hypoxic"). Prompts are deterministic; :mod:`.augment` makes the
seeded textual variations used during training.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..reference import INTUBATED_VERBAL_RESPONSES

#: Channels summarised in prompts, with the word used for them.
VITALS = {
    "Heart Rate": "heart rate",
    "Systolic blood pressure": "systolic blood pressure",
    "Mean blood pressure": "mean arterial pressure",
    "Respiratory rate": "respiratory rate",
    "Oxygen saturation": "oxygen saturation",
    "Temperature": "temperature",
}
LABS = {"Glucose": "glucose", "pH": "pH", "Fraction inspired oxygen": "inspired oxygen fraction"}
UNITS = {
    "Heart Rate": "bpm",
    "Systolic blood pressure": "mmHg",
    "Mean blood pressure": "mmHg",
    "Respiratory rate": "breaths/min",
    "Oxygen saturation": "%",
    "Temperature": "°C",
    "Glucose": "mg/dL",
    "pH": "",
    "Fraction inspired oxygen": "",
}


@dataclass(frozen=True)
class Finding:
    """One statement of a prompt.

    ``templates`` are paraphrases of the same fact (the first is canonical);
    ``fields`` fill them. Numbers stay numbers until rendering, so the
    augmentations can round them or change their units.
    """

    topic: str  # "demographics", "admission", a channel name, "gcs", "history"
    templates: tuple[str, ...]
    fields: dict = field(default_factory=dict)

    def render(
        self, variant: int = 0, *, decimals: int | None = None, fahrenheit: bool = False
    ) -> str:
        values = dict(self.fields)
        if "value" in values:
            value, unit = values["value"], values.get("unit", "")
            if fahrenheit and unit == "°C":
                value, unit = value * 9 / 5 + 32, "°F"
            if decimals is not None:
                # Rounding changes the text, never the clinical meaning: small-scale
                # values (pH 7.36, FiO2 0.40) keep two decimals.
                decimals = max(decimals, 2) if abs(value) < 10 else decimals
                values["value"] = f"{value:.{decimals}f}"
            else:
                values["value"] = f"{value:.4g}"
            values["unit"] = unit
        if "word" in values:
            values["article"] = "an" if values["word"][0] in "aeiou" else "a"
        text = self.templates[variant % len(self.templates)].format(**values)
        text = re.sub(r"\s+([%.,;)])", r"\1", text.replace("  ", " ")).strip()
        return text[0].upper() + text[1:]


def admission_kind(admission_type: object) -> str | None:
    """Plain words for MIMIC-IV ``admission_type`` codes ("EW EMER." -> "an emergency")."""
    if not isinstance(admission_type, str) or not admission_type.strip():
        return None
    code = admission_type.upper()
    if "EMER" in code:
        return "an emergency"
    if "URGENT" in code:
        return "urgent"
    if "ELECTIVE" in code:
        return "elective"
    if "SURGICAL SAME DAY" in code:
        return "a same-day surgical"
    if "OBSERVATION" in code:
        return "an observation"
    return admission_type.lower()


def age_group(age: float) -> str:
    if age < 40:
        return "young adult"
    if age < 60:
        return "middle-aged"
    if age < 80:
        return "older"
    return "elderly"


def _describe(channel: str, lo: float, hi: float) -> str | None:
    """Clinical wording for the extremes seen in the window (None if unremarkable)."""
    words = []
    if channel == "Heart Rate":
        words += ["tachycardic"] if hi > 100 else []
        words += ["bradycardic"] if lo < 55 else []
    elif channel == "Temperature":
        words += ["febrile"] if hi >= 38.0 else []
        words += ["hypothermic"] if lo < 36.0 else []
    elif channel == "Oxygen saturation":
        words += ["hypoxic"] if lo < 92 else []
    elif channel == "Respiratory rate":
        words += ["tachypneic"] if hi > 22 else []
    elif channel == "Systolic blood pressure":
        words += ["hypotensive"] if lo < 90 else []
        words += ["hypertensive"] if hi > 160 else []
    elif channel == "Mean blood pressure":
        words += ["hypotensive"] if lo < 65 else []
    elif channel == "Glucose":
        words += ["hyperglycemic"] if hi > 180 else []
        words += ["hypoglycemic"] if lo < 70 else []
    elif channel == "pH":
        words += ["acidemic"] if lo < 7.35 else []
        words += ["alkalemic"] if hi > 7.45 else []
    elif channel == "Fraction inspired oxygen":
        words += ["on supplemental oxygen"] if hi > 0.21 + 1e-6 else []
    return " and ".join(words) or None


def window_events(timeseries: pd.DataFrame, window_end_hours: float) -> pd.DataFrame:
    """The rows of one stay's timeseries that a prompt may use: -1e-6 < Hours <= end."""
    hours = timeseries["Hours"].astype(float)
    return timeseries[(hours > -1e-6) & (hours <= window_end_hours + 1e-6)]


# The number a prompt states is the window's median, the value a clinician would call
# "typical" for the stay so far; a single (last) measurement is one noisy reading, and
# the extremes are already in the flag words.
_CHANNEL_TEMPLATES = (
    "{flag}; median {word} {value} {unit}.",
    "{flag}, with a typical {word} of {value} {unit}.",
    "The {word} was around {value} {unit} ({flag}).",
)
_PLAIN_TEMPLATES = (
    "median {word} {value} {unit}.",
    "typical {word} of {value} {unit}.",
    "the {word} was around {value} {unit}.",
)


def summarize(timeseries: pd.DataFrame, window_end_hours: float) -> list[Finding]:
    """Findings about vitals, labs, GCS and the airway inside the window, in a fixed order.

    Each channel states its median over the window (with flag words from its
    extremes); an intubated patient (verbal GCS charted as ``No Response-ETT``)
    gets an airway statement, as a clinician's summary would open with it.
    """
    events = window_events(timeseries, window_end_hours)
    findings: list[Finding] = []
    for channel, word in {**VITALS, **LABS}.items():
        if channel not in events:
            continue
        values = pd.to_numeric(events[channel], errors="coerce").dropna()
        if values.empty:
            continue
        lo, hi, typical = float(values.min()), float(values.max()), float(values.median())
        flag = _describe(channel, lo, hi)
        fields_ = {"word": word, "value": typical, "unit": UNITS[channel]}
        if flag:
            findings.append(Finding(channel, _CHANNEL_TEMPLATES, {**fields_, "flag": flag}))
        else:
            findings.append(Finding(channel, _PLAIN_TEMPLATES, fields_))
    gcs = "Glascow coma scale total"
    if gcs in events:
        totals = pd.to_numeric(events[gcs], errors="coerce").dropna()
        if not totals.empty:
            worst = int(totals.min())
            state = (
                "comatose"
                if worst <= 8
                else "with reduced consciousness"
                if worst < 14
                else "alert"
            )
            findings.append(
                Finding(
                    "gcs",
                    (
                        "patient {state} (worst GCS {worst}).",
                        "{state}, lowest Glasgow coma score {worst}.",
                    ),
                    {"state": state, "worst": worst},
                )
            )
    verbal = "Glascow coma scale verbal response"
    if (
        verbal in events
        and events[verbal].astype(str).str.strip().isin(INTUBATED_VERBAL_RESPONSES).any()
    ):
        findings.append(
            Finding(
                "airway",
                (
                    "intubated and mechanically ventilated.",
                    "on a ventilator through an endotracheal tube.",
                    "intubated (verbal response not assessable).",
                ),
            )
        )
    return findings


def build_prompt_findings(
    stay: pd.Series,
    timeseries: pd.DataFrame,
    window_end_hours: float,
    *,
    history: Sequence[str] = (),
) -> list[Finding]:
    """All findings of a prompt, in canonical order (demographics first).

    Args:
        stay: the stay's row (``age`` or ``anchor_age``, ``gender``,
            optionally ``admission_type``).
        timeseries: the stay's benchmark timeseries (``Hours`` + channels).
        window_end_hours: the task's prediction time in hours after intime;
            nothing charted later is read.
        history: diagnoses known at intime (from the subject's *earlier*
            admissions; MIMIC codes the current admission's diagnoses at
            discharge, so using them would leak the future).
    """
    age = float(stay.get("age", stay.get("anchor_age", np.nan)))
    sex = {"F": "woman", "M": "man"}.get(str(stay.get("gender", "")), "patient")
    demo = {"group": age_group(age), "sex": sex, "age": f"{age:.0f}"}
    out = [
        Finding(
            "demographics",
            (
                "{group} {sex}, {age} years old.",
                "{age}-year-old {sex}.",
                "a {sex} aged {age} ({group}).",
            ),
            demo,
        )
    ]
    kind = admission_kind(stay.get("admission_type"))
    if kind:
        templates = ("admitted as {kind} case.", "{kind} admission.")
        out.append(Finding("admission", templates, {"kind": kind}))
    out += summarize(timeseries, window_end_hours)
    if history:
        out.append(
            Finding(
                "history",
                ("history of {dx}.", "known {dx}."),
                {"dx": ", ".join(h.lower() for h in history)},
            )
        )
    return out


def build_prompt(
    stay: pd.Series,
    timeseries: pd.DataFrame,
    window_end_hours: float,
    *,
    history: Sequence[str] = (),
) -> str:
    """The canonical (unaugmented) prompt of a stay. Deterministic."""
    findings = build_prompt_findings(stay, timeseries, window_end_hours, history=history)
    return " ".join(f.render() for f in findings)
