"""Command line: ``python -m medmod_lib.pretrain --config cfg.yaml`` (also under torchrun).

The YAML file has three sections::

    pretrain:            # PretrainConfig fields
      method: simclr
      epochs: 5
    data:
      factory: medmod_lib.pretrain.data:random_pair_datasets   # "module:function"
      kwargs: {n_train: 64, n_val: 32}
    out_dir: outputs/pretrain/simclr

``factory(**kwargs)`` returns ``{"train": Dataset, "val": Dataset | None,
"collate_fn": callable | None}``. Under ``torchrun --nproc_per_node=N`` every process
runs this script; data are sharded with a ``DistributedSampler``, gradients are
averaged by DDP, and only rank 0 writes checkpoints and the log. At the end each
rank prints a SHA-256 of its weights, so identical replicas can be checked.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from .. import cli
from ..devices import describe_device, resolve_device
from ..training import distributed as ddp
from .config import PretrainConfig
from .core import PretrainResult, pretrain
from .data import make_loader


def weights_sha256(module: torch.nn.Module) -> str:
    """SHA-256 over the module's state (names and raw bytes, in order)."""
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _load_factory(spec: str):
    module_name, _, func = spec.partition(":")
    if not func:
        raise ValueError(f"data.factory must look like 'package.module:function', got {spec!r}")
    return getattr(importlib.import_module(module_name), func)


def read_config(path: str | Path) -> dict[str, Any]:
    """Read and check the YAML run file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No config file at {path}.")
    raw = yaml.safe_load(path.read_text()) or {}
    unknown = sorted(set(raw) - {"pretrain", "data", "out_dir"})
    if unknown:
        raise ValueError(f"{path}: unknown sections {unknown}; expected pretrain, data, out_dir.")
    if "data" not in raw or "factory" not in raw["data"]:
        raise ValueError(f"{path}: a 'data: {{factory: module:function}}' section is required.")
    return raw


def run(raw: dict[str, Any], *, out_dir: str | Path | None = None) -> PretrainResult:
    """Build data and loaders from a parsed run file and pretrain (inside any process group)."""
    config = PretrainConfig.from_dict(dict(raw.get("pretrain") or {}))
    data = _load_factory(raw["data"]["factory"])(**(raw["data"].get("kwargs") or {}))
    collate = data.get("collate_fn")
    train_loader = make_loader(
        data["train"],
        batch_size=config.batch_size,
        shuffle=True,
        seed=config.seed,
        num_workers=config.num_workers,
        collate_fn=collate,
    )
    val_loader = None
    if data.get("val") is not None:
        val_loader = make_loader(
            data["val"],
            batch_size=config.batch_size,
            shuffle=False,
            num_workers=config.num_workers,
            collate_fn=collate,
        )
    return pretrain(config, train_loader, val_loader, out_dir=out_dir or raw.get("out_dir"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m medmod_lib.pretrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", required=True, help="YAML run file (sections pretrain, data, out_dir)"
    )
    parser.add_argument("--out-dir", default=None, help="overrides out_dir of the run file")
    cli.add_debug_flag(parser)
    args = parser.parse_args(argv)
    raw = read_config(args.config)
    info = ddp.init_distributed()
    try:
        device = resolve_device((raw.get("pretrain") or {}).get("device", "auto"))
        if info.is_main:
            print(
                f"pretraining on {describe_device(device)}, world size {info.world_size}",
                flush=True,
            )
        result = run(raw, out_dir=args.out_dir)
        print(
            f"rank {info.rank}: final weights sha256={weights_sha256(result.fit.model)}", flush=True
        )
        if info.is_main:
            print(
                f"best epoch {result.best_epoch} ({result.best_score}); outputs in {result.out_dir}"
            )
    finally:
        ddp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m medmod_lib.pretrain"))
