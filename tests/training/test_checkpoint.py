import random

import numpy as np
import pytest
import torch

from medmod_lib.training.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)


def _draw(loader):
    return (
        random.random(),
        float(np.random.rand()),
        float(torch.rand(1)),
        next(iter(loader))["ehr"].sum().item(),
    )


def test_rng_round_trip_through_a_weights_only_file(tmp_path, make_loader):
    loader = make_loader()
    random.seed(3)
    np.random.seed(3)
    torch.manual_seed(3)
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng_state(loader)})
    first = _draw(loader)
    _draw(loader)  # move every RNG on
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"], loader)
    assert _draw(loader) == first


def test_load_is_weights_only(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled code ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(RuntimeError, match="evil.pt.*weights_only"):
        load_checkpoint(tmp_path / "evil.pt")


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_save_is_atomic_and_leaves_no_temp(tmp_path):
    path = save_checkpoint(tmp_path / "sub" / "last.pt", {"w": torch.ones(2), "epoch": 1})
    assert path.is_file() and not (tmp_path / "sub" / "last.pt.tmp").exists()
    assert load_checkpoint(path)["epoch"] == 1
