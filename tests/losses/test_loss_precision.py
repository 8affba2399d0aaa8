"""All losses compute in float32 under autocast and for low-precision inputs."""

import pytest
import torch

from medmod_lib.losses import (
    clip_loss,
    covariance_loss,
    invariance_loss,
    nt_xent_loss,
    variance_loss,
    vicreg_loss,
)

LOSSES = {
    "nt_xent": lambda a, b: nt_xent_loss(a, b, temperature=0.01),
    "decoupled": lambda a, b: nt_xent_loss(a, b, temperature=0.01, decoupled=True),
    "clip": lambda a, b: clip_loss(a, b, 100.0),
    "vicreg": vicreg_loss,
    "invariance": invariance_loss,
    "variance": lambda a, b: variance_loss(a),
    "covariance": lambda a, b: covariance_loss(a),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_bfloat16_inputs_and_autocast_give_float32(name):
    fn = LOSSES[name]
    g = torch.Generator().manual_seed(0)
    a = torch.randn(16, 8, generator=g).bfloat16()
    b = (a.float() + 0.1 * torch.randn(16, 8, generator=g)).bfloat16()
    ref = fn(a.float(), b.float())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = fn(a, b)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    a.requires_grad_(True)
    fn(a, b).backward()
    assert a.grad is not None and a.grad.dtype == torch.bfloat16
