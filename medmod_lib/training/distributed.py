"""DistributedDataParallel helpers for runs launched with ``torchrun``.

``torchrun --nproc_per_node=N`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and
starts a process group (NCCL on CUDA, gloo on CPU). Without them it returns a
single-process :class:`DistInfo` and nothing changes, so the same script runs
on a laptop, one GPU or several. Only rank 0 writes checkpoints and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when a process group with more than one process is running."""
        return self.world_size > 1


def current() -> DistInfo:
    """The :class:`DistInfo` of an already initialised process group (or a single process)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(
            rank=dist.get_rank(),
            world_size=dist.get_world_size(),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
            backend=str(dist.get_backend()),
        )
    return DistInfo()


def init_distributed(backend: str | None = None) -> DistInfo:
    """Start the process group when launched by ``torchrun``; no-op otherwise.

    Args:
        backend: ``"nccl"``, ``"gloo"`` or ``None`` (NCCL when CUDA is available, else gloo).

    Returns:
        This process's :class:`DistInfo`. On CUDA, the process's GPU is set to ``LOCAL_RANK``.
    """
    if dist.is_available() and dist.is_initialized():
        return current()
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if world_size <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed.")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return current()


def cleanup() -> None:
    """Destroy the process group if one is running."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_mean(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar metrics over processes (identity in a single process).

    Args:
        values: name -> float on this rank (same keys on every rank).
        device: where the reduction tensor lives (the GPU for NCCL).

    Returns:
        name -> mean over ranks.
    """
    info = current()
    if not info.enabled or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= info.world_size
    return dict(zip(keys, t.tolist(), strict=True))


def any_true(flag: bool, device: torch.device) -> bool:
    """True if ``flag`` is true on any process (used to skip a step on every rank alike)."""
    if not current().enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def distributed_sampler(
    dataset: Dataset, *, shuffle: bool, seed: int, drop_last: bool = False
) -> DistributedSampler | None:
    """A ``DistributedSampler`` over ``dataset`` when a process group runs, else ``None``."""
    info = current()
    if not info.enabled:
        return None
    return DistributedSampler(
        dataset,
        num_replicas=info.world_size,
        rank=info.rank,
        shuffle=shuffle,
        seed=seed,
        drop_last=drop_last,
    )


def wrap_ddp(
    module: nn.Module, device: torch.device, *, find_unused_parameters: bool = False
) -> nn.Module:
    """Wrap ``module`` in ``DistributedDataParallel`` when a process group runs.

    Args:
        module: the model, already on ``device``.
        device: this process's device.
        find_unused_parameters: set when some parameters get no gradient in a step
            (e.g. the EHR encoder in intra-modal image pretraining).

    Returns:
        The wrapper, or ``module`` itself in a single process.
    """
    if not current().enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=ids, find_unused_parameters=find_unused_parameters
    )
