"""Prompts of linked samples: window per task, no future events, history, cached embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medmod_lib import workflow
from medmod_lib.linking.rules import LinkingRule
from medmod_lib.prompts import EmbeddingCache
from medmod_lib.prompts.dataset import (
    LazySentenceEncoder,
    PromptDataset,
    build_prompt_table,
    earlier_diagnoses,
    prompt_window_hours,
)
from medmod_lib.prompts.pipeline import prompt_datasets

CHANNELS = ["Heart Rate", "Temperature", "Oxygen saturation", "Glucose", "Respiratory rate"]


def test_prompt_window_per_task():
    intime = pd.Timestamp("2150-01-01")
    samples = pd.DataFrame(
        {
            "intime": [intime] * 2,
            "outtime": [intime + pd.Timedelta(hours=100)] * 2,
            "period_length": [30.0, 200.0],
        }
    )
    ihm = prompt_window_hours(samples, LinkingRule.for_task("in-hospital-mortality"))
    np.testing.assert_allclose(ihm, [30.0, 48.0])  # never past 48 h, nor past the EHR window
    rad = prompt_window_hours(samples, LinkingRule.for_task("radiology"))
    np.testing.assert_allclose(rad, [30.0, 100.0])  # image time (period_length) or outtime
    dec = prompt_window_hours(samples, LinkingRule.for_task("decompensation"))
    np.testing.assert_allclose(dec, [30.0, 200.0])


@pytest.mark.parametrize(
    ("task", "mode"), [("in-hospital-mortality", "paired"), ("radiology", "paired")]
)
def test_linked_prompts_never_use_events_after_the_window(linked, task, mode):
    ehr, data, _ = linked
    cohort = data.cohort(task, mode)
    samples = cohort.samples
    ts = ehr.timeseries()
    table = build_prompt_table(samples, ehr.stays, ts, cohort.rule, n_variants=3, progress=False)
    assert len(table) == len(samples) and table.n_variants == 3
    if task == "in-hospital-mortality":
        assert (table.samples["window_hours"] == 48.0).all()
    else:  # radiology: the window ends at the image
        np.testing.assert_allclose(table.samples["window_hours"], samples["hours_from_intime"])
    # Rewrite every event after each sample's own window end: nothing may change.
    end = table.samples.groupby("stay_id")["window_hours"].min()
    future = ts["Hours"].astype(float) > ts["stay_id"].map(end).fillna(np.inf) + 1e-6
    assert future.any()
    altered = ts.copy()
    altered.loc[future, CHANNELS] = "999"
    again = build_prompt_table(
        samples, ehr.stays, altered, cohort.rule, n_variants=3, progress=False
    )
    assert again.variants == table.variants
    # ...whereas events inside the window do reach the prompt.
    inside = ts.copy()
    inside.loc[~future & inside["Heart Rate"].ne(""), "Heart Rate"] = "30"
    changed = build_prompt_table(samples, ehr.stays, inside, cohort.rule, progress=False)
    assert (changed.samples["prompt"] != table.samples["prompt"]).any()
    assert changed.samples["prompt"].str.contains("Bradycardic").any()


def test_variants_are_seeded_per_sample_not_per_order(linked):
    ehr, data, _ = linked
    cohort = data.cohort("in-hospital-mortality", "paired")
    ts = ehr.timeseries()
    a = build_prompt_table(cohort.samples, ehr.stays, ts, cohort.rule, seed=3, progress=False)
    rev = cohort.samples.iloc[::-1]
    b = build_prompt_table(rev, ehr.stays, ts, cohort.rule, seed=3, progress=False)
    assert a.variants == b.variants[::-1]
    c = build_prompt_table(cohort.samples, ehr.stays, ts, cohort.rule, seed=4, progress=False)
    assert [v[0] for v in c.variants] == [v[0] for v in a.variants]  # canonical unchanged
    assert [v[1:] for v in c.variants] != [v[1:] for v in a.variants]


def test_image_only_cohort_is_refused_with_a_fix(linked):
    ehr, data, _ = linked
    cohort = data.cohort("radiology", "radiology")
    with pytest.raises(ValueError, match="radiology/paired"):
        build_prompt_table(cohort.samples, ehr.stays, ehr.timeseries(), cohort.rule)


def test_history_uses_only_earlier_admissions(linked, synthetic_root):
    from medmod_lib.ehr.reader import MimicIVReader
    from medmod_lib.ehr.tasks import phenotype_labels

    ehr, _, _ = linked
    reader = MimicIVReader(synthetic_root)
    adm = reader.table("admissions", ["subject_id", "hadm_id", "admittime", "dischtime"])
    dx = reader.table("diagnoses_icd", ["hadm_id", "icd_code", "icd_version"])
    reader.close()
    hadm = ehr.stays["hadm_id"].astype(int).tolist()
    history = earlier_diagnoses(synthetic_root, hadm)
    assert set(history) == set(hadm)
    phen = phenotype_labels(dx, adm["hadm_id"])
    adm = adm.set_index("hadm_id")
    with_history = 0
    for h, names in history.items():
        me = adm.loc[h]
        same = adm[adm["subject_id"] == me["subject_id"]]
        before = same[same["dischtime"] <= me["admittime"]].index
        expected = (
            sorted(phen.columns[phen.loc[before].any(axis=0).to_numpy()]) if len(before) else []
        )
        assert names == expected
        with_history += bool(names)
    assert with_history > 0  # the synthetic data has readmissions with coded history


def test_second_build_reuses_cached_embeddings(linked, counting_encoder):
    ehr, data, out = linked
    task = workflow.task_datasets(
        data, ehr, None, task="in-hospital-mortality", mode="paired", max_samples=12
    )
    first_enc = type(counting_encoder)()
    first = prompt_datasets(
        task, ehr, cache_dir=out / "emb", encoder=first_enc, n_variants=3, progress=False
    )
    # training samples carry 3 texts; validation and test the canonical prompt only
    n_texts = len(first.train) * 3 + len(first.val) + len(first.test)
    assert first.cache.misses == first_enc.texts > 0
    assert first.cache.hits + first.cache.misses == n_texts
    second_enc = type(counting_encoder)()
    second = prompt_datasets(
        task, ehr, cache_dir=out / "emb", encoder=second_enc, n_variants=3, progress=False
    )
    assert second_enc.calls == 0 and second.cache.misses == 0 and second.cache.hits == n_texts
    for split, variants in (("train", 3), ("val", 1), ("test", 1)):
        a, b = getattr(first, split), getattr(second, split)
        assert a.embeddings.shape == (len(a), variants, 3)
        np.testing.assert_array_equal(a.embeddings.numpy(), b.embeddings.numpy())


def test_batches_carry_prompts_and_embeddings(linked, counting_encoder):
    ehr, data, out = linked
    task = workflow.task_datasets(data, ehr, None, task="in-hospital-mortality", mode="paired")
    pdata = prompt_datasets(
        task, ehr, cache_dir=out / "emb2", encoder=counting_encoder, n_variants=2, progress=False
    )
    batch = next(iter(pdata.loader("train", batch_size=4, shuffle=False)))
    b = len(batch["prompts"])
    assert batch["text_embedding"].shape == (b, 2, 3)
    assert next(iter(pdata.loader("val", batch_size=4)))["text_embedding"].shape == (4, 1, 3)
    assert batch["has_text"].all() and batch["ehr"].shape[0] == b
    assert batch["prompts"][0][0] == pdata.train.table.samples["prompt"].iloc[0]
    with pytest.raises(ValueError, match="samples but the prompts"):
        PromptDataset(task.val, pdata.train.table)


def test_without_a_cache_batches_carry_texts_only(linked):
    ehr, data, _ = linked
    task = workflow.task_datasets(data, ehr, None, task="in-hospital-mortality", mode="paired")
    pdata = prompt_datasets(task, ehr, progress=False)  # for an end-to-end text encoder
    assert pdata.cache is None and pdata.train.embeddings is None
    batch = next(iter(pdata.loader("train", batch_size=2)))
    assert "text_embedding" not in batch and len(batch["prompts"][0]) == 4


def test_lazy_sentence_encoder_is_not_loaded_when_every_text_is_cached(tmp_path):
    texts = ["Older man, 71 years old.", "Febrile; last temperature 38.5 °C."]

    class StandIn:  # writes the cache file the MiniLM encoder would use
        name = LazySentenceEncoder().name

        def encode(self, batch):
            return np.ones((len(batch), 384), np.float32)

    EmbeddingCache(tmp_path, StandIn()).encode(texts)
    lazy = LazySentenceEncoder()
    cache = EmbeddingCache(tmp_path, lazy)
    assert cache.encode(texts[::-1]).shape == (2, 384)
    assert lazy.loads == 0 and cache.hits == 2 and cache.misses == 0
