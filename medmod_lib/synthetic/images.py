"""Render and write the chest X-ray JPEGs of the generated metadata."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from ..schema import cxr_image_relpath
from . import signal

#: Resolution the renderer draws at before a ``--full-size`` upscale.
FULL_SIZE_RENDER_SHORT_SIDE = 512
JPEG_QUALITY = 90


def _renderer():
    """``(render_radiograph, Anatomy)`` from :mod:`.radiograph`, or a crude fallback."""
    try:
        from .radiograph import Anatomy, render_radiograph
    except ImportError as err:
        if "radiograph" not in str(err):
            raise
        warnings.warn(
            f"medmod_lib.synthetic.radiograph is unavailable ({err}); drawing placeholder images.",
            stacklevel=2,
        )
        return _placeholder, None
    return render_radiograph, Anatomy


def _placeholder(findings, *, view, height, width, rng, anatomy=None, devices=None) -> np.ndarray:
    """A schematic radiograph: two dark lungs, a bright heart, opacities (fallback only)."""
    yy, xx = np.mgrid[0:height, 0:width]
    y, x = yy / height, xx / width
    img = np.full((height, width), 0.55)
    heart = 0.12 + 0.08 * findings.get("Cardiomegaly", 0.0)
    fill = (
        findings.get("Lung Opacity", 0.0)
        + findings.get("Edema", 0.0)
        + findings.get("Consolidation", 0.0)
    )
    for cx in (0.32, 0.68):
        lung = ((x - cx) / 0.15) ** 2 + ((y - 0.48) / 0.3) ** 2 < 1
        img[lung] = 0.2 + 0.25 * min(fill, 1.5) * (y[lung] + 0.3)
    img[((x - 0.55) / heart) ** 2 + ((y - 0.62) / 0.12) ** 2 < 1] = 0.8
    img += rng.normal(0, 0.04, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def write_images(
    root: Path,
    metadata: pd.DataFrame,
    intensity: np.ndarray,
    *,
    seed: int,
    full_size: bool,
    progress: bool = True,
) -> None:
    """Render one JPEG per metadata row at ``root/files/pXX/pSUBJECT/sSTUDY/DICOM.jpg``.

    Args:
        root: the MIMIC-CXR-JPG release folder.
        metadata: rows with ``dicom_id, subject_id, study_id, Rows, Columns, render_view``
            and optionally ``intubated`` (draw the ET tube plus ``round(3 x)`` other
            devices at Support Devices intensity ``x``).
        intensity: float (n_images, 13): finding intensities (:data:`signal.FINDINGS` order).
        seed: base seed; image ``i`` uses ``SeedSequence([seed, i])`` so images do not
            depend on each other.
        full_size: draw small, then upscale to ``Rows x Columns`` with added grain.
        progress: show a progress bar.
    """
    render, anatomy_cls = _renderer()
    names = list(signal.FINDINGS)
    anatomies: dict[int, object] = {}
    if "intubated" not in metadata:
        metadata = metadata.assign(intubated=False)
    cols = ["dicom_id", "subject_id", "study_id", "Rows", "Columns", "render_view", "intubated"]
    rows = metadata[cols]
    sd = names.index("Support Devices")
    for i, (dicom, sid, study, h, w, view, tube) in enumerate(
        tqdm(rows.itertuples(index=False), total=len(rows), desc="X-rays", disable=not progress)
    ):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        if anatomy_cls is not None and sid not in anatomies:
            anatomies[sid] = anatomy_cls.sample(np.random.default_rng([seed, int(sid)]))
        findings = {n: float(v) for n, v in zip(names, intensity[i], strict=True)}
        findings["No Finding"] = float(not (intensity[i] > 0).any())
        if full_size:
            scale = FULL_SIZE_RENDER_SHORT_SIDE / min(h, w)
            rh, rw = round(h * scale), round(w * scale)
        else:
            rh, rw = h, w
        devices = None
        if tube:
            others = rng.permutation(["ng", "cvc", "ecg"])[: int(round(3 * intensity[i, sd]))]
            devices = ["et", *others]
        pixels = render(
            findings,
            view=view,
            height=rh,
            width=rw,
            rng=rng,
            anatomy=anatomies.get(sid),
            devices=devices,
        )
        img = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8), mode="L")
        if full_size:
            img = img.resize((int(w), int(h)), Image.BILINEAR)
            grain = rng.normal(0, 3.0, (int(h), int(w)))
            img = Image.fromarray(np.clip(np.asarray(img) + grain, 0, 255).astype(np.uint8))
        path = root / cxr_image_relpath(sid, study, dicom)
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, format="JPEG", quality=JPEG_QUALITY)
