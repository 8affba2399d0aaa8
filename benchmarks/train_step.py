"""Pretraining throughput (samples/s) for SimCLR, VICReg and ALIGN.

Times full optimizer steps (forward, loss, backward, AdamW step) of the
pretraining model on random batches: LSTM 256 over (T, 76) inputs plus
ResNet-34 on 1x224x224 images by default. CPU always; on CUDA also with mixed
precision (bf16 where supported, else fp16 with a GradScaler) and channels_last,
exactly as the training loop runs it. ``--amp`` and ``--channels-last`` pick
the variants to time (``both``: each setting in turn); ``--json`` also writes
every rate with its settings.

    python benchmarks/train_step.py                    # CPU, batch 32, a few steps
    python benchmarks/train_step.py --steps 10 --gpu-batch 256 --image-size 224
    python benchmarks/train_step.py --no-cpu --amp both --channels-last both --json ts.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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
    channels_last: bool | None = None,
) -> float:
    """Samples per second of ``steps`` timed optimizer steps after ``warmup`` untimed ones.

    ``channels_last=None`` uses it on CUDA only, as the training loop does.
    """
    seed_everything(0)
    cfg = PretrainConfig(method=method, cxr_arch=arch, ehr_hidden_dim=256, device=str(device))
    model = build_pretrain_model(cfg).to(device)
    dtype = amp_dtype(device, amp)
    if channels_last is None:
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


#: ``--amp`` choices -> the amp settings timed (``amp_dtype`` turns "auto" into
#: bf16/fp16 on CUDA and into fp32 on a CPU).
AMP_CHOICES = {"off": ("off",), "on": ("auto",), "both": ("off", "auto")}
#: ``--channels-last`` choices -> the memory formats timed (None: CUDA only).
CHANNELS_LAST_CHOICES = {"auto": (None,), "on": (True,), "off": (False,), "both": (False, True)}


def plan_runs(
    *, cpu: bool, cuda: bool, amp: str | None, channels_last: str, cpu_batch: int, gpu_batch: int
) -> list[dict]:
    """The timed variants: one dict (device, amp, channels_last, batch) each.

    ``amp=None`` keeps the historical default: fp32 on the CPU, off and auto on CUDA.
    """
    runs = []
    devices = ([torch.device("cpu")] if cpu else []) + ([torch.device("cuda")] if cuda else [])
    for device in devices:
        if amp is None:
            amps = ("off",) if device.type == "cpu" else AMP_CHOICES["both"]
        else:
            amps = AMP_CHOICES[amp]
        batch = cpu_batch if device.type == "cpu" else gpu_batch
        for mode in amps:
            for cl in CHANNELS_LAST_CHOICES[channels_last]:
                cl = device.type == "cuda" if cl is None else cl
                runs.append({"device": device, "amp": mode, "channels_last": cl, "batch": batch})
    return runs


def main(argv: list[str] | None = None) -> None:
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
    p.add_argument(
        "--amp",
        choices=list(AMP_CHOICES),
        default=None,
        help="mixed precision to time: off, on (bf16/fp16, CUDA only), both "
        "(default: CPU off, CUDA both)",
    )
    p.add_argument(
        "--channels-last",
        choices=list(CHANNELS_LAST_CHOICES),
        default="auto",
        help="image memory format to time (auto: channels_last on CUDA only)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write every rate here")
    args = p.parse_args(argv)

    set_num_threads(args.threads)
    runs = plan_runs(
        cpu=not args.no_cpu,
        cuda=torch.cuda.is_available(),
        amp=args.amp,
        channels_last=args.channels_last,
        cpu_batch=args.cpu_batch,
        gpu_batch=args.gpu_batch,
    )
    print(
        f"torch {torch.__version__}; {args.arch} at {args.image_size}px + LSTM 256 over {args.seq_len} h"
    )
    print(
        f"{'method':8} {'device':40} {'precision':9} {'ch_last':7} {'batch':>5} {'samples/s':>10}"
    )
    records = []
    for run in runs:
        device, amp, batch = run["device"], run["amp"], run["batch"]
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
                channels_last=run["channels_last"],
            )
            name = describe_device(device)
            print(
                f"{method:8} {name:40} {precision:9} {str(run['channels_last']):7} "
                f"{batch:5d} {rate:10.1f}",
                flush=True,
            )
            records.append(
                {
                    "method": method,
                    "device": device.type,
                    "device_name": name,
                    "amp": amp,
                    "precision": precision,
                    "channels_last": run["channels_last"],
                    "batch": batch,
                    "samples_per_s": round(rate, 2),
                }
            )
    if args.json:
        settings = {
            k: getattr(args, k) for k in ("arch", "image_size", "seq_len", "warmup", "steps")
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {"torch": torch.__version__, "settings": settings, "runs": records}, indent=2
            )
        )


if __name__ == "__main__":
    main()
