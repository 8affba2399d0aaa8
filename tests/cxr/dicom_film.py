"""Convert a DICOM radiograph to the 8-bit greyscale JPEG convention of MIMIC-CXR-JPG.

MIMIC-CXR-JPG images are 8-bit, "white bone" (MONOCHROME2) renderings of the
DICOMs. :func:`dicom_to_uint8` does the same for any single-frame greyscale
DICOM: modality LUT (rescale), then the file's VOI LUT or window
(``WindowCenter``/``WindowWidth``) if it has one, else a window over the
0.5-99.5 percentiles of the pixels; linear scaling to 0-255; MONOCHROME1
("white air") is inverted. Used by the tests to turn the real PA film
``RG1_UNCR.dcm`` of ``pydicom-data`` into a MIMIC-CXR-JPG-shaped fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np


def dicom_to_uint8(
    path: str | Path,
    *,
    window: Literal["auto", "percentile"] = "auto",
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> np.ndarray:
    """Read a greyscale DICOM radiograph as uint8 (H, W), bone bright.

    Args:
        path: the ``.dcm`` file.
        window: ``"auto"``: the file's VOI LUT or window if present, else
            ``percentiles``; ``"percentile"``: always the percentile window
            (more contrast for files with a very wide default window).
        percentiles: lower and upper percentile of the percentile window.

    Returns:
        uint8 array (Rows, Columns).

    Raises:
        ValueError: not a single-frame greyscale image (the message names the file).
    """
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    ds = pydicom.dcmread(path)
    photometric = str(ds.get("PhotometricInterpretation", ""))
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"{path}: PhotometricInterpretation {photometric!r} is not greyscale")
    pixels = ds.pixel_array
    if pixels.ndim != 2:
        raise ValueError(f"{path}: expected one 2-D frame, got shape {pixels.shape}")
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    if window not in ("auto", "percentile"):
        raise ValueError(f"window must be 'auto' or 'percentile', got {window!r}")
    if window == "percentile":
        lo, hi = (float(v) for v in np.percentile(values, percentiles))
    elif "VOILUTSequence" in ds:
        values = apply_voi_lut(values, ds).astype(np.float64)
        lo, hi = float(values.min()), float(values.max())
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        center = float(np.atleast_1d(ds.WindowCenter)[0])
        width = float(np.atleast_1d(ds.WindowWidth)[0])
        lo, hi = center - width / 2, center + width / 2
    else:
        lo, hi = (float(v) for v in np.percentile(values, percentiles))
    if hi <= lo:
        raise ValueError(f"{path}: flat image (window {lo}..{hi})")
    scaled = np.clip((values - lo) / (hi - lo), 0.0, 1.0)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    return np.round(scaled * 255.0).astype(np.uint8)
