"""VICReg: naive reference, terms, properties, errors, optional lightly oracle."""

import math

import pytest
import torch

from medmod_lib.losses import (
    VICRegLoss,
    covariance_loss,
    invariance_loss,
    variance_loss,
    vicreg_loss,
    vicreg_terms,
)


def naive_terms(x, y, eps=1e-4):
    """Loops over samples and dimensions, float64, unbiased statistics."""
    x, y = x.double().tolist(), y.double().tolist()
    n, d = len(x), len(x[0])
    inv = sum((x[i][k] - y[i][k]) ** 2 for i in range(n) for k in range(d)) / (n * d)

    def var_cov(z):
        mean = [sum(z[i][k] for i in range(n)) / n for k in range(d)]
        c = [
            [
                sum((z[i][p] - mean[p]) * (z[i][q] - mean[q]) for i in range(n)) / (n - 1)
                for q in range(d)
            ]
            for p in range(d)
        ]
        var = sum(max(0.0, 1 - math.sqrt(c[k][k] + eps)) for k in range(d)) / d
        cov = sum(c[p][q] ** 2 for p in range(d) for q in range(d) if p != q) / d
        return var, cov

    vx, cx = var_cov(x)
    vy, cy = var_cov(y)
    return inv, (vx + vy) / 2, cx + cy


def test_terms_match_naive_reference():
    g = torch.Generator().manual_seed(0)
    x, y = 0.3 * torch.randn(7, 4, generator=g), 2 * torch.randn(7, 4, generator=g) + 1
    inv, var, cov = naive_terms(x, y)
    t = vicreg_terms(x, y)
    assert t["invariance"].item() == pytest.approx(inv, rel=1e-5)
    assert t["variance"].item() == pytest.approx(var, rel=1e-5)
    assert t["covariance"].item() == pytest.approx(cov, rel=1e-5)
    total = vicreg_loss(x, y, sim_coeff=2.0, std_coeff=3.0, cov_coeff=0.5)
    assert total.item() == pytest.approx(2 * inv + 3 * var + 0.5 * cov, rel=1e-5)


def test_module_terms_include_weighted_total():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    crit = VICRegLoss()
    t = crit.terms(x, y)
    assert set(t) == {"invariance", "variance", "covariance", "loss"}
    torch.testing.assert_close(t["loss"], crit(x, y))


def test_exact_values_on_simple_batches():
    # Identical, well spread, decorrelated batch: no invariance, variance or covariance penalty.
    z = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    t = vicreg_terms(z, z)
    assert t["invariance"].item() == 0.0
    assert t["variance"].item() == 0.0
    assert t["covariance"].item() == 0.0
    # Collapsed batch: std = sqrt(eps) in every dimension.
    c = torch.ones(5, 3)
    assert variance_loss(c, eps=1e-4).item() == pytest.approx(1 - 1e-2, rel=1e-6)
    assert covariance_loss(c).item() == 0.0
    # Perfectly correlated 2-D batch, var 1 per dimension: offdiag 1 twice / D=2 -> 1.
    v = torch.tensor([-1.0, 0.0, 1.0])
    assert covariance_loss(torch.stack([v, v], dim=1)).item() == pytest.approx(1.0)


def test_covariance_uses_actual_batch_size():
    v = torch.tensor([-1.0, 1.0])  # N=2: cov = 2 / (2 - 1) = 2
    assert covariance_loss(torch.stack([v, v], dim=1)).item() == pytest.approx(2 * 2**2 / 2)


def test_symmetric_and_order_invariant():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(9, 5, generator=g), torch.randn(9, 5, generator=g)
    perm = torch.randperm(9, generator=g)
    base = vicreg_loss(x, y)
    torch.testing.assert_close(vicreg_loss(y, x), base)
    torch.testing.assert_close(vicreg_loss(x[perm], y[perm]), base)


def test_aligned_pairs_lower_than_shuffled():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(16, 8, generator=g)
    y = x + 0.05 * torch.randn(16, 8, generator=g)
    assert vicreg_loss(x, y) < vicreg_loss(x, y[torch.roll(torch.arange(16), 1)])


def test_gradients_flow_to_both_inputs():
    x = torch.randn(5, 3, requires_grad=True)
    y = torch.randn(5, 3, requires_grad=True)
    vicreg_loss(x, y).backward()
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0


@pytest.mark.parametrize("fn", [variance_loss, covariance_loss])
def test_single_branch_errors(fn):
    with pytest.raises(ValueError, match="at least 2"):
        fn(torch.randn(1, 4))
    with pytest.raises(ValueError, match="2-D"):
        fn(torch.randn(4))


@pytest.mark.parametrize("fn", [vicreg_loss, invariance_loss])
def test_pair_errors(fn):
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        fn(torch.randn(3, 4), torch.randn(3, 5))
    with pytest.raises(ValueError, match="at least 2"):
        fn(torch.randn(1, 4), torch.randn(1, 4))


def test_matches_lightly():
    lightly_loss = pytest.importorskip("lightly.loss")
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(10, 6, generator=g), torch.randn(10, 6, generator=g)
    ref = lightly_loss.VICRegLoss(lambda_param=25, mu_param=25, nu_param=1, eps=1e-4)(x, y)
    torch.testing.assert_close(vicreg_loss(x, y), ref)
