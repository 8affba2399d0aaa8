"""Decode and resize one X-ray; build one cache shard (the worker's code).

Kept free of pandas and torch so that the cache's worker processes start fast.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ..artifacts import stat_key

#: The JPEG decoder's DCT scaling (1/2, 1/4, 1/8) stops at >= this many times the
#: target side before the antialiased resize. 2 (a 1/4 decode of a 2.5k film) is
#: 2.7x closer to a full decode than 1 (mean |diff| 0.40 vs 1.08 grey levels on the
#: kit's full-size films) and costs about 20% more (74 vs 92 images per CPU second).
DRAFT_OVERSAMPLE = 2


def resized_shape(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) with the short side ``size``, as torchvision ``Resize(size)``."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def center_crop_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a centred ``size`` square, as torchvision ``CenterCrop``."""
    left = int(round((width - size) / 2.0))
    top = int(round((height - size) / 2.0))
    return left, top, left + size, top + size


def decode_resized(
    path: str | Path | io.BytesIO, size: int = 256, *, draft: bool = True
) -> np.ndarray:
    """Decode a greyscale X-ray, resize its short side to ``size`` and centre-crop.

    Args:
        path: a JPEG (or any image Pillow reads; a path or the bytes in a file
            object); colour images become ``L``.
        size: output side length in pixels.
        draft: use the JPEG decoder's reduced-size (DCT-scaled) decoding.

    Returns:
        uint8 array (size, size).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        OSError, SyntaxError, ValueError: the file cannot be decoded.
    """
    with Image.open(path) as im:
        width, height = im.size
        if width < 1 or height < 1:
            raise ValueError(f"{getattr(path, 'path', path)}: empty image {width}x{height}")
        if draft and im.format == "JPEG":
            # Decode at >= DRAFT_OVERSAMPLE x the target, then antialias down.
            im.draft("L", (DRAFT_OVERSAMPLE * size, DRAFT_OVERSAMPLE * size))
        im = im.convert("L") if im.mode != "L" else im
        im.load()
        w, h = resized_shape(width, height, size)
        im = im.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=None)
        im = im.crop(center_crop_box(w, h, size))
        return np.array(im, dtype=np.uint8)


class _FileBytes(io.BytesIO):
    """A file's bytes in memory that name the file in error messages (as a path would)."""

    def __init__(self, data: bytes, path: str) -> None:
        super().__init__(data)
        self.path = path

    def __repr__(self) -> str:
        return repr(self.path)


def image_key(path: str) -> list[int] | None:
    """:func:`medmod_lib.artifacts.stat_key` of a file, or None when it does not exist.

    The reuse rule of :mod:`medmod_lib.artifacts`: when size, mtime, ctime and inode are
    unchanged the bytes are too (every write moves ``ctime``; no tool can set it back).
    """
    try:
        return stat_key(os.stat(path))
    except FileNotFoundError:
        return None


def build_shard(shard_npy: str, cxr_root: str, paths: list[str], size: int) -> list[dict]:
    """Worker: decode one shard's images into ``shard_npy``; return per-row status.

    Each row records the file's :func:`image_key` and the SHA-256 of the bytes
    decoded (read once, hashed and decoded from memory), so that a later build can
    tell a changed film from an unchanged one.
    """
    out = np.zeros((len(paths), size, size), dtype=np.uint8)
    status: list[dict] = []
    for row, rel in enumerate(paths):
        full = os.path.join(cxr_root, rel)
        entry: dict = {"row": row, "stat": None}
        try:
            with open(full, "rb") as fh:
                data = fh.read()
                st = os.fstat(fh.fileno())
            entry["stat"] = stat_key(st)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            out[row] = decode_resized(_FileBytes(data, full), size)
            entry["status"] = "ok"
        except FileNotFoundError:
            entry.update(status="missing", error=f"no such file: {full}")
        except Exception as err:  # noqa: BLE001 - any decoder failure is reported, not raised
            entry.update(status="corrupt", error=f"{type(err).__name__}: {err}")
        status.append(entry)
    tmp = f"{shard_npy}.tmp{os.getpid()}.npy"
    np.save(tmp, out)
    os.replace(tmp, shard_npy)
    meta = Path(shard_npy).with_suffix(".json")
    tmp_meta = f"{meta}.tmp{os.getpid()}"
    Path(tmp_meta).write_text(json.dumps(status))
    os.replace(tmp_meta, meta)
    return status
