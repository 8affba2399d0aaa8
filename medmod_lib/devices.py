"""Device detection, mixed-precision availability, threads and seeding.

One place decides where a run executes (CUDA, Apple MPS or CPU) and whether
mixed precision is allowed. Mixed precision and ``channels_last`` are used on
CUDA only; the CPU path is plain fp32 so that a seed gives the same numbers on
every run (the kit's determinism contract).
"""

from __future__ import annotations

import os
import random
from typing import Literal

import numpy as np
import torch

AmpMode = Literal["auto", "bf16", "fp16", "off"]
_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The device to run on.

    Args:
        device: ``"auto"`` / ``None`` (CUDA if available, then MPS, then CPU) or an
            explicit name such as ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: if an explicitly requested accelerator is not available.
    """
    if device is None or str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} requested but CUDA is not available; use 'auto' or 'cpu'."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} requested but MPS is not available; use 'auto' or 'cpu'."
        )
    return dev


def amp_dtype(device: torch.device, amp: AmpMode | bool = "auto") -> torch.dtype | None:
    """The autocast dtype to use, or ``None`` for plain fp32.

    Mixed precision is used only on CUDA. ``"auto"`` picks bf16 where the GPU
    supports it (Ampere and newer) and fp16 otherwise; on CPU and MPS every
    setting gives ``None`` (fp32), so CPU runs stay deterministic.

    Args:
        device: where the model runs.
        amp: ``"auto"``, ``"bf16"``, ``"fp16"``, ``"off"`` (``True``/``False`` mean
            ``"auto"``/``"off"``).

    Returns:
        ``torch.bfloat16``, ``torch.float16`` or ``None``.

    Raises:
        ValueError: on an unknown setting, or bf16 requested on a GPU without it.
    """
    if isinstance(amp, bool):
        amp = "auto" if amp else "off"
    if amp not in ("auto", "bf16", "fp16", "off"):
        raise ValueError(f"amp must be one of 'auto', 'bf16', 'fp16', 'off'; got {amp!r}")
    if amp == "off" or device.type != "cuda":
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        raise ValueError("amp='bf16' requested but this GPU has no bf16 support; use 'fp16'.")
    return _AMP_DTYPES[amp]


def set_num_threads(n: int | None = None) -> int:
    """Set torch's intra-op CPU threads.

    Args:
        n: number of threads; ``None`` uses ``$OMP_NUM_THREADS`` or the number
            of CPUs available to this process.

    Returns:
        The number of threads now in use.
    """
    if n is None:
        env = os.environ.get("OMP_NUM_THREADS")
        n = (
            int(env)
            if env
            else len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    torch.set_num_threads(int(n))
    return torch.get_num_threads()


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (CPU and all GPUs).

    Code in the kit takes explicit seeds or generators; this covers libraries
    that use the global RNGs (weight initialisation, dropout, data-loader shuffling).

    Args:
        seed: the seed (stored with every result).
        deterministic: also ask torch for deterministic kernels
            (``torch.use_deterministic_algorithms(True, warn_only=True)`` and
            cuDNN deterministic mode). CPU runs are deterministic without it;
            on CUDA it costs speed.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def describe_device(device: torch.device) -> str:
    """One line naming the device, e.g. ``"cuda:0 (NVIDIA H100, bf16)"`` or ``"cpu (2 threads)"``."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        bf16 = "bf16" if torch.cuda.is_bf16_supported() else "fp16 only"
        return f"{device} ({name}, {bf16})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
