"""``generate``, ``ensure_dataset`` and ``write_chartevents``: the generator's entry points."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from .. import schema
from . import writer
from .chartevents import chart_table, d_items
from .codes import d_icd_diagnoses, diagnoses
from .cxr import build_cxr
from .events import StayArrays
from .images import write_images
from .labevents import d_labitems, lab_table
from .population import Population, build_population
from .writer import MIMIC_CXR_DIR, MIMIC_IV_DIR, ArrowCsvWriter, fmt_timestamps, write_frame

DEFAULT_PATIENTS = 2500
#: The train/val/test shares this dataset declares for itself (``split_fractions`` in its
#: manifest; :func:`medmod_lib.workflow.default_ehr_config` applies them). The demo
#: exists to show planted differences, so most subjects serve evaluation: training stays
#: cheap (about the training set of a 1,000-patient dataset at the benchmark's 70/10/20)
#: while the test sets grow until the planted differences are resolved
#: (``data_cards/synthetic_demo.md``, "How the sizes were chosen"). Real MIMIC data has no
#: such manifest and keeps the benchmark's 70/10/20.
EVALUATION_SPLIT = (0.3, 0.15, 0.55)
DEFAULT_IMAGE_SIZE = 256
#: Rows per chunk of the chartevents benchmark writer (bounds memory).
CHUNK_ROWS = 2_000_000


def _check_params(patients: int, seed: int, image_size: int) -> None:
    if int(patients) < 1:
        raise ValueError(f"patients must be >= 1, got {patients}")
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not 16 <= int(image_size) <= 4096:
        raise ValueError(f"image_size must be between 16 and 4096 pixels, got {image_size}")


def _params(
    patients: int, seed: int, image_size: int, full_size: bool, images: bool
) -> dict[str, Any]:
    return dict(
        patients=int(patients),
        seed=int(seed),
        image_size=int(image_size),
        full_size=bool(full_size),
        images=bool(images),
    )


def _streams(seed: int) -> dict[str, np.random.Generator]:
    names = ("population", "diagnoses", "chart", "labs", "cxr")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}


def _stay_admission_bounds(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    adm = pop.admissions.set_index("hadm_id")
    rows = adm.loc[pop.stays["hadm_id"]]
    return rows["admittime"].to_numpy(np.int64), rows["dischtime"].to_numpy(np.int64)


def _admission_z(pop: Population) -> np.ndarray:
    """float (n_admissions, 5): last ICU stay's state, or 0.8 x the patient's chronic state."""
    z_by_hadm = dict(zip(pop.stays["hadm_id"], pop.z, strict=True))
    pidx = {s: i for i, s in enumerate(pop.patients["subject_id"])}
    return np.array(
        [
            z_by_hadm.get(h, 0.8 * pop.chronic[pidx[s]])
            for s, h in zip(pop.admissions["subject_id"], pop.admissions["hadm_id"], strict=True)
        ]
    ).reshape(-1, pop.z.shape[1])


def _hosp_frames(pop: Population, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    pat = pop.patients.copy()
    pat["dod"] = fmt_timestamps(pat["dod"], schema.DATE_FORMAT)
    adm = pop.admissions.copy()
    for col in ("admittime", "dischtime", "deathtime", "edregtime", "edouttime"):
        adm[col] = fmt_timestamps(adm[col])
    icu = pop.stays.copy()
    icu["los"] = icu["los"].map("{:.6f}".format)
    for col in ("intime", "outtime"):
        icu[col] = fmt_timestamps(icu[col])
    return {
        "patients": pat[schema.columns("patients")],
        "admissions": adm[schema.columns("admissions")],
        "diagnoses_icd": diagnoses(pop.admissions, _admission_z(pop), rng),
        "d_icd_diagnoses": d_icd_diagnoses(),
        "icustays": icu[schema.columns("icustays")],
        "d_items": d_items(),
        "d_labitems": d_labitems(),
    }


def generate(
    out: str | Path,
    *,
    patients: int = DEFAULT_PATIENTS,
    seed: int = 0,
    image_size: int = DEFAULT_IMAGE_SIZE,
    full_size: bool = False,
    images: bool = True,
    progress: bool = True,
) -> Path:
    """Write a synthetic MIMIC-IV 3.1 + MIMIC-CXR-JPG 2.1.0 data root at ``out``.

    Args:
        out: the data root to create (absent, empty, or a previous kit dataset).
        patients: number of patients (about 1.1 ICU stays each).
        seed: every random draw derives from it; same seed, byte-identical files.
        image_size: short side in pixels of the JPEGs (ignored for pixel size
            when ``full_size``).
        full_size: write realistic ~2500x3000 JPEGs (for loader benchmarks).
        images: write the JPEGs (metadata and labels are written either way).
        progress: show progress bars.

    Returns:
        ``out`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: a size or seed out of range.
        writer.ForeignFolderError: ``out`` holds data the kit did not generate.
    """
    _check_params(patients, seed, image_size)
    out = Path(out).expanduser()
    params = _params(patients, seed, image_size, full_size, images)
    writer.claim_folder(out)
    writer.write_manifest(out, {"params": params, "complete": False})
    rng = _streams(seed)
    iv, cxr_root = out / MIMIC_IV_DIR, out / MIMIC_CXR_DIR
    steps = tqdm(total=6, desc="synthetic MIMIC", disable=not progress)
    pop = build_population(patients, rng["population"])
    counts: dict[str, int] = {}
    for name, df in _hosp_frames(pop, rng["diagnoses"]).items():
        counts[name] = write_frame(iv / schema.module_of(name) / f"{name}.csv.gz", df, name)
    steps.update(2)
    stays = StayArrays.from_population(pop)
    with ArrowCsvWriter(iv / "icu" / "chartevents.csv.gz", "chartevents") as w:
        w.write(chart_table(stays, rng["chart"]))
    counts["chartevents"] = w.rows
    steps.update()
    admit, disch = _stay_admission_bounds(pop)
    with ArrowCsvWriter(iv / "hosp" / "labevents.csv.gz", "labevents") as w:
        w.write(lab_table(stays, admit, disch, rng["labs"]))
    counts["labevents"] = w.rows
    steps.update()
    tables = build_cxr(pop, rng["cxr"], image_size=image_size, full_size=full_size)
    meta = tables.metadata[schema.columns("mimic-cxr-2.0.0-metadata")]
    for stem, df in (
        ("mimic-cxr-2.0.0-metadata", meta),
        ("mimic-cxr-2.0.0-chexpert", tables.chexpert),
        ("mimic-cxr-2.0.0-negbio", tables.negbio),
        ("mimic-cxr-2.0.0-split", tables.split),
    ):
        counts[stem] = write_frame(cxr_root / f"{stem}.csv.gz", df, stem)
    relpaths = [
        schema.cxr_image_relpath(s, t, d)
        for d, s, t in meta[["dicom_id", "subject_id", "study_id"]].itertuples(index=False)
    ]
    (cxr_root / "IMAGE_FILENAMES").write_text("\n".join(relpaths) + "\n")
    steps.update()
    if images:
        write_images(
            cxr_root,
            tables.metadata,
            tables.intensity,
            seed=seed,
            full_size=full_size,
            progress=progress,
        )
    steps.update()
    steps.close()
    writer.write_manifest(
        out,
        {
            "params": params,
            "complete": True,
            "counts": counts,
            "split_fractions": list(EVALUATION_SPLIT),
        },
    )
    return out


def ensure_dataset(
    out: str | Path,
    *,
    patients: int = DEFAULT_PATIENTS,
    seed: int = 0,
    image_size: int = DEFAULT_IMAGE_SIZE,
    full_size: bool = False,
    images: bool = True,
    progress: bool = True,
) -> Path:
    """Reuse the dataset at ``out`` if the kit generated it with these parameters.

    A complete kit dataset with the same parameters is returned as is; a kit
    dataset with other parameters (or an interrupted one) is regenerated; a
    folder holding anything else raises :class:`writer.ForeignFolderError`.
    """
    _check_params(patients, seed, image_size)
    out = Path(out).expanduser()
    manifest = writer.read_manifest(out) if out.is_dir() else None
    wanted = _params(patients, seed, image_size, full_size, images)
    if (
        manifest is not None
        and manifest.get("complete")
        and manifest.get("params") == wanted
        and manifest.get("format") == writer.FORMAT_VERSION
        and not manifest.get("chartevents_override")
    ):
        return out
    return generate(out, progress=progress, **wanted)


def write_chartevents(
    out: str | Path, *, rows: int, seed: int, other_share: float = 0.0, progress: bool = True
) -> Path:
    """Rewrite ``chartevents.csv.gz`` of a generated dataset with at least ``rows`` rows.

    The stays are those of the dataset at ``out`` (rebuilt from its manifest's
    seed). Without ``other_share``, charting is made denser until the row count is
    reached. With it, that share of the rows are items outside the 17 variables
    (:data:`~medmod_lib.synthetic.chartevents.OTHER_ITEMS`; most of the real table is
    such items), the 17 variables are charted densely enough for the rest, and each
    chunk is topped up to its share of ``rows`` (the total is ``rows`` plus the table's
    0.3 % duplicates, or more where the 17 variables alone exceed a chunk's share).
    Written in chunks of about :data:`CHUNK_ROWS` rows with fast gzip (ISA-L when installed); the next chunk is generated while one is written.

    Returns:
        The path of the written ``chartevents.csv.gz``.
    """
    if int(rows) < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    if not 0.0 <= float(other_share) < 1.0:
        raise ValueError(f"other_share must be in [0, 1), got {other_share}")
    out = Path(out).expanduser()
    manifest = writer.read_manifest(out) if out.is_dir() else None
    if manifest is None or not manifest.get("complete"):
        raise FileNotFoundError(
            f"{out} holds no complete synthetic dataset; run `python -m medmod_lib.synthetic "
            f"--out {out}` first."
        )
    pop = build_population(
        manifest["params"]["patients"], _streams(manifest["params"]["seed"])["population"]
    )
    icu = pd.read_csv(out / MIMIC_IV_DIR / "icu" / "icustays.csv.gz", usecols=["stay_id"])
    if not np.array_equal(icu["stay_id"].to_numpy(), pop.stays["stay_id"].to_numpy()):
        raise ValueError(
            f"{out}: icustays.csv.gz does not match the manifest; regenerate the dataset."
        )
    stays = StayArrays.from_population(pop)
    # Rows at density 1, estimated from about 1,000 stays (a full table may not fit in memory).
    sample = stays.subset(np.arange(0, len(stays), max(1, len(stays) // 1000)))
    per_hour = chart_table(sample, np.random.default_rng([int(seed), 0])).num_rows / max(
        sample.los_h.sum(), 1.0
    )
    base = per_hour * stays.los_h.sum()
    wanted = int(rows) * (1.0 - float(other_share))
    density = max(1.0, 1.03 * wanted / base)
    n_chunks = max(1, int(np.ceil(max(base * density, int(rows)) / CHUNK_ROWS)))
    bounds = np.linspace(0, len(stays), n_chunks + 1).astype(int)
    # Each chunk's share of ``rows`` (used with other_share to top the chunk up).
    shares = np.diff(np.round(np.linspace(0, int(rows), n_chunks + 1))).astype(np.int64)
    path = out / MIMIC_IV_DIR / "icu" / "chartevents.csv.gz"

    def chunk(c: int) -> pa.Table:
        sub = stays.subset(np.arange(bounds[c], bounds[c + 1]))
        fill_to = int(shares[c]) if other_share else 0
        return chart_table(sub, np.random.default_rng([int(seed), 1, c]), density, fill_to)

    while True:
        with (
            ArrowCsvWriter(path, "chartevents", level=1, fast=True) as w,
            ThreadPoolExecutor(max_workers=1) as pool,
        ):
            ahead = pool.submit(chunk, 0)
            for c in tqdm(range(n_chunks), desc="chartevents", disable=not progress):
                table = ahead.result()
                if c + 1 < n_chunks:
                    ahead = pool.submit(chunk, c + 1)  # generated while this one is written
                w.write(table)
        if w.rows >= rows:
            break
        density *= 1.05 * rows / w.rows
    override = {"rows": int(rows), "seed": int(seed), "other_share": float(other_share)}
    manifest["chartevents_override"] = override | {"written": w.rows}
    manifest["counts"]["chartevents"] = w.rows
    writer.write_manifest(
        out, {k: v for k, v in manifest.items() if k not in ("generator", "format")}
    )
    return path
