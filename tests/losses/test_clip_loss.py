"""Symmetric InfoNCE / CLIP: naive reference, temperature, properties, errors."""

import math

import pytest
import torch

from medmod_lib.losses import CLIPLoss, clip_loss, nt_xent_loss


def naive_clip(z_a, z_b, scale, decoupled=False):
    a = [v.double() / v.double().norm() for v in z_a]
    b = [v.double() / v.double().norm() for v in z_b]
    n = len(a)
    s = [[scale * float(a[i] @ b[j]) for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        row = [math.exp(s[i][j]) for j in range(n) if not (decoupled and j == i)]
        col = [math.exp(s[j][i]) for j in range(n) if not (decoupled and j == i)]
        total += (math.log(sum(row)) - s[i][i]) + (math.log(sum(col)) - s[i][i])
    return total / (2 * n)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("scale", [1.0, 1 / 0.07])
def test_matches_naive_reference(decoupled, scale):
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    got = clip_loss(z_a, z_b, scale, decoupled=decoupled)
    assert got.item() == pytest.approx(naive_clip(z_a, z_b, scale, decoupled), rel=1e-5)


def test_medmod_form_is_twice_decoupled():
    # MedMod: -mean_i[(s_ii - lse_{j!=i} s_ij) + (s_ii - lse_{j!=i} s_ji)]
    g = torch.Generator().manual_seed(1)
    img, ehr = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    tau = 0.1
    s = torch.nn.functional.normalize(img, dim=1) @ torch.nn.functional.normalize(ehr, dim=1).T
    s = s / tau
    masked = s - torch.eye(6) * 9e15
    diag = torch.diagonal(s)
    medmod = -((diag - masked.logsumexp(1)) + (diag - masked.logsumexp(0))).mean()
    torch.testing.assert_close(2 * clip_loss(img, ehr, 1 / tau, decoupled=True), medmod)


def test_symmetric_order_invariant_and_differs_from_ntxent():
    g = torch.Generator().manual_seed(2)
    z_a, z_b = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    perm = torch.randperm(8, generator=g)
    base = clip_loss(z_a, z_b, 10.0)
    torch.testing.assert_close(clip_loss(z_b, z_a, 10.0), base)
    torch.testing.assert_close(clip_loss(z_a[perm], z_b[perm], 10.0), base)
    assert not torch.isclose(base, nt_xent_loss(z_a, z_b, 0.1))  # no intra-modal negatives


def test_perfect_alignment_value():
    # Orthonormal, identical pairs: s_ii = scale, s_ij = 0.
    z = torch.eye(3)
    expected = math.log(math.exp(5.0) + 2) - 5.0
    assert clip_loss(z, z, 5.0).item() == pytest.approx(expected, rel=1e-6)


def test_aligned_pairs_lower_than_shuffled():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(16, 8, generator=g)
    y = x + 0.05 * torch.randn(16, 8, generator=g)
    assert clip_loss(x, y, 14.0) < clip_loss(x, y[torch.roll(torch.arange(16), 1)], 14.0)


def test_module_temperature_init_and_gradients():
    crit = CLIPLoss()
    assert crit.temperature == pytest.approx(0.07)
    assert crit.log_logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    z_a = torch.randn(4, 3, requires_grad=True)
    z_b = torch.randn(4, 3, requires_grad=True)
    crit(z_a, z_b).backward()
    assert z_a.grad.abs().sum() > 0 and z_b.grad.abs().sum() > 0
    assert crit.log_logit_scale.grad is not None and crit.log_logit_scale.grad.abs() > 0


def test_module_clamps_logit_scale_at_100():
    crit = CLIPLoss()
    with torch.no_grad():
        crit.log_logit_scale.fill_(math.log(1e4))
    z = torch.randn(4, 3)
    torch.testing.assert_close(crit(z, z), clip_loss(z, z, 100.0))
    assert crit.log_logit_scale.item() == pytest.approx(math.log(100.0))
    assert crit.temperature == pytest.approx(0.01)
    # At the bound the temperature can still move back (gradient is not zeroed for ever).
    crit.zero_grad()
    crit(torch.randn(4, 3), torch.randn(4, 3)).backward()
    assert crit.log_logit_scale.grad is not None


def test_fixed_temperature_is_a_buffer():
    crit = CLIPLoss(temperature=0.5, learnable=False)
    assert list(crit.parameters()) == []
    assert crit.temperature == pytest.approx(0.5)


def test_errors():
    with pytest.raises(ValueError, match="at least 2"):
        clip_loss(torch.randn(1, 3), torch.randn(1, 3), 1.0)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        clip_loss(torch.randn(2, 3), torch.randn(2, 4), 1.0)
    with pytest.raises(ValueError, match="2-D"):
        clip_loss(torch.randn(2, 3, 1), torch.randn(2, 3, 1), 1.0)
    with pytest.raises(ValueError, match="max_logit_scale"):
        CLIPLoss(temperature=0.001)


def test_module_can_be_called_twice_before_backward():
    crit = CLIPLoss()
    with torch.no_grad():
        crit.log_logit_scale.fill_(math.log(1e3))  # forces the in-place clamp on both calls
    z = torch.randn(4, 3, requires_grad=True)
    loss = crit(z, torch.randn(4, 3)) + crit(torch.randn(4, 3), z)
    loss.backward()
    assert z.grad is not None and crit.log_logit_scale.grad is not None
