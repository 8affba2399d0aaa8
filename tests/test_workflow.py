"""The get-or-build steps reuse what is there and rebuild what is stale."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from medmod_lib import workflow as wf
from medmod_lib.ehr import DuckDBSettings
from medmod_lib.linking import LinkConfig


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("run")


def test_processed_and_linked_are_reused(synthetic_root, run_dir):
    ehr = wf.ensure_processed(synthetic_root, run_dir)
    stamp = (ehr.root / "manifest.json").stat().st_mtime_ns
    assert wf.ensure_processed(synthetic_root, run_dir).root == ehr.root
    assert (ehr.root / "manifest.json").stat().st_mtime_ns == stamp  # not rebuilt
    faster = replace(
        wf.default_ehr_config(synthetic_root),
        duckdb=DuckDBSettings(threads=1, chunk_directory=str(run_dir / "tmp")),
    )
    wf.ensure_processed(synthetic_root, run_dir, faster)  # execution settings only: reused
    assert (ehr.root / "manifest.json").stat().st_mtime_ns == stamp
    linked = wf.ensure_linked(ehr, synthetic_root, run_dir)
    stamp = (linked.root / "linking.json").stat().st_mtime_ns
    wf.ensure_linked(ehr, synthetic_root, run_dir)
    assert (linked.root / "linking.json").stat().st_mtime_ns == stamp
    # Another config rebuilds.
    other = wf.ensure_linked(
        ehr, synthetic_root, run_dir, LinkConfig(choice="first", tasks=["in-hospital-mortality"])
    )
    assert other.config["choice"] == "first"


def test_task_datasets_give_model_batches(synthetic_root, run_dir):
    ehr = wf.ensure_processed(synthetic_root, run_dir)
    linked = wf.ensure_linked(ehr, synthetic_root, run_dir)
    cache = wf.ensure_image_cache(synthetic_root, run_dir, size=64, progress=False)
    data = wf.task_datasets(
        linked, ehr, cache, task="in-hospital-mortality", mode="partial", image_size=32
    )
    batch = next(iter(data.loader("train", batch_size=6)))
    assert batch["ehr"].shape[0] == 6 and batch["ehr"].shape[2] == 76
    assert batch["image"].shape[1:] == (1, 32, 32)
    assert torch.all(batch["image"][~batch["paired"]] == 0)
    los = wf.task_datasets(
        linked, ehr, cache, task="length-of-stay", mode="paired", image_size=32, max_samples=10
    )
    assert len(los.train) == 10 and los.train.label_columns == ["los_bucket"]
    assert next(iter(los.loader("train", batch_size=4)))["labels"].dtype == torch.long


def test_custom_data_root_without_release_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="MEDMOD_DATA_ROOT"):
        wf.ensure_data(tmp_path)


class PartialCache:
    """A cache that lost one image (as after a corrupt JPEG)."""

    def __init__(self, cache, lost: str):
        self.cache, self.lost = cache, lost

    def __contains__(self, dicom_id):
        return dicom_id != self.lost and dicom_id in self.cache

    def get(self, dicom_id):
        if dicom_id == self.lost:
            raise KeyError(dicom_id)
        return self.cache.get(dicom_id)


def test_images_missing_from_the_cache_are_counted_not_crashing(synthetic_root, run_dir):
    ehr = wf.ensure_processed(synthetic_root, run_dir)
    linked = wf.ensure_linked(ehr, synthetic_root, run_dir)
    cache = wf.ensure_image_cache(synthetic_root, run_dir, size=64, progress=False)
    train = linked.cohort("in-hospital-mortality", "partial").split("train")
    lost = str(train.loc[train["paired"], "dicom_id"].iloc[0])
    with pytest.warns(UserWarning, match="1 linked images are not in the image cache"):
        data = wf.task_datasets(
            linked,
            ehr,
            PartialCache(cache, lost),
            task="in-hospital-mortality",
            mode="partial",
            image_size=32,
        )
    assert data.uncached_images == 1
    row = data.train.samples.index[data.train.samples["dicom_id"] == lost][0]
    assert data.train[row]["image"] is None and not data.train[row]["paired"]
    paired = wf.task_datasets(
        linked,
        ehr,
        PartialCache(cache, lost),
        task="in-hospital-mortality",
        mode="paired",
        image_size=32,
    )
    assert lost not in set(paired.train.samples["dicom_id"])


def test_a_relative_data_root_is_reused_too(synthetic_root, run_dir, monkeypatch):
    ehr = wf.ensure_processed(synthetic_root, run_dir)
    stamp = (ehr.root / "manifest.json").stat().st_mtime_ns
    monkeypatch.chdir(synthetic_root.parent)
    wf.ensure_processed(synthetic_root.name, run_dir)
    assert (ehr.root / "manifest.json").stat().st_mtime_ns == stamp


def test_processed_is_rebuilt_when_an_output_setting_changes(synthetic_root, run_dir, monkeypatch):
    wf.ensure_processed(synthetic_root, run_dir)
    calls = []

    def fake(root, out, config):
        calls.append(config)
        raise RuntimeError("built")

    monkeypatch.setattr(wf, "prepare_ehr", fake)
    default = wf.default_ehr_config(synthetic_root)
    wf.ensure_processed(synthetic_root, run_dir, replace(default, duckdb=DuckDBSettings(threads=1)))
    assert calls == []
    with pytest.raises(RuntimeError, match="built"):
        wf.ensure_processed(synthetic_root, run_dir, replace(default, seed=1))
    assert len(calls) == 1 and calls[0].seed == 1
    assert wf.ensure_processed(synthetic_root, run_dir).stays is not None  # old one intact


def test_synthetic_root_declares_its_evaluation_split_and_real_roots_keep_the_benchmarks(
    tmp_path,
):
    from medmod_lib.ehr.pipeline import EHRConfig
    from medmod_lib.ehr.splits import DEFAULT_FRACTIONS
    from medmod_lib.synthetic import generate
    from medmod_lib.synthetic.generate import EVALUATION_SPLIT
    from medmod_lib.workflow import default_ehr_config

    root = generate(tmp_path / "syn", patients=5, seed=0, images=False, progress=False)
    assert default_ehr_config(root).split_fractions == EVALUATION_SPLIT
    assert EVALUATION_SPLIT[2] > EVALUATION_SPLIT[0] and sum(EVALUATION_SPLIT) == 1
    real = tmp_path / "real"  # a MIMIC download has no kit manifest
    real.mkdir()
    assert default_ehr_config(real) == EHRConfig()
    assert EHRConfig().split_fractions == DEFAULT_FRACTIONS == (0.7, 0.1, 0.2)


def test_prepare_study_is_the_four_calls_in_order(monkeypatch, tmp_path):
    from medmod_lib import workflow

    calls = []
    monkeypatch.setattr(
        workflow, "ensure_data", lambda root: calls.append(("data", root)) or tmp_path / "root"
    )
    monkeypatch.setattr(
        workflow, "ensure_processed", lambda root, out: calls.append(("processed", root)) or "ehr"
    )
    monkeypatch.setattr(
        workflow,
        "ensure_linked",
        lambda ehr, root, out: calls.append(("linked", ehr)) or "linked",
    )
    monkeypatch.setattr(
        workflow,
        "ensure_image_cache",
        lambda root, out, progress: calls.append(("cache", progress)) or "cache",
    )
    ehr, linked, cache = workflow.prepare_study(tmp_path, tmp_path / "out", progress=False)
    assert (ehr, linked, cache) == ("ehr", "linked", "cache")
    assert [c[0] for c in calls] == ["data", "processed", "linked", "cache"]
    assert calls[2] == ("linked", "ehr") and calls[3] == ("cache", False)
    assert calls[1] == ("processed", tmp_path / "root")  # the root ensure_data resolved
