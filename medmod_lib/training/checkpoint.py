"""Checkpoints that resume a run exactly and load with ``weights_only=True``.

A checkpoint holds the model, optimizer, scheduler and grad-scaler states, the
epoch and step counters, the best validation score so far and the RNG states
of Python, NumPy, torch (CPU and every GPU) and the data loader's sampler
generator. Everything is stored as tensors or plain Python types, so
``torch.load(path, weights_only=True)`` reads it without unpickling code.
Files are written atomically (temporary file, then rename), so an interrupted
save never leaves a broken ``last.pt``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

LAST = "last.pt"
BEST = "best.pt"


def _loader_generator(loader: DataLoader | None) -> torch.Generator | None:
    """The generator that drives a loader's shuffling, if it has one."""
    if loader is None:
        return None
    sampler = getattr(loader, "sampler", None)
    gen = getattr(sampler, "generator", None)
    return gen if isinstance(gen, torch.Generator) else getattr(loader, "generator", None)


def capture_rng_state(loader: DataLoader | None = None) -> dict[str, Any]:
    """RNG states of Python, NumPy, torch, CUDA and the loader, as tensors and plain types.

    Args:
        loader: the training loader; its sampler's (or its own) ``torch.Generator``
            is captured when set.

    Returns:
        A dict that :func:`restore_rng_state` accepts.
    """
    version, mt, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": {
            "version": version,
            "state": torch.tensor(mt, dtype=torch.int64),
            "gauss": gauss,
        },
        "numpy": {
            "name": np_name,
            "keys": torch.from_numpy(np_keys.astype(np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "gauss": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    gen = _loader_generator(loader)
    if gen is not None:
        state["loader"] = gen.get_state()
    return state


def restore_rng_state(state: Mapping[str, Any], loader: DataLoader | None = None) -> None:
    """Restore the states captured by :func:`capture_rng_state`.

    Args:
        state: the captured dict.
        loader: the training loader whose generator is restored.
    """
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    nps = state["numpy"]
    np.random.set_state(
        (
            nps["name"],
            nps["keys"].numpy().astype(np.uint32),
            nps["pos"],
            nps["has_gauss"],
            nps["gauss"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    gen = _loader_generator(loader)
    if gen is not None and "loader" in state:
        gen.set_state(state["loader"])


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> Path:
    """Write ``state`` atomically with ``torch.save``.

    Args:
        path: destination file; its folder is created.
        state: tensors and plain Python types only (so it loads with ``weights_only=True``).

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(dict(state), tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely (``weights_only=True``).

    Args:
        path: a file written by :func:`save_checkpoint`.
        map_location: where tensors go (CPU by default; the loop moves them).

    Returns:
        The stored dict.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        RuntimeError: if the file is not a safe checkpoint (names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}; train first or point to an existing .pt file."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle errors come in many types
        raise RuntimeError(
            f"Could not load {path} with weights_only=True ({err}). The file is damaged or was "
            "not written by medmod_lib.training; delete it to restart the run."
        ) from err


def load_model_weights(module: torch.nn.Module, path: str | Path, *, strict: bool = True) -> dict:
    """Load the ``model`` entry of a checkpoint (``last.pt`` or ``best.pt``) into ``module``.

    Args:
        module: the model built with the same configuration.
        path: checkpoint file.
        strict: require matching keys.

    Returns:
        The checkpoint's metadata (everything but the weights).
    """
    ckpt = load_checkpoint(path)
    module.load_state_dict(ckpt["model"], strict=strict)
    return {k: v for k, v in ckpt.items() if k != "model"}
