import random

import numpy as np
import pytest
import torch

from medmod_lib.devices import (
    amp_dtype,
    describe_device,
    resolve_device,
    seed_everything,
    set_num_threads,
)


def test_cpu_device_and_no_amp():
    dev = resolve_device("cpu")
    assert dev == torch.device("cpu")
    assert amp_dtype(dev, True) is None and amp_dtype(dev, "bf16") is None
    assert describe_device(dev).startswith("cpu (")


def test_bad_amp_and_unavailable_accelerator():
    with pytest.raises(ValueError, match="amp must be"):
        amp_dtype(torch.device("cpu"), "fp8")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
        assert resolve_device("auto").type in ("cpu", "mps")


def test_seed_everything_fixes_all_rngs():
    seed_everything(11)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(11)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a


def test_set_num_threads():
    old = torch.get_num_threads()
    try:
        assert set_num_threads(1) == 1
        with pytest.raises(ValueError):
            set_num_threads(0)
    finally:
        torch.set_num_threads(old)
