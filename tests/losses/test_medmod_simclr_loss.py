"""MedMod's cross-modal SimCLR loss: explicit-loop reference, closed form, not NT-Xent."""

import math

import pytest
import torch

from medmod_lib.losses import MedModSimCLRLoss, clip_loss, medmod_simclr_loss, nt_xent_loss


def naive_medmod(z_img, z_ehr, temperature):
    """MedMod's info_nce_loss written with loops over Python floats.

    s[i][j] = cos(img_i, ehr_j) / T; for each i, the image->EHR term leaves
    s[i][i] out of the row's log-sum-exp and the EHR->image term out of the
    column's; the two are added, then averaged over i and negated.
    """
    n = len(z_img)

    def cos(u, v):
        dot = sum(float(a) * float(b) for a, b in zip(u, v, strict=True))
        nu = math.sqrt(sum(float(a) ** 2 for a in u))
        nv = math.sqrt(sum(float(b) ** 2 for b in v))
        return dot / (nu * nv)

    s = [[cos(z_img[i], z_ehr[j]) / temperature for j in range(n)] for i in range(n)]
    total = 0.0
    for i in range(n):
        row = [s[i][j] for j in range(n) if j != i]
        col = [s[j][i] for j in range(n) if j != i]
        lse_row = max(row) + math.log(sum(math.exp(x - max(row)) for x in row))
        lse_col = max(col) + math.log(sum(math.exp(x - max(col)) for x in col))
        total += (s[i][i] - lse_row) + (s[i][i] - lse_col)
    return -total / n


@pytest.mark.parametrize("temperature", [0.01, 0.1, 1.0])
def test_matches_explicit_loops(temperature):
    g = torch.Generator().manual_seed(0)
    z_img, z_ehr = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    got = medmod_simclr_loss(z_img, z_ehr, temperature)
    want = naive_medmod(z_img.tolist(), z_ehr.tolist(), temperature)
    assert got.item() == pytest.approx(want, rel=1e-5)
    assert MedModSimCLRLoss(temperature)(z_img, z_ehr).item() == pytest.approx(want, rel=1e-5)


def test_closed_form_on_orthonormal_pairs():
    # s_ii = 1/T, s_ij = 0: each direction gives 1/T - log(N - 1); both summed.
    z = torch.eye(3)
    t = 0.5
    want = -2 * (1 / t - math.log(2))
    assert medmod_simclr_loss(z, z, t).item() == pytest.approx(want, rel=1e-6)
    assert want == pytest.approx(-2.613706, abs=1e-6)


def test_is_twice_decoupled_clip_and_not_decoupled_nt_xent():
    g = torch.Generator().manual_seed(1)
    z_img, z_ehr = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    t = 0.1
    got = medmod_simclr_loss(z_img, z_ehr, t)
    torch.testing.assert_close(got, 2 * clip_loss(z_img, z_ehr, 1 / t, decoupled=True))
    torch.testing.assert_close(medmod_simclr_loss(z_ehr, z_img, t), got)  # symmetric
    # NT-Xent with decoupled=True has intra-modal negatives and averages: another number.
    assert abs(got.item() - nt_xent_loss(z_img, z_ehr, t, decoupled=True).item()) > 0.5


def test_errors():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="temperature"):
        medmod_simclr_loss(z, z, 0.0)
    with pytest.raises(ValueError, match="temperature"):
        MedModSimCLRLoss(-1.0)
    with pytest.raises(ValueError, match="at least 2"):
        medmod_simclr_loss(z[:1], z[:1])
