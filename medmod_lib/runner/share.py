"""Share-safe reports: on real data, executed notebooks lose identifiers and paths.

MIMIC-IV and MIMIC-CXR-JPG are credentialed data under the PhysioNet data use
agreement: an executed notebook that prints a stay, shows a film or names the
data folder is covered by it, and may not be shared outside the people who signed
it. When the data root is not the kit's synthetic default, :func:`redact_notebook`
(run by the runner on every executed copy before its HTML page is written):

* replaces the absolute data root with ``$MEDMOD_DATA_ROOT``,
* replaces MIMIC identifiers in text outputs and sources with ``<id>``
  (``subject_id`` 1xxxxxxx, ``hadm_id`` 2xxxxxxx, ``stay_id`` 3xxxxxxx,
  ``study_id`` 5xxxxxxx, 8 digits; ``dicom_id`` as ``<dicom_id>``),
* drops every output of cells tagged ``patient-level`` (films, vitals, prompts of
  one stay),
* drops the saved widget state (notebook metadata ``widgets``): papermill stores
  what each widget last showed there (notebook 00's stay explorer: a stay's
  timeline and labels, the stay ids of its dropdown), and the HTML export would
  render it,
* puts :data:`NOTICE` at the top.

Figures that are not tagged (ROC curves, cohort flows) are kept: they show
aggregates. ``python -m medmod_lib.run --private`` turns all of this off for
reports that stay with the data.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .. import paths

#: Tag of cells whose outputs show one patient (dropped from share-safe reports).
PATIENT_TAG = "patient-level"
NOTICE = (
    "**Data use notice.** This report was computed from credentialed PhysioNet data "
    "(MIMIC-IV / MIMIC-CXR-JPG). Identifiers, the data path and the outputs of "
    "patient-level cells were removed, but the aggregate results remain covered by the "
    "PhysioNet data use agreement: share them only as the agreement allows (e.g. no "
    "small cells that could identify a patient)."
)
_IDS = re.compile(r"(?<![\d.])[1235]\d{7}(?![\d.])")
_DICOM = re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{8}){4}\b")


def share_safe_default(data_root: str | Path) -> bool:
    """Reports are redacted unless the data root is the kit's synthetic default."""
    return not paths.is_default_data_root(data_root)


def redact_text(text: str, data_root: str | Path) -> str:
    """``text`` without the data root's absolute path and without MIMIC identifiers."""
    root = Path(data_root).expanduser()
    for form in sorted({str(root), str(root.resolve())}, key=len, reverse=True):
        if len(form) > 1:
            text = text.replace(form, "$MEDMOD_DATA_ROOT")
    text = _DICOM.sub("<dicom_id>", text)
    return _IDS.sub("<id>", text)


def _redact_value(value, data_root):
    if isinstance(value, str):
        return redact_text(value, data_root)
    if isinstance(value, list):
        return [_redact_value(v, data_root) for v in value]
    return value


def redact_notebook(nb: nbformat.NotebookNode, data_root: str | Path) -> int:
    """Redact an executed notebook in place (see the module docstring).

    Returns:
        The number of cells whose outputs were dropped (``patient-level``).
    """
    dropped = 0
    for cell in nb.cells:
        cell.source = redact_text(cell.source, data_root)
        if cell.cell_type != "code":
            continue
        if PATIENT_TAG in cell.get("metadata", {}).get("tags", []):
            if cell.outputs:
                dropped += 1
            cell.outputs = []
            continue
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _redact_value(output["text"], data_root)
            if "traceback" in output:
                output["traceback"] = _redact_value(output["traceback"], data_root)
            if "evalue" in output:
                output["evalue"] = redact_text(output["evalue"], data_root)
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") or mime in ("application/json",):
                    output["data"][mime] = _redact_value(value, data_root)
    nb.metadata.pop("widgets", None)  # saved widget state: what the explorers last drew
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(NOTICE))
    return dropped


def redact_parameters(params: dict, data_root: str | Path) -> dict:
    """Parameters as shown in the index: the data root's path replaced."""
    return {k: _redact_value(v, data_root) for k, v in params.items()}
