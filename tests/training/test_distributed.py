"""Two CPU processes on the gloo backend through torchrun, with the real CLI."""

import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml

from medmod_lib.training import load_checkpoint

CONFIG = {
    "pretrain": {
        "method": "simclr",
        "epochs": 2,
        "batch_size": 8,
        "device": "cpu",
        "cxr_arch": "resnet18",
        "ehr_hidden_dim": 16,
        "proj_hidden_dim": 16,
        "proj_dim": 16,
        "warmup_epochs": 0,
        "progress": False,
    },
    "data": {
        "factory": "medmod_lib.pretrain.data:random_pair_datasets",
        "kwargs": {"n_train": 32, "n_val": 16},
    },
}


@pytest.mark.slow  # ~15 s idle, ~35 s on a loaded 2-core machine (process start + imports)
def test_torchrun_two_gloo_processes_agree_and_rank0_writes(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG | {"out_dir": str(tmp_path / "run")}))
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "medmod_lib.pretrain",
        "--config",
        str(cfg),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    hashes = dict(re.findall(r"rank (\d): final weights sha256=([0-9a-f]{64})", proc.stdout))
    assert set(hashes) == {"0", "1"} and hashes["0"] == hashes["1"]
    assert "world size 2" in proc.stdout
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    # 32 samples / 2 ranks / batch 8 = 2 steps per epoch per rank
    assert ckpt["epoch"] == 2 and ckpt["step"] == 4
    log = pd.read_csv(tmp_path / "run" / "log.csv")
    assert log["split"].value_counts().to_dict() == {"train_step": 4, "train": 2, "val": 2}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["best.pt", "last.pt", "log.csv"]
    assert torch.isfinite(torch.tensor(log["val_loss"].dropna().to_numpy())).all()
