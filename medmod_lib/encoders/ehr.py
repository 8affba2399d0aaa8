"""EHR time-series encoders: packed LSTM (benchmark/MedFuse) and a small transformer.

Both map a zero-padded batch ``x`` (B, T, D) with true lengths (B,) to one
feature vector per sample (B, out_dim); padded time steps never influence it.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def check_sequence_batch(x: torch.Tensor, lengths: torch.Tensor, input_dim: int) -> None:
    """Validate a padded sequence batch.

    Args:
        x: shape (B, T, input_dim).
        lengths: integer shape (B,), each in [1, T].
        input_dim: expected feature size D.

    Raises:
        ValueError: naming the offending shape or lengths.
    """
    if x.dim() != 3 or x.shape[-1] != input_dim:
        raise ValueError(
            f"EHR encoder: expected x of shape (B, T, {input_dim}), got {tuple(x.shape)}; "
            "check the encoder's input_dim against the discretizer's number of columns."
        )
    if lengths.dim() != 1 or lengths.shape[0] != x.shape[0]:
        raise ValueError(
            f"EHR encoder: lengths must have shape ({x.shape[0]},), got {tuple(lengths.shape)}"
        )
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"EHR encoder: lengths must be integers, got dtype {lengths.dtype}")
    if len(lengths) and (int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]):
        raise ValueError(
            f"EHR encoder: lengths must lie in [1, T={x.shape[1]}], got min "
            f"{int(lengths.min())} and max {int(lengths.max())}"
        )


class LSTMEncoder(nn.Module):
    """Stacked LSTM over packed variable-length sequences (mimic3-benchmarks/MedFuse).

    The feature of a sample is the top layer's hidden state at its last valid
    time step (both directions concatenated if bidirectional), followed by
    dropout, as in MedFuse where the same dropout precedes the classifier.
    Initialisation follows the benchmark: input weights xavier-uniform, hidden
    weights orthogonal, biases zero.

    Args:
        input_dim: features per time step (76 for the discretized 17 variables).
        hidden_dim: LSTM hidden size per direction (MedFuse 256; MedMod SSL 128).
        num_layers: stacked layers (MedFuse 2; MedMod SSL 1).
        dropout: dropout on the output features (MedFuse 0.3).
        bidirectional: run a second, backward LSTM.

    Attributes:
        out_dim: feature size, ``hidden_dim * (2 if bidirectional else 1)``.

    Examples:
        >>> enc = LSTMEncoder(input_dim=76, hidden_dim=16, num_layers=1)
        >>> enc(torch.randn(4, 10, 76), torch.tensor([10, 3, 1, 7])).shape
        torch.Size([4, 16])
    """

    def __init__(
        self,
        input_dim: int = 76,
        hidden_dim: int = 256,
        num_layers: int = 2,
        dropout: float = 0.3,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.input_dim, self.hidden_dim, self.num_layers = input_dim, hidden_dim, num_layers
        self.bidirectional = bidirectional
        self.lstm = nn.LSTM(
            input_dim,
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
        )
        self.dropout = nn.Dropout(dropout)
        self.out_dim = hidden_dim * (2 if bidirectional else 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Benchmark initialisation: xavier-uniform input, orthogonal hidden, zero biases."""
        for name, param in self.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(param)
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(param)
            elif name.startswith("bias"):
                nn.init.zeros_(param)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encode a padded batch.

        Args:
            x: zero-padded inputs, shape (B, T, input_dim).
            lengths: valid steps per sample, integer shape (B,), in [1, T].

        Returns:
            Features, shape (B, out_dim).
        """
        check_sequence_batch(x, lengths, self.input_dim)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n: (layers * dirs, B, H), in the input order
        if self.bidirectional:
            feats = torch.cat([h_n[-2], h_n[-1]], dim=1)
        else:
            feats = h_n[-1]
        return self.dropout(feats)


def sinusoidal_positions(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Sinusoidal position table of Vaswani et al. (2017).

    Args:
        length: number of positions T.
        dim: embedding size (even or odd).

    Returns:
        Shape (T, dim).
    """
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : dim // 2]
    return table


class TransformerEncoder(nn.Module):
    """Small transformer over hourly bins with a key padding mask.

    Inputs are projected to ``d_model``, sinusoidal positions are added, and
    padded steps are masked out of attention. The feature is a learnable CLS
    token's output (``pooling="cls"``) or the mean over valid steps
    (``pooling="mean"``).

    Args:
        input_dim: features per time step.
        d_model: model width (= out_dim).
        nhead: attention heads (must divide d_model).
        num_layers: encoder layers.
        dim_feedforward: hidden size of the feed-forward blocks.
        dropout: dropout inside the layers.
        pooling: ``"cls"`` or ``"mean"``.

    Examples:
        >>> enc = TransformerEncoder(input_dim=76, d_model=16, nhead=2, num_layers=1)
        >>> enc(torch.randn(2, 5, 76), torch.tensor([5, 2])).shape
        torch.Size([2, 16])
    """

    def __init__(
        self,
        input_dim: int = 76,
        d_model: int = 128,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.1,
        pooling: str = "cls",
    ) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(
                f"TransformerEncoder: pooling must be 'cls' or 'mean', got {pooling!r}"
            )
        self.input_dim, self.pooling, self.out_dim = input_dim, pooling, d_model
        self.input_proj = nn.Linear(input_dim, d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "cls" else None
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
        )
        if self.cls_token is not None:
            nn.init.normal_(self.cls_token, std=0.02)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Encode a padded batch.

        Args:
            x: zero-padded inputs, shape (B, T, input_dim).
            lengths: valid steps per sample, integer shape (B,), in [1, T].

        Returns:
            Features, shape (B, d_model).
        """
        check_sequence_batch(x, lengths, self.input_dim)
        b, t, _ = x.shape
        lengths = lengths.to(x.device)
        valid = torch.arange(t, device=x.device)[None, :] < lengths[:, None]  # (B, T)
        h = self.input_proj(x.masked_fill(~valid[..., None], 0.0))
        h = h + sinusoidal_positions(t, self.out_dim, x.device)
        if self.cls_token is not None:
            h = torch.cat([self.cls_token.expand(b, -1, -1), h], dim=1)
            valid = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=x.device), valid], dim=1)
        h = self.encoder(h, src_key_padding_mask=~valid)  # (B, T[+1], d_model)
        if self.cls_token is not None:
            return h[:, 0]
        w = valid.to(h.dtype)[..., None]
        return (h * w).sum(dim=1) / w.sum(dim=1)
