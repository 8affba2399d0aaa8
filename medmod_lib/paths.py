"""Where the kit finds raw data and writes its outputs.

Two environment variables, each with a git-ignored default inside the project,
and one optional override:

``MEDMOD_DATA_ROOT``
    The folder that holds the raw PhysioNet downloads, laid out as
    ``mimiciv/<version>/{hosp,icu}`` and ``mimic-cxr-jpg/<version>/files``.
    Default: ``<project>/data/synthetic`` (written by ``make demo``).
    The kit only ever reads from this folder.
``MEDMOD_OUTPUT_DIR``
    Where processed data, image caches, checkpoints and reports go.
    Default: ``<project>/outputs``.
``MEDMOD_PROCESSED_DIR`` (optional)
    An existing processed EHR folder to use instead of building one from the
    MIMIC-IV tables, e.g. a mimic3-benchmarks / MedFuse folder imported with
    ``python -m medmod_lib.export.importer``
    (:func:`medmod_lib.workflow.ensure_processed`). The X-rays still come from
    the MIMIC-CXR-JPG release under ``MEDMOD_DATA_ROOT``. Unset: no override.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "MEDMOD_DATA_ROOT"
OUTPUT_DIR_ENV = "MEDMOD_OUTPUT_DIR"
PROCESSED_DIR_ENV = "MEDMOD_PROCESSED_DIR"

#: Release folders the kit knows, newest first.
MIMIC_IV_VERSIONS = ("3.1", "3.0", "2.2", "2.1", "2.0", "1.0")
MIMIC_CXR_VERSIONS = ("2.1.0", "2.0.0")


def project_root() -> Path:
    """The folder that contains ``medmod_lib/`` (the repository checkout)."""
    return Path(__file__).resolve().parent.parent


def default_data_root() -> Path:
    """Where the kit generates its synthetic dataset: ``<project>/data/synthetic``."""
    return project_root() / "data" / "synthetic"


def data_root() -> Path:
    """The raw-data root: ``$MEDMOD_DATA_ROOT`` or :func:`default_data_root`."""
    value = os.environ.get(DATA_ROOT_ENV)
    return Path(value).expanduser() if value else default_data_root()


def is_default_data_root(root: str | Path) -> bool:
    """True for the kit's own synthetic location (generated on demand, never a user's data)."""
    return Path(root).expanduser().resolve() == default_data_root().resolve()


def output_root() -> Path:
    """The output root: ``$MEDMOD_OUTPUT_DIR`` or ``<project>/outputs``."""
    value = os.environ.get(OUTPUT_DIR_ENV)
    return Path(value).expanduser() if value else project_root() / "outputs"


def processed_dir() -> Path | None:
    """``$MEDMOD_PROCESSED_DIR`` (an existing processed folder to use as is), or ``None``."""
    value = os.environ.get(PROCESSED_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _find_release(
    root: Path, name: str, versions: tuple[str, ...], markers: tuple[str, ...]
) -> Path:
    root = Path(root).expanduser()
    # The user may point straight at a release folder (e.g. .../mimiciv/3.1).
    if any((root / m).exists() for m in markers):
        return root
    base = root / name if (root / name).is_dir() else root
    for version in versions:
        candidate = base / version
        if candidate.is_dir():
            return candidate
    found = sorted(p.name for p in base.iterdir()) if base.is_dir() else []
    raise FileNotFoundError(
        f"No {name} release found under {root}. Expected {root}/{name}/<version>/ with "
        f"<version> one of {', '.join(versions)} (found: {found or 'nothing'}). "
        f"Set {DATA_ROOT_ENV} to the folder that holds your PhysioNet download, "
        f"or run `make data` to generate the synthetic default."
    )


def mimic_iv_root(root: str | Path | None = None) -> Path:
    """The MIMIC-IV release folder (``.../mimiciv/<version>``) under ``root``.

    ``root`` may be the data root, the ``mimiciv`` folder, or the release folder
    itself. The newest known version present wins.
    """
    return _find_release(
        Path(root) if root is not None else data_root(),
        "mimiciv",
        MIMIC_IV_VERSIONS,
        markers=("hosp", "icu", "core"),
    )


def mimic_cxr_root(root: str | Path | None = None) -> Path:
    """The MIMIC-CXR-JPG release folder (``.../mimic-cxr-jpg/<version>``) under ``root``."""
    return _find_release(
        Path(root) if root is not None else data_root(),
        "mimic-cxr-jpg",
        MIMIC_CXR_VERSIONS,
        markers=("files", "mimic-cxr-2.0.0-metadata.csv.gz", "mimic-cxr-2.0.0-metadata.csv"),
    )


_RELEASES = (("mimiciv", MIMIC_IV_VERSIONS), ("mimic-cxr-jpg", MIMIC_CXR_VERSIONS))


def raw_folders(*roots: str | Path | None) -> list[Path]:
    """Every raw-data folder related to ``roots`` (resolved): each root, the data root
    above a release folder, and every MIMIC-IV / MIMIC-CXR-JPG release under a data root."""
    names = {name for name, _ in _RELEASES}
    bases: set[Path] = set()
    for root in roots:
        if root is None:
            continue
        r = Path(root).expanduser().resolve()
        bases.add(r)
        if r.parent.name in names:  # .../mimiciv/3.1
            bases.add(r.parent.parent)
        if r.name in names:  # .../mimiciv
            bases.add(r.parent)
    found = set(bases)
    for base in bases:
        for name, versions in _RELEASES:
            if (base / name).is_dir():
                found.add(base / name)
                found.update(base / name / v for v in versions if (base / name / v).is_dir())
    return sorted(found)


def check_output_location(out: str | Path, *roots: str | Path | None) -> Path:
    """Refuse an output folder that is, lies inside, or contains a raw-data folder.

    Checked against the data root (``$MEDMOD_DATA_ROOT`` or the synthetic default) and
    every folder of :func:`raw_folders` of ``roots``, before anything is read or written.

    Returns:
        ``out``, resolved.

    Raises:
        ValueError: naming the output and the raw folder, and the fix.
    """
    o = Path(out).expanduser().resolve()
    for raw in raw_folders(data_root(), *roots):
        if o == raw or raw in o.parents or o in raw.parents:
            where = "inside" if raw in o.parents else ("the same as" if o == raw else "above")
            raise ValueError(
                f"Output folder {out} is {where} the raw-data folder {raw}; the kit never "
                "writes inside raw data (PhysioNet downloads stay read-only). Choose an output "
                f"folder outside it, e.g. under {OUTPUT_DIR_ENV} (default outputs/)."
            )
    return o
