"""Benchmark the X-ray pipeline on full-size (~2500 x 3000) synthetic JPEGs.

Reports, in one run:

1. cache build throughput (images/s, and per worker process) with
   :func:`medmod_lib.cxr.build_cache`;
2. training-loader throughput (images/s through a DataLoader with the benchmark
   eval transform) from the cache, against decoding the original JPEGs every
   time (full decode + PIL Resize(256), MedFuse's way) and against a decode
   with the JPEG decoder's reduced-size mode (the best one can do without a
   cache).

Rates are given per wall second and per CPU second (CPU time of the process
and its workers): on a busy shared machine only the latter is stable.
Targets on 2 cores: cache build >= 40 images/s per core; loader from cache
>= 10x the full decode.

3. with ``--ssl-workers``: the pretraining loader, i.e. images/s from the cache
   through the SSL augmentations (``--preset simclr``, ``--views`` augmented
   views per image, 224 px) in a DataLoader with each listed number of worker
   processes, optionally pinned and copied to a GPU (``--device cuda``). The
   GPU target: at least 3,000 images/s, so that loading never starves an H100.
   ``--augment device`` times the alternative: workers move uint8 pixels and
   :class:`~medmod_lib.cxr.batch_augment.BatchSSLAugment` augments whole
   batches on ``--device``.
   ``--data-root`` takes the films of an existing data root (e.g. the kit's
   synthetic one) instead of generating full-size films, and skips step 2.

Usage::

    python benchmarks/cxr_loader.py --images 80 --workers 2 [--films kit|noise] \\
        [--workdir /tmp/cxr_bench] [--json out.json]
    python benchmarks/cxr_loader.py --data-root data/synthetic --ssl-workers 0 4 8 16 \\
        --pin-memory --device cuda --augment cpu device --json ssl.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from medmod_lib.cxr import (
    ImageCache,
    RadiologyDataset,
    build_cache,
    decode_resized,
    get_transforms,
    load_metadata,
    radiology_table,
)
from medmod_lib.reference import CHEXPERT_LABELS
from medmod_lib.schema import MIMIC_CXR, cxr_image_relpath

# A typical MIMIC-CXR-JPG frontal size (``Rows`` x ``Columns`` in the release's
# mimic-cxr-2.0.0-metadata.csv.gz; e.g. dicom 02aa804e-... of subject 10000032).
HEIGHT, WIDTH = 3056, 2544


def synthetic_film(seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A full-size grey film: smooth anatomy-like structure, rib banding, grain.

    Quality-95 JPEGs of these are ~1.5 MB, close to the release average (~1.3 MB).
    """
    rng = np.random.default_rng(seed)
    small = rng.normal(0, 1, (48, 40)).astype(np.float32)
    small = ((small - small.min()) / np.ptp(small) * 120 + 60).astype(np.uint8)
    low = np.asarray(
        Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC), np.float32
    )
    y, x = np.ogrid[0:height, 0:width]
    body = 80 * np.exp(
        -(((x - width / 2) / (0.35 * width)) ** 2 + ((y - 0.55 * height) / (0.4 * height)) ** 2)
    )
    ribs = 12 * np.sin(y / (height / 18.0)) * (np.abs(x - width / 2) > 0.1 * width)
    img = 0.6 * low + body + ribs + rng.normal(0, 2.0, (height, width)).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_release(root: Path, n: int) -> Path:
    """n full-size JPEGs plus metadata/chexpert/negbio/split files in the release layout."""
    rel = root / "mimic-cxr-jpg" / "2.1.0"
    done = rel / "mimic-cxr-2.0.0-metadata.csv.gz"
    if done.exists() and len(pd.read_csv(done)) == n:
        return rel  # reuse the films of an earlier run in the same --workdir
    meta, labels = [], []
    rng = np.random.default_rng(0)
    for k in range(n):
        subject, study = 10000000 + k, 50000000 + k
        dicom = "-".join(f"{k:040x}"[i : i + 8] for i in range(0, 40, 8))
        path = rel / cxr_image_relpath(subject, study, dicom)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(synthetic_film(k)).save(path, quality=95)
        meta.append(
            [
                dicom,
                subject,
                study,
                "CHEST (PORTABLE AP)",
                "AP",
                HEIGHT,
                WIDTH,
                21800723,
                80556.875,
                "CHEST (PORTABLE AP)",
                "antero-posterior",
                "",
            ]
        )
        labels.append([subject, study, *rng.choice([1.0, 0.0, -1.0, np.nan], 14)])
    pd.DataFrame(meta, columns=list(MIMIC_CXR["mimic-cxr-2.0.0-metadata"])).to_csv(
        rel / "mimic-cxr-2.0.0-metadata.csv.gz", index=False
    )
    for name in ("chexpert", "negbio"):
        pd.DataFrame(labels, columns=["subject_id", "study_id", *CHEXPERT_LABELS]).to_csv(
            rel / f"mimic-cxr-2.0.0-{name}.csv.gz", index=False
        )
    return rel


class JPEGDataset(Dataset):
    """Decode the original JPEG on every access (the reference implementations' way)."""

    def __init__(self, table: pd.DataFrame, rel: Path, transform, *, draft: bool) -> None:
        self.paths = [rel / p for p in table["path"]]
        self.transform, self.draft = transform, draft
        self.resize = v2.Resize(256, antialias=True)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        if self.draft:
            pixels = decode_resized(self.paths[i], 256)  # writable copy
        else:
            with Image.open(self.paths[i]) as im:
                pixels = np.array(self.resize(im.convert("L")))
        return self.transform(torch.from_numpy(pixels).unsqueeze(0))


def timed(fn, *args, **kwargs) -> tuple[object, float, float]:
    """``(result, wall seconds, CPU seconds of this process and its finished children)``.

    CPU time is the honest per-core figure on a shared machine: wall time also
    counts the time other processes held the cores.
    """

    def cpu() -> float:
        me, kids = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    wall0, cpu0 = time.perf_counter(), cpu()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall0, cpu() - cpu0


def drain(dataset: Dataset, epochs: int, batch_size: int = 32) -> int:
    """Iterate a single-process DataLoader ``epochs`` times; returns images seen."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=0)
    seen = 0
    for _ in range(epochs):
        for batch in loader:
            seen += len(batch["image"] if isinstance(batch, dict) else batch)
    return seen


def kit_release(root: Path, n: int) -> Path:
    """The kit's own synthetic release at full size (rendered radiographs), about n images."""
    from medmod_lib.paths import mimic_cxr_root
    from medmod_lib.synthetic import generate

    if not (root / "mimic-cxr-jpg").is_dir():
        # The generator writes about 3.4 images per patient.
        generate(root, patients=max(1, round(n / 3.4)), seed=0, full_size=True, progress=False)
    return mimic_cxr_root(root)


def run(
    images: int, workers: int, workdir: Path, films: str = "kit", cache_epochs: int = 5
) -> dict:
    """Run every measurement; returns the numbers as a dict (rates in images/s).

    Args:
        images: about how many full-size films to use.
        workers: cache build processes.
        workdir: where films and caches go (films are reused between runs).
        films: ``"kit"`` (medmod_lib.synthetic, rendered radiographs) or
            ``"noise"`` (this script's structured-noise films, 3056 x 2544).
        cache_epochs: passes over the cache (it is fast; more passes, steadier rate).
    """
    make = kit_release if films == "kit" else write_release
    rel, gen_s, _ = timed(make, workdir / films, images)
    meta = load_metadata(rel, views=None)
    meta = meta[[(rel / p).is_file() for p in meta["path"]]]
    images = len(meta)
    sizes = [(rel / p).stat().st_size for p in meta["path"]]
    out: dict = {
        "films": films,
        "images": images,
        "jpeg_pixels_mean": f"{meta['Rows'].mean():.0f}x{meta['Columns'].mean():.0f}",
        "jpeg_mb_mean": round(float(np.mean(sizes)) / 1e6, 2),
        "cpu_count": os.cpu_count(),
        "load_avg_1min_before": round(os.getloadavg()[0], 2),
        "generate_s": round(gen_s, 1),
    }
    for old in ("cache1", "cache"):
        shutil.rmtree(workdir / old, ignore_errors=True)
    ids = meta["dicom_id"].tolist()
    serial, wall, cpu = timed(
        build_cache, rel, workdir / "cache1", dicom_ids=ids, workers=1, progress=False
    )
    assert serial.ok == images, str(serial)
    out["cache_build_1_worker_wall"] = round(images / wall, 1)
    out["cache_build_per_cpu_second"] = round(images / cpu, 1)
    shard = max(1, images // (4 * workers))
    par, wall, cpu = timed(
        build_cache,
        rel,
        workdir / "cache",
        dicom_ids=ids,
        workers=workers,
        shard_size=shard,
        progress=False,
    )
    out[f"cache_build_{workers}_workers_wall"] = round(images / wall, 1)
    out[f"cache_build_{workers}_workers_wall_per_worker"] = round(images / wall / workers, 1)
    out[f"cache_build_{workers}_workers_per_cpu_second"] = round(images / cpu, 1)

    split = pd.DataFrame({"subject_id": meta["subject_id"].unique(), "split": "train"})
    table = radiology_table(rel, subject_split=split, views=None)
    table = table[table["dicom_id"].isin(ids)]
    tf = get_transforms("benchmark", train=False)
    torch.set_num_threads(1)  # one core per loader, as in one DataLoader worker
    sources = {
        "cache": (
            RadiologyDataset(table, ImageCache(workdir / "cache"), transform=tf),
            cache_epochs,
        ),
        "jpeg_full_decode": (JPEGDataset(table, rel, tf, draft=False), 1),
        "jpeg_draft_decode": (JPEGDataset(table, rel, tf, draft=True), 1),
    }
    for name, (dataset, epochs) in sources.items():
        seen, wall, cpu = timed(drain, dataset, epochs)
        out[f"loader_{name}_wall"] = round(seen / wall, 1)
        out[f"loader_{name}_per_cpu_second"] = round(seen / cpu, 1)
    for kind in ("wall", "per_cpu_second"):
        base = out[f"loader_cache_{kind}"]
        out[f"speedup_vs_full_decode_{kind}"] = round(
            base / out[f"loader_jpeg_full_decode_{kind}"], 1
        )
        out[f"speedup_vs_draft_decode_{kind}"] = round(
            base / out[f"loader_jpeg_draft_decode_{kind}"], 1
        )
    out["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    return out


class SSLViews(Dataset):
    """``samples`` items cycling over cached images, each as ``views`` augmented views.

    Items are dicts like the pretraining batches: ``image`` and, for two views,
    ``image_view2`` (float (1, size, size) each). With ``transform=None`` an item
    is the cached uint8 ``image`` alone (augmented later, on the device, in batches).
    """

    def __init__(
        self, cache: ImageCache, dicom_ids: Sequence[str], transform, *, views: int, samples: int
    ) -> None:
        if not dicom_ids:
            raise ValueError(f"{cache.cache_dir}: no cached images to load")
        if views not in (1, 2):
            raise ValueError(f"views must be 1 or 2, got {views}")
        self.cache, self.ids, self.transform = cache, list(dicom_ids), transform
        self.views, self.samples = views, samples

    def __len__(self) -> int:
        return self.samples

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        pixels = torch.from_numpy(self.cache.get(self.ids[i % len(self.ids)])).unsqueeze(0)
        if self.transform is None:
            return {"image": pixels}
        item = {"image": self.transform(pixels)}
        if self.views == 2:
            item["image_view2"] = self.transform(pixels)
        return item


def ssl_loader_rates(
    cache_dir: Path,
    *,
    workers: Sequence[int],
    samples: int,
    batch_size: int,
    image_size: int = 224,
    preset: str = "simclr",
    views: int = 2,
    pin_memory: bool = False,
    device: str = "cpu",
    augment: str = "cpu",
) -> dict:
    """Images/s of the pretraining loader from the cache, per number of worker processes.

    Each rate counts source images (each augmented ``views`` times) from the
    first batch's arrival to the last batch on ``device`` (worker start-up is
    reported apart, as ``..._startup_s``). Keys: ``ssl_loader_<w>_workers_...``
    for ``augment="cpu"`` (the preset in the workers), ``ssl_device_aug_<w>_workers_...``
    for ``augment="device"`` (workers move uint8 pixels; :class:`BatchSSLAugment`
    augments each batch on ``device``; ``preset`` must then be ``"simclr"``).

    Args:
        cache_dir: a built :class:`~medmod_lib.cxr.ImageCache`.
        workers: DataLoader ``num_workers`` values to time, in turn.
        samples: images drawn per timing (cycling over the cache).
        batch_size: images per batch.
        image_size: output side of the augmentation.
        preset: :func:`~medmod_lib.cxr.get_transforms` preset (train augmentations).
        views: augmented views per image (2 for SimCLR/VICReg image pairs).
        pin_memory: pin batches in page-locked memory (for fast copies to a GPU).
        device: where batches are copied (``"cpu"``: not copied).
        augment: ``"cpu"`` (per image, in the loader) or ``"device"`` (per batch).
    """
    from medmod_lib.cxr.batch_augment import BatchSSLAugment

    if augment not in ("cpu", "device"):
        raise ValueError(f"augment must be 'cpu' or 'device', got {augment!r}")
    if augment == "device" and preset != "simclr":
        raise ValueError(f"augment='device' implements the simclr preset only, not {preset!r}")
    cache = ImageCache(cache_dir)
    target = torch.device(device)
    on_device = BatchSSLAugment(image_size).to(target) if augment == "device" else None
    transform = (
        None if on_device else get_transforms(preset, train=True, image_size=image_size, channels=1)
    )
    data = SSLViews(cache, cache.dicom_ids, transform, views=views, samples=samples)
    prefix = "ssl_loader" if augment == "cpu" else "ssl_device_aug"
    out: dict = {
        "ssl_preset": preset,
        "ssl_views": views,
        "ssl_image_size": image_size,
        "ssl_batch_size": batch_size,
        "ssl_samples": samples,
        "ssl_cached_images": len(cache),
        "ssl_pin_memory": pin_memory,
        "ssl_device": str(target),
    }
    torch.set_num_threads(1)  # as in one DataLoader worker
    for w in workers:
        loader = DataLoader(
            data, batch_size=batch_size, num_workers=w, pin_memory=pin_memory, drop_last=False
        )
        start = time.perf_counter()
        seen, counted, first = 0, 0, None
        for batch in loader:
            if target.type != "cpu":
                batch = {k: v.to(target, non_blocking=True) for k, v in batch.items()}
            if on_device is not None:
                batch = {f"view{k}": on_device(batch["image"]) for k in range(views)} | batch
            if first is None:  # the first batch pays for the worker start-up: not counted
                if target.type == "cuda":
                    torch.cuda.synchronize(target)
                first = time.perf_counter()
            else:
                counted += len(batch["image"])
            seen += len(batch["image"])
        if target.type == "cuda":
            torch.cuda.synchronize(target)
        end = time.perf_counter()
        rate = counted / (end - first) if counted else seen / (end - start)
        out[f"{prefix}_{w}_workers_images_per_s"] = round(rate, 1)
        out[f"{prefix}_{w}_workers_startup_s"] = round(first - start, 2)
    return out


def cache_from_root(data_root: Path, workdir: Path, workers: int) -> tuple[Path, dict]:
    """Cache every film of an existing data root into ``workdir/cache_root``; the build's rate."""
    from medmod_lib.paths import mimic_cxr_root

    rel = mimic_cxr_root(data_root)
    ids = load_metadata(rel, views=None)["dicom_id"].tolist()
    cache_dir = workdir / "cache_root"
    shutil.rmtree(cache_dir, ignore_errors=True)
    report, wall, cpu = timed(
        build_cache,
        rel,
        cache_dir,
        dicom_ids=ids,
        workers=workers,
        shard_size=max(1, len(ids) // (4 * workers)),
        progress=False,
    )
    numbers = {
        "films": f"data root {data_root}",
        "images": report.ok,
        "cpu_count": os.cpu_count(),
        f"cache_build_{workers}_workers_wall": round(report.ok / wall, 1),
        f"cache_build_{workers}_workers_per_cpu_second": round(report.ok / cpu, 1),
    }
    return cache_dir, numbers


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=80, help="full-size JPEGs to generate")
    parser.add_argument(
        "--films",
        choices=("kit", "noise"),
        default="kit",
        help="kit: medmod_lib.synthetic renders; noise: structured noise",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keeps the films for reuse; default: a temp folder",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="cache this data root's films instead of generating full-size ones "
        "(skips the JPEG-decode loaders)",
    )
    ssl = parser.add_argument_group("pretraining loader (SSL augmentations from the cache)")
    ssl.add_argument(
        "--ssl-workers", type=int, nargs="*", default=[], help="DataLoader workers to time"
    )
    ssl.add_argument("--ssl-samples", type=int, default=4096, help="images per timing")
    ssl.add_argument("--batch-size", type=int, default=256)
    ssl.add_argument("--image-size", type=int, default=224)
    ssl.add_argument("--preset", default="simclr", help="augmentation preset (train=True)")
    ssl.add_argument("--views", type=int, default=2, choices=(1, 2))
    ssl.add_argument("--pin-memory", action="store_true")
    ssl.add_argument("--device", default="cpu", help="copy batches here (cpu: no copy)")
    ssl.add_argument(
        "--augment",
        nargs="+",
        choices=("cpu", "device"),
        default=["cpu"],
        help="where the SSL augmentations run: cpu (per image, in the workers), "
        "device (per batch, after the copy); several: each in turn",
    )
    args = parser.parse_args(argv)

    def measure(workdir: Path) -> dict:
        if args.data_root is not None:
            cache_dir, numbers = cache_from_root(args.data_root, workdir, args.workers)
        else:
            numbers = run(args.images, args.workers, workdir, args.films)
            cache_dir = workdir / "cache"
        for where in args.augment if args.ssl_workers else ():
            numbers |= ssl_loader_rates(
                cache_dir,
                workers=args.ssl_workers,
                samples=args.ssl_samples,
                batch_size=args.batch_size,
                image_size=args.image_size,
                preset=args.preset,
                views=args.views,
                pin_memory=args.pin_memory,
                device=args.device,
                augment=where,
            )
        return numbers

    if args.workdir is None:
        with tempfile.TemporaryDirectory() as tmp:
            numbers = measure(Path(tmp))
    else:
        numbers = measure(args.workdir)
    width = max(map(len, numbers))
    for key, value in numbers.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
