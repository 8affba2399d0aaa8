"""LSTM and transformer EHR encoders: padding invariance, init, shapes, errors."""

import pytest
import torch

from medmod_lib.encoders import LSTMEncoder, TransformerEncoder, sinusoidal_positions

D = 7


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 2, 1, 4])
    x = torch.randn(4, 5, D, generator=g)
    valid = torch.arange(5)[None, :] < lengths[:, None]
    return x * valid[..., None], lengths, valid


def _encoders():
    torch.manual_seed(0)
    return [
        LSTMEncoder(D, hidden_dim=16, num_layers=2, dropout=0.3),
        LSTMEncoder(D, hidden_dim=16, num_layers=1, bidirectional=True),
        TransformerEncoder(D, d_model=16, nhead=2, num_layers=1, pooling="cls"),
        TransformerEncoder(D, d_model=16, nhead=2, num_layers=1, pooling="mean"),
    ]


@pytest.mark.parametrize("enc", _encoders(), ids=["lstm", "bilstm", "tf-cls", "tf-mean"])
def test_padding_does_not_influence_output(enc):
    enc.eval()
    x, lengths, valid = _batch()
    junk = x + 100.0 * (~valid)[..., None] * torch.randn_like(x)
    out = enc(x, lengths)
    assert out.shape == (4, enc.out_dim)
    torch.testing.assert_close(enc(junk, lengths), out)
    # Same as encoding each sequence alone, unpadded; longer padding changes nothing.
    for i, n in enumerate(lengths.tolist()):
        alone = enc(x[i : i + 1, :n], torch.tensor([n]))
        torch.testing.assert_close(alone[0], out[i], atol=1e-5, rtol=1e-5)
    longer = torch.cat([x, torch.zeros(4, 3, D)], dim=1)
    torch.testing.assert_close(enc(longer, lengths), out, atol=1e-5, rtol=1e-5)


def test_lstm_feature_is_last_valid_hidden_state():
    enc = LSTMEncoder(D, hidden_dim=8, num_layers=2, dropout=0.0).eval()
    x, lengths, _ = _batch()
    full, _ = enc.lstm(x)  # (B, T, H) unpacked run over the padded batch
    expected = full[torch.arange(4), lengths - 1]
    torch.testing.assert_close(enc(x, lengths), expected, atol=1e-6, rtol=1e-6)


def test_lstm_benchmark_initialisation_and_out_dim():
    enc = LSTMEncoder(76, hidden_dim=16, num_layers=2)
    assert enc.out_dim == 16 and LSTMEncoder(76, 16, bidirectional=True).out_dim == 32
    for name, p in enc.lstm.named_parameters():
        if name.startswith("bias"):
            assert torch.count_nonzero(p) == 0
        elif name.startswith("weight_hh"):  # (4H, H) with orthonormal columns
            torch.testing.assert_close(p.T @ p, torch.eye(16), atol=1e-5, rtol=0)
        else:
            bound = (6 / sum(p.shape)) ** 0.5  # xavier-uniform bound
            assert p.abs().max() <= bound


def test_lstm_dropout_only_in_training_and_deterministic():
    x, lengths, _ = _batch()
    torch.manual_seed(1)
    a = LSTMEncoder(D, 16, dropout=0.5)
    torch.manual_seed(1)
    b = LSTMEncoder(D, 16, dropout=0.5)
    torch.testing.assert_close(a.eval()(x, lengths), b.eval()(x, lengths))
    a.train()
    assert (a(x, lengths) == 0).any()


def test_gradients_reach_inputs():
    x, lengths, _ = _batch()
    x.requires_grad_(True)
    LSTMEncoder(D, 8, num_layers=1)(x, lengths).sum().backward()
    assert x.grad[0].abs().sum() > 0 and x.grad[2, 1:].abs().sum() == 0


@pytest.mark.parametrize("enc", _encoders()[:1] + _encoders()[2:3], ids=["lstm", "tf"])
def test_bad_inputs_raise(enc):
    x, lengths, _ = _batch()
    with pytest.raises(ValueError, match=r"\(B, T, 7\)"):
        enc(torch.randn(4, 5, 8), lengths)
    with pytest.raises(ValueError, match=r"\[1, T=5\]"):
        enc(x, torch.tensor([5, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"\[1, T=5\]"):
        enc(x, torch.tensor([6, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        enc(x, torch.tensor([5, 1]))
    with pytest.raises(ValueError, match="integers"):
        enc(x, lengths.float())


def test_transformer_pooling_option_and_positions():
    with pytest.raises(ValueError, match="pooling"):
        TransformerEncoder(D, d_model=8, nhead=2, pooling="max")
    pe = sinusoidal_positions(4, 6)
    assert pe.shape == (4, 6)
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    assert sinusoidal_positions(3, 5).shape == (3, 5)
