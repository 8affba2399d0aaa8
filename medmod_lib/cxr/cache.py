"""A one-time, resumable, parallel image cache of resized X-rays.

Every JPEG is decoded once, with Pillow's reduced-size JPEG decoding
(``Image.draft``: the decoder picks a DCT scale of 1/2, 1/4 or 1/8 that still
leaves the short side >= 2 x ``size``, i.e. 1/4 for a 2.5k film at 256), resized so that its short side is ``size``
(bilinear with antialiasing, as torchvision ``Resize(size)``) and centre-cropped
to ``size x size`` (as ``CenterCrop(size)``). With ``size=256`` the benchmark's
eval transform ``Resize(256) + CenterCrop(224)`` gives the same pixels from the
cache as from the full image; random affine augmentations see zero fill instead
of the few rows outside the central square.

Layout of ``cache_dir`` (no JPEG decoding at training time)::

    plan.json              size, shard size, image count, fingerprint of the image list
    index.parquet          dicom_id, path, shard, row  (sorted by dicom_id)
    shards/00000.npy       uint8 (rows, size, size), read as a memory map
    shards/00000.json      per-row status: ok / missing / corrupt (+ error)
    manifest.json          the last build's report, failures with their paths

A shard is finished once its ``.json`` exists (written after the ``.npy`` is
atomically renamed into place), so a killed build resumes where it stopped and
ends with the same files. Each row of a shard's ``.json`` records its film's size,
modification and change time, inode and SHA-256; a later build re-stats every film
and rebuilds the shards where one has appeared, vanished or changed its bytes (the
hash is recomputed only when the stat differs: the rule of :mod:`medmod_lib.artifacts`,
so a same-size replacement with an old modification time is caught, and a film that
was only touched is not decoded again). Disk cost: ``size**2`` bytes per image, i.e.
377,110 x 65,536 B = 24.7 GB for the full release at 256 (18.9 GB at 224).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..paths import check_output_location, mimic_cxr_root, output_root
from .decode import build_shard, center_crop_box, decode_resized, image_key, resized_shape

__all__ = [
    "CachePlanError",
    "CacheReport",
    "ImageCache",
    "build_cache",
    "center_crop_box",
    "decode_resized",
    "default_cache_dir",
    "resized_shape",
]

CACHE_FORMAT = "medmod-cxr-cache/2"  # 2: rows record stat and SHA-256
#: Images per shard: 16 MB at 256 px; the unit of resumption and of progress updates.
DEFAULT_SHARD_SIZE = 256


class CachePlanError(ValueError):
    """``cache_dir`` holds a cache of another image list, size or shard size."""


def default_cache_dir(size: int = 256) -> Path:
    """``<output root>/cxr_cache/<size>``."""
    return output_root() / "cxr_cache" / str(size)


@dataclass
class CacheReport:
    """What a :func:`build_cache` run did and which images failed."""

    cache_dir: str
    size: int
    images: int
    ok: int
    missing: int
    corrupt: int
    shards_built: int
    shards_reused: int
    seconds: float
    failures: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [
            f"CXR cache {self.cache_dir} ({self.size}x{self.size} uint8): {self.images} images, "
            f"{self.ok} ok, {self.missing} missing, {self.corrupt} corrupt; "
            f"{self.shards_built} shards built, {self.shards_reused} reused, {self.seconds:.1f} s"
        ]
        for f in self.failures[:20]:
            lines.append(f"  {f['status']}: {f['path']} ({f.get('error', '')})")
        if len(self.failures) > 20:
            lines.append(f"  ... {len(self.failures) - 20} more in manifest.json")
        return "\n".join(lines)


def _start_method() -> str:
    """``fork`` on Linux (fast, as torch's DataLoader; workers run only PIL and numpy), else spawn."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _fingerprint(index: pd.DataFrame, size: int, shard_size: int) -> str:
    h = hashlib.sha256(f"{CACHE_FORMAT}|{size}|{shard_size}|".encode())
    for d, p in zip(index["dicom_id"], index["path"], strict=True):
        h.update(f"{d}|{p}\n".encode())
    return h.hexdigest()


def _plan(
    cxr_root: Path, dicom_ids: Sequence[str] | None, images: pd.DataFrame | None
) -> pd.DataFrame:
    if images is None:
        from .metadata import load_metadata

        images = load_metadata(cxr_root, views=None)
    missing_cols = {"dicom_id", "path"} - set(images.columns)
    if missing_cols:
        raise ValueError(f"images needs the columns {sorted(missing_cols)} (see load_metadata)")
    index = images[["dicom_id", "path"]].astype(str)
    if dicom_ids is not None:
        wanted = pd.Index(pd.unique(pd.Series(list(dicom_ids), dtype=str)))
        unknown = wanted.difference(index["dicom_id"])
        if len(unknown):
            raise ValueError(
                f"{len(unknown)} requested dicom_ids are not in the metadata of {cxr_root} "
                f"(first: {unknown[0]})"
            )
        index = index[index["dicom_id"].isin(wanted)]
    dup = index["dicom_id"].duplicated()
    if dup.any():
        raise ValueError(f"dicom_id {index.loc[dup, 'dicom_id'].iloc[0]} appears twice")
    return index.sort_values("dicom_id", kind="stable").reset_index(drop=True)


def build_cache(
    cxr_root: str | Path | None = None,
    cache_dir: str | Path | None = None,
    *,
    dicom_ids: Sequence[str] | None = None,
    images: pd.DataFrame | None = None,
    size: int = 256,
    workers: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    progress: bool = True,
    max_shards: int | None = None,
    retry_failed: bool = False,
) -> CacheReport:
    """Decode every image once into ``cache_dir``; resume a partial cache.

    Args:
        cxr_root: data root or MIMIC-CXR-JPG release folder (default: the data root).
        cache_dir: output folder; default :func:`default_cache_dir`. Must not
            lie inside the raw-data folder.
        dicom_ids: cache only these images (default: every image in the metadata).
        images: a metadata frame with ``dicom_id`` and ``path`` (relative to the
            release folder) to use instead of reading the metadata file.
        size: side length of the stored square (short side resized to ``size``).
        workers: processes; default ``os.cpu_count()``; 1 runs in this process.
        shard_size: images per shard file (the unit of resumption).
        progress: show a tqdm progress bar.
        max_shards: stop after building this many shards (for tests and for
            spreading the pass over several sessions).
        retry_failed: rebuild finished shards that hold a missing or corrupt
            image even when its file is unchanged (a film that appeared, vanished or
            changed since its shard was built is always decoded again).

    Returns:
        The :class:`CacheReport`; also written to ``cache_dir/manifest.json``.

    Raises:
        ValueError: ``cache_dir`` holds a cache of a different image list, size
            or shard size (use another folder or delete it), or lies inside
            the raw-data folder.
    """
    start = time.perf_counter()
    root = mimic_cxr_root(cxr_root).resolve()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir(size)
    cache_dir = cache_dir.expanduser().resolve()
    check_output_location(cache_dir, cxr_root, root)
    if size < 8 or shard_size < 1:
        raise ValueError(f"size must be >= 8 and shard_size >= 1, got {size}, {shard_size}")
    index = _plan(root, dicom_ids, images)
    index["shard"] = np.arange(len(index)) // shard_size
    index["row"] = np.arange(len(index)) % shard_size
    plan = {
        "format": CACHE_FORMAT,
        "size": size,
        "shard_size": shard_size,
        "images": len(index),
        "shards": int(index["shard"].max()) + 1 if len(index) else 0,
        "fingerprint": _fingerprint(index, size, shard_size),
        "source": str(root),
    }
    shards_dir = cache_dir / "shards"
    plan_path = cache_dir / "plan.json"
    if plan_path.exists():
        old = json.loads(plan_path.read_text())
        if old.get("fingerprint") != plan["fingerprint"]:
            raise CachePlanError(
                f"{cache_dir} holds a cache of another image list, size, shard size or format "
                f"({old.get('images')} images at {old.get('size')} px). Use a new cache_dir "
                f"or delete this one."
            )
    else:
        shards_dir.mkdir(parents=True, exist_ok=True)
        index.to_parquet(cache_dir / "index.parquet", index=False)
        partial = plan_path.with_name(f"plan.json.{os.getpid()}.tmp")
        partial.write_text(json.dumps(plan, indent=2))
        os.replace(partial, plan_path)  # written last and whole: it marks a started cache

    changed = _changed_shards(shards_dir, str(root), index, plan["shards"])
    todo = [
        s
        for s in range(plan["shards"])
        if s in changed or not _shard_done(shards_dir, s, retry_failed)
    ]
    reused = plan["shards"] - len(todo)
    if max_shards is not None:
        todo = todo[:max_shards]
    jobs = {
        s: (
            str(shards_dir / f"{s:05d}.npy"),
            str(root),
            index["path"].iloc[s * shard_size : (s + 1) * shard_size].tolist(),
            size,
        )
        for s in todo
    }
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    n_todo = sum(len(j[2]) for j in jobs.values())
    with tqdm(total=n_todo, unit="img", desc="CXR cache", disable=not progress) as bar:
        if workers == 1:
            for job in jobs.values():
                build_shard(*job)
                bar.update(len(job[2]))
        else:
            with worker_pool(workers) as pool:
                futures = {pool.submit(build_shard, *job): job for job in jobs.values()}
                try:
                    for fut in as_completed(futures):
                        fut.result()
                        bar.update(len(futures[fut][2]))
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    report = _summarise(cache_dir, index, plan, built=len(jobs), reused=reused, start=start)
    (cache_dir / "manifest.json").write_text(json.dumps(asdict(report), indent=2))
    return report


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """The decoding processes; they end with this process, even when it is killed."""
    from ..scratch import die_with_parent

    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context(_start_method()),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )


def _shard_done(shards_dir: Path, shard: int, retry_failed: bool) -> bool:
    meta = shards_dir / f"{shard:05d}.json"
    if not meta.exists():
        return False
    return not retry_failed or all(e["status"] == "ok" for e in json.loads(meta.read_text()))


def _changed_shards(shards_dir: Path, root: str, index: pd.DataFrame, n_shards: int) -> set[int]:
    """Finished shards with a film that appeared, vanished or has other bytes than when built.

    A film whose stat (size, mtime, ctime, inode) is unchanged is taken as unchanged;
    otherwise it is hashed. A film with new stat but the same bytes keeps its pixels and
    gets the new stat recorded, so it is not hashed again next time.
    """
    from ..artifacts import sha256_file

    changed: set[int] = set()
    paths = index["path"].to_numpy()
    rows_of = index.groupby("shard").indices
    for s in range(n_shards):
        meta = shards_dir / f"{s:05d}.json"
        if not meta.exists():
            continue
        entries, touched = json.loads(meta.read_text()), False
        for e in entries:
            full = os.path.join(root, paths[rows_of[s][e["row"]]])
            key = image_key(full)
            if key == e.get("stat"):
                continue
            if key is None or e.get("stat") is None or sha256_file(full) != e.get("sha256"):
                changed.add(s)
                break
            e["stat"], touched = key, True
        if touched and s not in changed:
            partial = meta.with_name(f"{meta.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps(entries))
            os.replace(partial, meta)
    return changed


def _read_status(cache_dir: Path, index: pd.DataFrame, n_shards: int) -> pd.DataFrame:
    """Per-image status (``ok``/``missing``/``corrupt``/``pending``) aligned with ``index``."""
    status = np.full(len(index), "pending", dtype=object)
    error = np.full(len(index), "", dtype=object)
    starts = index.groupby("shard").indices
    for s in range(n_shards):
        meta = cache_dir / "shards" / f"{s:05d}.json"
        if not meta.exists():
            continue
        rows = starts[s]
        for entry in json.loads(meta.read_text()):
            status[rows[entry["row"]]] = entry["status"]
            error[rows[entry["row"]]] = entry.get("error", "")
    return pd.DataFrame({"status": status, "error": error}, index=index.index)


def _summarise(cache_dir, index, plan, *, built, reused, start) -> CacheReport:
    st = _read_status(cache_dir, index, plan["shards"])
    bad = index.join(st)[lambda d: ~d["status"].isin(["ok", "pending"])]
    return CacheReport(
        cache_dir=str(cache_dir),
        size=plan["size"],
        images=len(index),
        ok=int((st["status"] == "ok").sum()),
        missing=int((st["status"] == "missing").sum()),
        corrupt=int((st["status"] == "corrupt").sum()),
        shards_built=built,
        shards_reused=reused,
        seconds=round(time.perf_counter() - start, 3),
        failures=bad[["dicom_id", "path", "status", "error"]].to_dict("records"),
    )


class ImageCache:
    """Read-only access to a cache written by :func:`build_cache`.

    Images are memory-mapped shard rows; nothing is decoded. Safe to pickle
    into DataLoader worker processes (shards are reopened lazily).

    Args:
        cache_dir: the folder passed to :func:`build_cache`.
        allow_partial: open a cache whose build has not finished (the missing
            shards' images are simply absent).

    Raises:
        FileNotFoundError: no cache in ``cache_dir``.
        ValueError: the build is unfinished and ``allow_partial`` is False.
    """

    def __init__(self, cache_dir: str | Path, *, allow_partial: bool = False) -> None:
        self.cache_dir = Path(cache_dir)
        plan_path = self.cache_dir / "plan.json"
        if not plan_path.exists():
            raise FileNotFoundError(
                f"No image cache in {self.cache_dir} (plan.json missing). Build it with "
                f"medmod_lib.cxr.build_cache(cxr_root, {str(self.cache_dir)!r})."
            )
        self.plan = json.loads(plan_path.read_text())
        self.size = int(self.plan["size"])
        index = pd.read_parquet(self.cache_dir / "index.parquet")
        self.table = index.join(_read_status(self.cache_dir, index, self.plan["shards"]))
        pending = int((self.table["status"] == "pending").sum())
        if pending and not allow_partial:
            raise ValueError(
                f"The cache in {self.cache_dir} is unfinished ({pending} images pending); run "
                f"build_cache again with the same arguments to resume it."
            )
        ok = self.table[self.table["status"] == "ok"]
        self._where = dict(
            zip(
                ok["dicom_id"],
                zip(ok["shard"].tolist(), ok["row"].tolist(), strict=True),
                strict=True,
            )
        )
        self._shards: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, dicom_id: object) -> bool:
        return dicom_id in self._where

    @property
    def dicom_ids(self) -> list[str]:
        """Ids of the images that decoded, sorted."""
        return sorted(self._where)

    @property
    def failures(self) -> pd.DataFrame:
        """``dicom_id, path, status, error`` of every missing or corrupt image."""
        t = self.table
        return t.loc[
            t["status"].isin(["missing", "corrupt"]), ["dicom_id", "path", "status", "error"]
        ]

    def _shard(self, s: int) -> np.ndarray:
        arr = self._shards.get(s)
        if arr is None:
            arr = np.load(self.cache_dir / "shards" / f"{s:05d}.npy", mmap_mode="r")
            self._shards[s] = arr
        return arr

    def get(self, dicom_id: str) -> np.ndarray:
        """The cached image as uint8 (size, size).

        Raises:
            KeyError: the image is not cached, naming why (missing/corrupt/unknown).
        """
        where = self._where.get(dicom_id)
        if where is None:
            hit = self.table.loc[self.table["dicom_id"] == dicom_id]
            why = (
                f"{hit['status'].iloc[0]} ({hit['error'].iloc[0]})" if len(hit) else "not in cache"
            )
            raise KeyError(f"{dicom_id}: {why} in {self.cache_dir}")
        shard, row = where
        return np.array(self._shard(shard)[row])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_shards"] = {}
        return state

    def __repr__(self) -> str:
        counts = self.table["status"].value_counts().to_dict()
        return (
            f"ImageCache({str(self.cache_dir)!r}, {self.size}x{self.size} uint8, "
            f"{len(self)} images, status={counts})"
        )
