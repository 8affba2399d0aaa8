"""Pretraining throughput (samples/s) for SimCLR, VICReg and ALIGN.

Times full optimizer steps (forward, loss, backward, AdamW step) of the
pretraining model on random batches: LSTM 256 over (T, 76) inputs plus
ResNet-34 on 1x224x224 images by default. CPU always; on CUDA also with mixed
precision (bf16 where supported, else fp16 with a GradScaler) and channels_last,
exactly as the training loop runs it.

    python benchmarks/train_step.py                    # CPU, batch 32, a few steps
    python benchmarks/train_step.py --steps 10 --gpu-batch 256 --image-size 224
"""

from __future__ import annotations

import argparse
import time

import torch

from medmod_lib.devices import amp_dtype, describe_device, seed_everything, set_num_threads
from medmod_lib.pretrain import (
    METHODS,
    PretrainConfig,
    RandomPairs,
    build_pretrain_model,
    make_loader,
)


def time_steps(
    method: str,
    device: torch.device,
    *,
    amp: str,
    batch_size: int,
    image_size: int,
    seq_len: int,
    arch: str,
    warmup: int,
    steps: int,
) -> float:
    """Samples per second of ``steps`` timed optimizer steps after ``warmup`` untimed ones."""
    seed_everything(0)
    cfg = PretrainConfig(method=method, cxr_arch=arch, ehr_hidden_dim=256, device=str(device))
    model = build_pretrain_model(cfg).to(device)
    dtype = amp_dtype(device, amp)
    channels_last = device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    data = RandomPairs(batch_size, seq_len=seq_len, image_shape=(1, image_size, image_size), seed=0)
    batch = next(iter(make_loader(data, batch_size=batch_size, shuffle=False)))
    batch = {k: v.to(device) for k, v in batch.items()}
    if channels_last:
        batch["image"] = batch["image"].contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = model(batch)["loss"]
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch_size * steps / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--arch", default="resnet34", choices=["resnet18", "resnet34", "resnet50"])
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--seq-len", type=int, default=48, help="hours of EHR input (IHM: 48)")
    p.add_argument("--cpu-batch", type=int, default=32)
    p.add_argument("--gpu-batch", type=int, default=256)
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--steps", type=int, default=2, help="timed steps")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    p.add_argument("--no-cpu", action="store_true", help="skip the CPU runs")
    args = p.parse_args()

    set_num_threads(args.threads)
    runs = [] if args.no_cpu else [(torch.device("cpu"), "off", args.cpu_batch)]
    if torch.cuda.is_available():
        cuda = torch.device("cuda")
        runs += [(cuda, "off", args.gpu_batch), (cuda, "auto", args.gpu_batch)]
    print(
        f"torch {torch.__version__}; {args.arch} at {args.image_size}px + LSTM 256 over {args.seq_len} h"
    )
    print(f"{'method':8} {'device':40} {'precision':9} {'batch':>5} {'samples/s':>10}")
    for device, amp, batch in runs:
        dtype = amp_dtype(device, amp)
        precision = "fp32" if dtype is None else str(dtype).removeprefix("torch.")
        for method in args.methods:
            rate = time_steps(
                method,
                device,
                amp=amp,
                batch_size=batch,
                image_size=args.image_size,
                seq_len=args.seq_len,
                arch=args.arch,
                warmup=args.warmup,
                steps=args.steps,
            )
            print(
                f"{method:8} {describe_device(device):40} {precision:9} {batch:5d} {rate:10.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
