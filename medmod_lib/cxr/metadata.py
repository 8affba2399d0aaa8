"""MIMIC-CXR-JPG metadata: file reading, study datetimes and the view filter.

The release ships ``mimic-cxr-2.0.0-{metadata,chexpert,negbio,split}`` as
``.csv.gz`` (``.csv`` is accepted too); the 2.1.0 release keeps the "2.0.0" in
the names. Columns are checked against :data:`medmod_lib.schema.MIMIC_CXR`.

``StudyDate`` is an integer ``YYYYMMDD`` and ``StudyTime`` a float
``HHMMSS.fff`` whose leading zeros are lost (``80556.875`` is 08:05:56.875,
``5.0`` is 00:00:05). The kit keeps the fractional seconds; MedFuse and MedMod
drop them (``int(StudyTime)`` zero-padded to six digits), so a film can sort up
to one second earlier there. Values that are not a valid date/time become
``NaT`` and are counted in the report (the image itself is kept: it still has
labels for the radiology task; linking by time skips it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..paths import mimic_cxr_root
from ..schema import MIMIC_CXR, cxr_image_relpath

#: File stems of the release (without ``.csv.gz``).
METADATA = "mimic-cxr-2.0.0-metadata"
CHEXPERT = "mimic-cxr-2.0.0-chexpert"
NEGBIO = "mimic-cxr-2.0.0-negbio"
SPLIT = "mimic-cxr-2.0.0-split"

#: View positions of the release the kit names; others (e.g. "AP AXIAL") pass through.
KNOWN_VIEWS: tuple[str, ...] = ("AP", "PA", "LATERAL", "LL", "")
#: Integer columns whose blanks are kept (as <NA>) and counted downstream, not fatal.
_NULLABLE_INTS = frozenset({"StudyDate", "Rows", "Columns"})
#: The benchmark (MedFuse/MedMod) uses AP films only.
DEFAULT_VIEWS: tuple[str, ...] = ("AP",)


def find_cxr_file(cxr_root: str | Path, stem: str) -> Path:
    """The path of ``stem`` as ``.csv.gz`` or ``.csv`` in a release folder.

    Raises:
        FileNotFoundError: naming both candidates and the folder.
    """
    cxr_root = Path(cxr_root)
    for suffix in (".csv.gz", ".csv"):
        path = cxr_root / f"{stem}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"Neither {stem}.csv.gz nor {stem}.csv found in {cxr_root}. Point the data root at the "
        f"MIMIC-CXR-JPG release folder that holds the PhysioNet CSV files."
    )


def read_cxr_table(cxr_root: str | Path, stem: str) -> pd.DataFrame:
    """Read one release CSV with the dtypes of :data:`medmod_lib.schema.MIMIC_CXR`.

    Args:
        cxr_root: the release folder (``.../mimic-cxr-jpg/<version>``).
        stem: a key of ``MIMIC_CXR``, e.g. ``"mimic-cxr-2.0.0-metadata"``.

    Returns:
        The table in file order; ids are int64, strings stay strings, label
        values float (NaN = blank).

    Raises:
        ValueError: a required column is missing (the message names the file
            and the columns), or an id column holds a non-integer.
    """
    spec = MIMIC_CXR[stem]
    path = find_cxr_file(cxr_root, stem)
    # Integers are parsed as float first so that blanks can be counted, not crash the parser.
    dtypes = {c: ("string" if k == "str" else "float64") for c, k in spec.items()}
    header = pd.read_csv(path, nrows=0).columns
    missing = [c for c in spec if c not in header]
    if missing:
        raise ValueError(
            f"{path} lacks the columns {missing} (found {list(header)}). Expected the "
            f"MIMIC-CXR-JPG 2.0.0/2.1.0 file; re-download it from PhysioNet."
        )
    try:
        df = pd.read_csv(path, dtype=dtypes, usecols=list(spec))[list(spec)]
    except ValueError as err:
        raise ValueError(f"{path}: a value does not parse as its column's type ({err})") from err
    for c, k in spec.items():
        if k != "int":
            continue
        values = df[c].to_numpy()
        bad = ~np.isfinite(values) | (values != np.round(values))
        if c in _NULLABLE_INTS:
            # Kept nullable: a bad date is a counted NaT, not a crash.
            df[c] = pd.array(np.where(bad, np.nan, values)).astype("Int64")
            continue
        if bad.any():
            raise ValueError(
                f"{path}: column {c!r} has {int(bad.sum())} empty or non-integer values "
                f"(first at row {int(np.flatnonzero(bad)[0])}); the file is damaged."
            )
        df[c] = values.astype(np.int64)
    return df


def parse_study_datetime(study_date: pd.Series, study_time: pd.Series) -> pd.Series:
    """Study datetimes from integer ``StudyDate`` and float ``StudyTime``.

    Args:
        study_date: ``YYYYMMDD`` integers (nullable).
        study_time: ``HHMMSS.fff`` floats with the leading zeros lost.

    Returns:
        ``datetime64[ns]`` series, fractional seconds kept; ``NaT`` where the
        date or time is missing or invalid (month 13, 25 h, 61 min, negative).

    Examples:
        >>> parse_study_datetime(pd.Series([21800723]), pd.Series([80556.875]))[0]
        Timestamp('2180-07-23 08:05:56.875000')
    """
    date = pd.to_numeric(pd.Series(study_date), errors="coerce").to_numpy(dtype=float)
    time = pd.to_numeric(pd.Series(study_time), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(date) & np.isfinite(time) & (time >= 0) & (time < 240000)
    d = np.where(ok, date, 0).astype(np.int64)
    t = np.where(ok, time, 0.0)
    whole = np.floor(t).astype(np.int64)
    hh, mm, ss = whole // 10000, (whole // 100) % 100, whole % 100
    ok &= (hh < 24) & (mm < 60) & (ss < 60)
    # Milliseconds from the decimals, rounded to remove float noise (x.875 -> 875 ms).
    ms = np.round((t - whole) * 1000.0).astype(np.int64)
    day = pd.to_datetime(
        pd.Series(np.where(ok, d, 19700101).astype(str)), format="%Y%m%d", errors="coerce"
    )
    ok &= day.notna().to_numpy()
    offset = pd.to_timedelta(((hh * 60 + mm) * 60 + ss) * 1000 + ms, unit="ms")
    out = (day + offset).astype("datetime64[ns]")
    out[~ok] = pd.NaT
    return out.set_axis(pd.Series(study_date).index)


def filter_views(df: pd.DataFrame, views: Sequence[str] | None) -> tuple[pd.DataFrame, dict]:
    """Keep rows whose ``ViewPosition`` is in ``views`` (``""`` selects empty ones).

    Args:
        df: metadata with a ``ViewPosition`` column.
        views: allowed views, e.g. ``("AP",)`` or ``("AP", "PA")``; ``None`` keeps all.

    Returns:
        The kept rows and ``{view: rows removed}`` (empty view reported as ``""``).

    Raises:
        ValueError: ``views`` is a bare string or empty.
    """
    if views is None:
        return df, {}
    if isinstance(views, str):
        raise ValueError(f"views must be a list of view names such as ['AP'], got {views!r}")
    if len(views) == 0:
        raise ValueError("views is empty; pass None to keep every view")
    wanted = {str(v).strip().upper() for v in views}
    view = df["ViewPosition"].fillna("").astype(str).str.strip().str.upper()
    keep = view.isin(wanted).to_numpy()
    removed = view[~keep].value_counts().to_dict()
    return df[keep], {str(k): int(v) for k, v in removed.items()}


def load_metadata(
    root: str | Path | None = None,
    *,
    views: Sequence[str] | None = DEFAULT_VIEWS,
) -> pd.DataFrame:
    """Image metadata with ``study_datetime``, ``path`` and the view filter applied.

    Args:
        root: the data root, the ``mimic-cxr-jpg`` folder or the release folder
            (see :func:`medmod_lib.paths.mimic_cxr_root`); default the data root.
        views: allowed ``ViewPosition`` values; default ``("AP",)``; ``None`` = all.

    Returns:
        One row per image: the metadata columns plus ``study_datetime``
        (datetime64, NaT if invalid) and ``path`` (relative to the release
        folder, ``files/pXX/pSUBJECT/sSTUDY/DICOM.jpg``). ``df.attrs["report"]``
        holds the counts: rows read, rows removed per view, invalid datetimes.
    """
    cxr_root = mimic_cxr_root(root)
    df = read_cxr_table(cxr_root, METADATA)
    n_read = len(df)
    df, removed = filter_views(df, views)
    df = df.copy()
    df["study_datetime"] = parse_study_datetime(df["StudyDate"], df["StudyTime"])
    n_bad = int(df["study_datetime"].isna().sum())
    if n_bad:
        warnings.warn(
            f"{find_cxr_file(cxr_root, METADATA)}: {n_bad} images have an invalid "
            f"StudyDate/StudyTime; their study_datetime is NaT (they cannot be linked by time)",
            stacklevel=2,
        )
    df["path"] = [
        cxr_image_relpath(s, t, d)
        for s, t, d in zip(df["subject_id"], df["study_id"], df["dicom_id"], strict=True)
    ]
    df = df.reset_index(drop=True)
    df.attrs["report"] = {
        "source": str(cxr_root),
        "rows_read": n_read,
        "views": None if views is None else list(views),
        "removed_by_view": removed,
        "invalid_study_datetime": n_bad,
        "rows": len(df),
    }
    return df
