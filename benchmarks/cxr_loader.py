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

Usage::

    python benchmarks/cxr_loader.py --images 80 --workers 2 [--films kit|noise] \\
        [--workdir /tmp/cxr_bench] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
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

HEIGHT, WIDTH = 3056, 2544  # the most common MIMIC-CXR frontal size (FACTS §2)


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


def main() -> None:
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
    args = parser.parse_args()
    if args.workdir is None:
        with tempfile.TemporaryDirectory() as tmp:
            numbers = run(args.images, args.workers, Path(tmp), args.films)
    else:
        numbers = run(args.images, args.workers, args.workdir, args.films)
    width = max(map(len, numbers))
    for key, value in numbers.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
