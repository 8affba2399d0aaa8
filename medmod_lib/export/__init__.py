"""Round trip with the benchmark ecosystem: export a processed folder in the
mimic3-benchmarks or MedFuse layout, and import such a folder back.

* :func:`export_processed` (``python -m medmod_lib.export``): per-task episode CSVs,
  listfiles, ``root/all_stays.csv``, normalizer states and MedFuse's CXR files.
* :func:`import_benchmark` (``python -m medmod_lib.export.importer``): an existing
  mimic3-benchmarks / MedFuse folder as the kit's task samples and hourly inputs; the
  notebooks run on it with ``MEDMOD_PROCESSED_DIR`` set to it
  (:func:`medmod_lib.workflow.ensure_processed`).

The file contracts are in :mod:`medmod_lib.export.layout`; the data card
(``data_cards/mimic_iv.md``, "Using the export with MedFuse and mimic3-benchmarks")
has the exact commands.
"""

from .layout import EXPORT_TASKS, FLAVOURS, episode_header, listfile_header
from .writer import ExportResult, export_processed

__all__ = [
    "EXPORT_TASKS",
    "FLAVOURS",
    "ExportResult",
    "episode_header",
    "export_processed",
    "listfile_header",
]
