"""``benchmarks/train_step.py``: the timed variants and the JSON of rates."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def ts(load_benchmark):
    return load_benchmark("train_step")


def variants(runs):
    return [(r["device"].type, r["amp"], r["channels_last"], r["batch"]) for r in runs]


def test_default_plan_is_cpu_fp32_and_cuda_with_and_without_amp(ts):
    runs = ts.plan_runs(
        cpu=True, cuda=True, amp=None, channels_last="auto", cpu_batch=32, gpu_batch=256
    )
    assert variants(runs) == [
        ("cpu", "off", False, 32),
        ("cuda", "off", True, 256),
        ("cuda", "auto", True, 256),
    ]


def test_both_settings_time_every_combination(ts):
    runs = ts.plan_runs(
        cpu=False, cuda=True, amp="both", channels_last="both", cpu_batch=32, gpu_batch=64
    )
    assert variants(runs) == [
        ("cuda", "off", False, 64),
        ("cuda", "off", True, 64),
        ("cuda", "auto", False, 64),
        ("cuda", "auto", True, 64),
    ]
    cpu_only = ts.plan_runs(
        cpu=True, cuda=False, amp="on", channels_last="off", cpu_batch=4, gpu_batch=8
    )
    assert variants(cpu_only) == [("cpu", "auto", False, 4)]


def test_json_holds_one_positive_rate_per_variant(ts, tmp_path, one_thread):
    out = tmp_path / "ts.json"
    ts.main(
        ["--arch", "resnet18", "--image-size", "32", "--seq-len", "4", "--cpu-batch", "4",
         "--warmup", "0", "--steps", "1", "--methods", "vicreg", "--amp", "both",
         "--channels-last", "both", "--threads", "1", "--json", str(out)]
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert data["settings"] == {
        "arch": "resnet18", "image_size": 32, "seq_len": 4, "warmup": 0, "steps": 1
    }  # fmt: skip
    runs = data["runs"]
    assert [(r["amp"], r["channels_last"]) for r in runs] == [
        ("off", False), ("off", True), ("auto", False), ("auto", True)
    ]  # fmt: skip
    for r in runs:
        assert r["method"] == "vicreg" and r["device"] == "cpu" and r["batch"] == 4
        assert r["precision"] == "fp32"  # autocast is CUDA-only: "auto" is fp32 on a CPU
        assert r["samples_per_s"] > 0
