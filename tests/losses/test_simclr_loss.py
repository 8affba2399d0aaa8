"""NT-Xent: naive reference, properties, errors, optional lightly oracle."""

import math

import pytest
import torch

from medmod_lib.losses import NTXentLoss, nt_xent_loss


def naive_nt_xent(z_a, z_b, temperature, decoupled=False):
    """Explicit loops over anchors i and candidates k, in float64."""
    z = [v.double() / v.double().norm() for v in list(z_a) + list(z_b)]
    n2 = len(z)
    n = n2 // 2
    total = 0.0
    for i in range(n2):
        j = (i + n) % n2
        pos = float(z[i] @ z[j]) / temperature
        denom = 0.0
        for k in range(n2):
            if k == i or (decoupled and k == j):
                continue
            denom += math.exp(float(z[i] @ z[k]) / temperature)
        total += -(pos - math.log(denom))
    return total / n2


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_matches_naive_reference(decoupled, temperature):
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    got = nt_xent_loss(z_a, z_b, temperature, decoupled=decoupled)
    assert got.item() == pytest.approx(naive_nt_xent(z_a, z_b, temperature, decoupled), rel=1e-5)


def test_known_value_orthogonal_pairs():
    # Two samples, views identical, samples orthogonal: s_pos = 1/T, negatives 0.
    z = torch.eye(2)
    t = 0.5
    expected = -(2.0 - math.log(math.exp(2.0) + 2.0))  # denominator: positive + 2 negatives
    assert nt_xent_loss(z, z, t).item() == pytest.approx(expected, rel=1e-6)
    assert nt_xent_loss(z, z, t, decoupled=True).item() == pytest.approx(
        -(2.0 - math.log(2.0)), rel=1e-6
    )


def test_symmetric_and_order_invariant():
    g = torch.Generator().manual_seed(1)
    z_a, z_b = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    perm = torch.randperm(8, generator=g)
    base = nt_xent_loss(z_a, z_b)
    torch.testing.assert_close(nt_xent_loss(z_b, z_a), base)
    torch.testing.assert_close(nt_xent_loss(z_a[perm], z_b[perm]), base)


def test_scale_invariant_cosine():
    g = torch.Generator().manual_seed(2)
    z_a, z_b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    torch.testing.assert_close(nt_xent_loss(3 * z_a, 0.1 * z_b), nt_xent_loss(z_a, z_b))


def test_aligned_pairs_lower_than_shuffled():
    g = torch.Generator().manual_seed(3)
    z_a = torch.randn(16, 8, generator=g)
    z_b = z_a + 0.05 * torch.randn(16, 8, generator=g)
    shuffled = z_b[torch.roll(torch.arange(16), 1)]
    assert nt_xent_loss(z_a, z_b) < nt_xent_loss(z_a, shuffled)


def test_gradients_flow_to_both_inputs():
    z_a = torch.randn(4, 3, requires_grad=True)
    z_b = torch.randn(4, 3, requires_grad=True)
    NTXentLoss(decoupled=True)(z_a, z_b).backward()
    assert z_a.grad.abs().sum() > 0 and z_b.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ((1, 4), (1, 4), "at least 2"),
        ((4, 3), (5, 3), r"\(4, 3\).*\(5, 3\)"),
        ((4, 3), (4, 2), "same shape"),
        ((4, 3, 2), (4, 3, 2), "2-D"),
        ((4,), (4,), "2-D"),
    ],
)
def test_bad_shapes_raise(a, b, match):
    with pytest.raises(ValueError, match=match):
        nt_xent_loss(torch.randn(*a), torch.randn(*b))


def test_bad_temperature_raises():
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(temperature=0.0)


def test_matches_lightly():
    lightly_loss = pytest.importorskip("lightly.loss")
    g = torch.Generator().manual_seed(4)
    z_a, z_b = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    ref = lightly_loss.NTXentLoss(temperature=0.2)(z_a, z_b)
    torch.testing.assert_close(nt_xent_loss(z_a, z_b, 0.2), ref)
