"""Get-or-build steps shared by the notebooks, so each one also runs on its own.

Every notebook needs some of: the raw data, the processed EHR folder, the
linked cohorts, the image cache, and task datasets. Each ``ensure_*`` function
reuses what an earlier notebook of the same run left in ``output_dir`` when it
was built from the same inputs with the same settings, and builds it
otherwise; :func:`prepare_study` makes the common four calls in one::

    ehr, linked, cache = prepare_study(ctx.data_root, ctx.output_dir)
    data = task_datasets(linked, ehr, cache, task="in-hospital-mortality", mode="partial")

With ``MEDMOD_PROCESSED_DIR`` set (or ``processed_dir=`` passed), :func:`ensure_processed`
uses that existing processed folder as is, e.g. a mimic3-benchmarks / MedFuse folder
imported with ``python -m medmod_lib.export.importer``, instead of building one from the
MIMIC-IV tables; the X-rays still come from the MIMIC-CXR-JPG release of the data root,
and :func:`ensure_linked` fingerprints the folder's content, so a changed import is linked
again.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch.utils.data import DataLoader

from . import artifacts, paths
from .ehr.pipeline import EHRConfig, prepare_ehr
from .ehr.processed import ProcessedEHR
from .linking import LinkConfig, LinkedData, MultimodalCollate, MultimodalDataset, link_cohorts
from .reference import Task

#: Files every processed EHR folder holds (CONTRIBUTING "Processed EHR folder"), besides
#: ``tasks/<task>.parquet`` and ``normalizers/<task>.json``; ``manifest.json`` is written last.
PROCESSED_FILES = (
    "manifest.json",
    "cohort_flow.csv",
    "splits.csv",
    "stays.parquet",
    "timeseries.parquet",
    "hourly/inputs.npy",
    "hourly/index.parquet",
)


def _given_processed(processed_dir: str | Path | None) -> tuple[Path, str] | None:
    """The processed folder to use as is, and where it was named; ``None``: build one."""
    if processed_dir:
        return Path(processed_dir).expanduser(), "processed_dir"
    env = paths.processed_dir()
    return (env, f"${paths.PROCESSED_DIR_ENV}") if env is not None else None


def ensure_data(
    data_root: str | Path | None = None, *, processed_dir: str | Path | None = None
) -> Path:
    """The raw-data root; the synthetic default is generated on first use.

    A root other than the kit's default must already hold a MIMIC-IV release (the error
    says how to point the kit at it), or, when a processed folder is given
    (``processed_dir`` or ``$MEDMOD_PROCESSED_DIR``, see :func:`ensure_processed`), only
    the MIMIC-CXR-JPG release: the EHR then comes from that folder.
    """
    root = Path(data_root).expanduser() if data_root else paths.data_root()
    if paths.is_default_data_root(root):
        from .synthetic import ensure_dataset

        ensure_dataset(root)
    if _given_processed(processed_dir) is None:
        paths.mimic_iv_root(root)  # raises a clear error when no release is there
    else:
        paths.mimic_cxr_root(root)
    return root


def default_ehr_config(data_root: str | Path) -> EHRConfig:
    """The processing settings a data root asks for: :class:`EHRConfig` defaults, plus the
    train/val/test shares that a kit-generated synthetic root declares in its manifest.

    The synthetic demo declares an evaluation-heavy split
    (:data:`medmod_lib.synthetic.generate.EVALUATION_SPLIT`) so that its test sets resolve
    the planted differences; real MIMIC (no kit manifest) gets the benchmark's 70/10/20.
    Pass an explicit ``EHRConfig`` to :func:`ensure_processed` to choose otherwise.
    """
    from .synthetic.writer import read_manifest

    manifest = read_manifest(Path(data_root).expanduser())
    split = (manifest or {}).get("split_fractions")
    return EHRConfig(split_fractions=tuple(split)) if split else EHRConfig()


def ensure_processed(
    data_root: str | Path,
    output_dir: str | Path,
    config: EHRConfig | None = None,
    *,
    processed_dir: str | Path | None = None,
) -> ProcessedEHR:
    """``output_dir/processed``: reused if built from the same files with the same config.

    Reuse follows :mod:`medmod_lib.artifacts` (see :func:`build_processed`);
    ``config.duckdb`` (threads, memory cap, scratch folders) changes how fast the
    folder is built, not what it holds, so it is not compared. ``config=None`` means
    :func:`default_ehr_config` of the data root.

    With ``processed_dir`` (or, when it is ``None``, ``$MEDMOD_PROCESSED_DIR``) that
    existing folder is checked (:func:`open_processed`) and returned as is: nothing is
    built and MIMIC-IV is not read. This is how the notebooks run on a mimic3-benchmarks /
    MedFuse folder imported with ``python -m medmod_lib.export.importer``.

    Raises:
        FileNotFoundError: the given folder is missing or incomplete (the message says
            which files and how to make it).
        ValueError: ``config`` together with a given folder (it is not rebuilt).
    """
    given = _given_processed(processed_dir)
    if given is not None:
        folder, named_by = given
        if config is not None:
            raise ValueError(
                f"ensure_processed: the processed folder {folder} (from {named_by}) is used as "
                "is, so an EHRConfig cannot apply; pass config=None, or unset "
                f"{paths.PROCESSED_DIR_ENV} to build from MIMIC-IV with this config."
            )
        ehr = open_processed(folder, named_by=named_by)
        print(f"ensure_processed: using {folder} (from {named_by}) as is; MIMIC-IV is not read.")
        return ehr
    config = config or default_ehr_config(data_root)
    return build_processed(data_root, Path(output_dir) / "processed", config)


def open_processed(folder: str | Path, *, named_by: str = "processed_dir") -> ProcessedEHR:
    """An existing processed EHR folder (kit-built or imported), checked to be complete.

    Complete means every file of :data:`PROCESSED_FILES`, at least one
    ``tasks/<task>.parquet`` and a ``manifest.json`` with the hourly header. Missing
    EHR tasks or normalizers only warn: the cells that use them fail, the others run.

    Args:
        folder: the processed folder.
        named_by: where the folder was named (for the messages).

    Raises:
        FileNotFoundError: the folder is missing or incomplete; the message names the
            folder, the missing files and how to make it.
    """
    folder = Path(folder).expanduser()
    fix = (
        "Make it with `python -m medmod_lib.export.importer --benchmark BENCHMARK_DIR "
        f"--out {folder}` (a mimic3-benchmarks / MedFuse folder) or `python -m "
        f"medmod_lib.prepare`, or unset {paths.PROCESSED_DIR_ENV} to build the processed "
        "folder from MIMIC-IV."
    )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Processed folder {folder} (from {named_by}) does not exist. {fix}"
        )
    missing = [name for name in PROCESSED_FILES if not (folder / name).is_file()]
    tasks = sorted(p.stem for p in (folder / "tasks").glob("*.parquet"))
    if not tasks:
        missing.append("tasks/<task>.parquet")
    header = None
    if "manifest.json" not in missing:
        try:
            header = json.loads((folder / "manifest.json").read_text())["hourly"]["header"]
        except (OSError, ValueError, KeyError, TypeError):
            header = None
        if not header:
            missing.append("manifest.json with hourly.header")
    if missing:
        raise FileNotFoundError(
            f"{folder} (from {named_by}) is not a complete processed EHR folder: missing "
            f"{', '.join(missing)}. An import or prepare that was stopped leaves a folder "
            f"without manifest.json. {fix}"
        )
    problems = [
        f"no tasks/{t.value}.parquet" for t in Task if t != Task.RADIOLOGY and t.value not in tasks
    ]
    problems += [
        f"no normalizers/{t}.json"
        for t in tasks
        if not (folder / "normalizers" / f"{t}.json").is_file()
    ]
    if problems:
        warnings.warn(
            f"{folder}: {'; '.join(problems)}. Notebook cells that use those tasks will fail "
            "(ensure_linked links only the tasks the folder has); import every task (no "
            "--tasks) to run everything.",
            stacklevel=3,
        )
    return ProcessedEHR(folder)


def processed_inputs(folder: str | Path) -> dict[str, Path]:
    """The data files of a processed folder, named by their path inside it.

    Linking a folder the kit did not build (an import) fingerprints these by content
    (:func:`ensure_linked`), so a changed or re-imported folder is never reused.
    """
    folder = Path(folder)
    files = [folder / name for name in PROCESSED_FILES]
    files += sorted((folder / "tasks").glob("*.parquet"))
    files += sorted((folder / "normalizers").glob("*.json"))
    return {str(p.relative_to(folder)): p for p in files if p.is_file()}


def built_by_kit(folder: str | Path) -> bool:
    """True for a processed folder built (and stamped) by :func:`build_processed`."""
    stamp = artifacts.read_stamp(folder)
    return stamp is not None and stamp.get("kind") == "processed-ehr"


def build_processed(
    data_root: str | Path,
    out: str | Path,
    config: EHRConfig,
    *,
    force: bool = False,
    keep: tuple[str, ...] = (),
) -> ProcessedEHR:
    """The processed EHR folder ``out``: reused when current, else built atomically.

    Current means (:mod:`medmod_lib.artifacts`): the content (SHA-256) of every table the
    pipeline reads, the release folder and every output-changing field of ``config``
    match its stamp. The folder is built in a temporary sibling and renamed into place
    when complete; ``keep`` names entries of the old folder moved into the new one.
    """
    from .ehr.pipeline import input_files, output_settings
    from .ehr.reader import MimicIVReader

    out = Path(out)
    paths.check_output_location(out, data_root)
    reader = MimicIVReader(data_root, config.duckdb)
    paths.check_output_location(out, data_root, reader.root)
    return artifacts.get_or_build(
        out,
        kind="processed-ehr",
        settings={"release": str(reader.root), **output_settings(config)},
        inputs=input_files(reader, config),
        build=lambda tmp: prepare_ehr(data_root, tmp, config),
        load=ProcessedEHR,
        markers=("manifest.json",),
        force=force,
        keep=keep,
    )


def cxr_input_files(data_root: str | Path) -> dict[str, Path]:
    """The table files (``*.csv.gz``/``*.csv``) at the top of the MIMIC-CXR-JPG release."""
    release = paths.mimic_cxr_root(data_root).resolve()
    return {
        p.name: p
        for p in sorted(release.iterdir())
        if p.is_file() and (p.name.endswith(".csv.gz") or p.name.endswith(".csv"))
    }


def ensure_linked(
    ehr: ProcessedEHR,
    data_root: str | Path,
    output_dir: str | Path,
    config: LinkConfig | None = None,
) -> LinkedData:
    """``output_dir/linked``: reused if linked from this EHR folder with the same config.

    The fingerprint (:mod:`medmod_lib.artifacts`) covers ``config``, the processed
    folder's own fingerprint and the content of the release's metadata and label files.
    A processed folder the kit did not build (an import, see :func:`ensure_processed`)
    has no fingerprint of its inputs, so the content of its data files
    (:func:`processed_inputs`) is part of the links' fingerprint instead.
    ``config=None`` links every task the processed folder has (all five for a full one).
    """
    if config is None:
        have = set(ehr.tasks)
        config = LinkConfig(
            tasks=tuple(t.value for t in Task if t == Task.RADIOLOGY or t.value in have)
        )
    out = Path(output_dir) / "linked"
    release = paths.mimic_cxr_root(data_root).resolve()
    paths.check_output_location(out, data_root, release)
    settings = {"release": str(release), **json.loads(json.dumps(asdict(config), default=str))}
    inputs = cxr_input_files(data_root)
    if not built_by_kit(ehr.root):
        inputs |= {f"processed/{k}": p for k, p in processed_inputs(ehr.root).items()}
    return artifacts.get_or_build(
        out,
        kind="linked",
        settings=settings,
        inputs=inputs,
        upstream={"processed": artifacts.digest_of(ehr.root, "manifest.json")},
        build=lambda tmp: link_cohorts(ehr, data_root, out=tmp, config=config),
        load=LinkedData.load,
        markers=("linking.json",),
    )


def ensure_image_cache(
    data_root: str | Path, output_dir: str | Path, *, size: int = 256, progress: bool = True
):
    """``output_dir/cache_<size>``: every image of the release decoded once (resumable).

    The cache is resumed shard by shard (each shard is renamed into place whole); its
    plan fingerprints the image list (dicom_id and path of every image) and the size.
    When the release lists other images, the old cache is removed and built again; a
    film whose bytes changed since (stat, then SHA-256) has its shard decoded again.
    """
    from .cxr.cache import CachePlanError, ImageCache, build_cache

    cache_dir = Path(output_dir) / f"cache_{size}"
    artifacts.reclaim_partials(cache_dir)
    try:
        report = build_cache(data_root, cache_dir, size=size, progress=progress)
    except CachePlanError as err:
        print(f"ensure_image_cache: {err} Rebuilding it for the current release.")
        artifacts.discard(cache_dir)
        report = build_cache(data_root, cache_dir, size=size, progress=progress)
    return ImageCache(report.cache_dir)


class Study(NamedTuple):
    """What every notebook after 00 starts from (:func:`prepare_study`)."""

    ehr: ProcessedEHR
    linked: LinkedData
    cache: Any  # ImageCache (imported lazily: the cache module starts worker pools)


def prepare_study(
    data_root: str | Path | None, output_dir: str | Path, *, progress: bool = True
) -> Study:
    """The common preparation of the notebooks, each step reused when current.

    The raw data (the synthetic default is generated on first use), the processed EHR
    folder (:func:`ensure_processed`), the linked cohorts (:func:`ensure_linked`) and
    the image cache (:func:`ensure_image_cache`), in that order.

    Examples:
        >>> ehr, linked, cache = prepare_study(ctx.data_root, ctx.output_dir)  # doctest: +SKIP
    """
    root = ensure_data(data_root)  # None: $MEDMOD_DATA_ROOT or the synthetic default
    ehr = ensure_processed(root, output_dir)
    linked = ensure_linked(ehr, root, output_dir)
    return Study(ehr, linked, ensure_image_cache(root, output_dir, progress=progress))


@dataclass
class TaskData:
    """Datasets of one task and cohort mode, one per split."""

    task: Task
    mode: str
    label_columns: list[str]
    train: MultimodalDataset
    val: MultimodalDataset
    test: MultimodalDataset
    collate: MultimodalCollate
    uncached_images: int = 0

    def loader(
        self,
        split: str,
        *,
        batch_size: int = 32,
        shuffle: bool | None = None,
        seed: int = 0,
        num_workers: int = 0,
    ) -> DataLoader:
        """A DataLoader over one split (shuffled for train, seeded)."""
        dataset = getattr(self, split)
        shuffle = (split == "train") if shuffle is None else shuffle
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=self.collate,
            generator=generator,
            num_workers=num_workers,
        )

    def eval_view(self, split: str) -> MultimodalDataset:
        """``split`` with the evaluation transform (no augmentation), as a shallow copy.

        Use it wherever training samples are encoded rather than trained on:
        feature extraction for linear probes, the pretraining probe.
        """
        view = copy.copy(getattr(self, split))
        view.transform = self.test.transform
        return view

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(getattr(self, s))}" for s in ("train", "val", "test"))
        return f"TaskData(task={self.task.value!r}, mode={self.mode!r}, {sizes}, labels={len(self.label_columns)})"


def task_datasets(
    linked: LinkedData,
    ehr: ProcessedEHR | None,
    cache,
    *,
    task: str | Task,
    mode: str = "partial",
    image_size: int = 224,
    channels: int = 1,
    preset: str = "benchmark",
    max_bins: int | None = None,
    max_samples: int | None = None,
    seed: int = 0,
) -> TaskData:
    """Train/val/test datasets of a linked cohort, normalised with the task's train statistics.

    Args:
        linked: the linked cohorts.
        ehr: processed EHR (``None`` for the image-only radiology cohort).
        cache: image cache (``None`` for EHR-only use).
        task, mode: which cohort.
        image_size: output side of the image transforms.
        channels: image channels (1 = grey; 3 repeats it for ImageNet-shaped backbones).
        preset: transform preset (``benchmark`` or ``simclr``).
        max_bins: keep the last ``max_bins`` hours of long windows.
        max_samples: cap each split (random, seeded) for smoke runs.
        seed: seed of the capping.
    """
    from . import cxr

    task = Task.parse(task)
    cohort = linked.cohort(task, mode)
    normalizer = None
    if ehr is not None and task != Task.RADIOLOGY:
        normalizer = ehr.normalizer(task)
    elif ehr is not None:
        normalizer = ehr.normalizer(Task.PHENOTYPING)  # whole-stay statistics
    use_ehr = ehr if mode != "radiology" else None
    sets = {}
    uncached = 0
    for split in ("train", "val", "test"):
        samples = cohort.split(split)
        if cache is not None and mode != "ehr_only":
            # A linked image that failed to decode (missing or corrupt JPEG) is
            # not in the cache: the sample keeps its EHR and counts as unpaired.
            missing = samples["paired"] & ~samples["dicom_id"].astype(str).map(cache.__contains__)
            uncached += int(missing.sum())
            if missing.any():
                samples = samples.assign(paired=samples["paired"] & ~missing)
                if mode in ("paired", "radiology"):
                    samples = samples[samples["paired"]]
        if max_samples is not None and len(samples) > max_samples:
            samples = samples.sample(n=max_samples, random_state=seed).sort_index()
        sets[split] = MultimodalDataset(
            samples,
            task=task,
            label_columns=cohort.label_columns,
            ehr=use_ehr,
            normalizer=normalizer,
            images=cache if mode != "ehr_only" else None,
            transform=cxr.get_transforms(
                preset, train=split == "train", image_size=image_size, channels=channels
            )
            if cache is not None
            else None,
            max_bins=max_bins,
        )
    if uncached:
        warnings.warn(
            f"{uncached} linked images are not in the image cache (missing or corrupt JPEGs, "
            "listed in cache.failures); those samples are treated as unpaired",
            stacklevel=2,
        )
    collate = MultimodalCollate(
        image_shape=(channels, image_size, image_size), class_labels=task == Task.LENGTH_OF_STAY
    )
    return TaskData(
        task=task,
        mode=mode,
        label_columns=cohort.label_columns,
        collate=collate,
        uncached_images=uncached,
        **sets,
    )
