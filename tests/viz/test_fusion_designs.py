"""The fusion-design table and figure say what medmod_lib.fusion's models do."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from medmod_lib.fusion import FUSION_MODELS, build_fusion_model  # noqa: E402
from medmod_lib.viz import fusion_designs, plot_fusion_designs  # noqa: E402


class _EHR(nn.Module):
    out_dim = 6

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, self.out_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(1))


class _CXR(nn.Module):
    out_dim = 5

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, self.out_dim)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.fc(image.flatten(1))


def _model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return build_fusion_model(name, ehr_encoder=_EHR(), cxr_encoder=_CXR(), num_classes=1).eval()


def _batch(b: int = 4) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(1)
    paired = torch.tensor([True, False] * (b // 2))
    return torch.randn(b, 5, 3, generator=g), torch.full((b,), 5), torch.randn(b, 1, 4, 4), paired


def test_table_lists_the_four_designs_of_the_factory():
    table = fusion_designs()
    assert list(table["model"]) == ["early", "joint", "late", "medfuse"]
    assert set(table["model"]) <= set(FUSION_MODELS)
    assert list(table.columns) == [
        "design",
        "model",
        "encoders",
        "combined_by",
        "without_xray",
        "missing_default",
    ]
    assert list(fusion_designs(["medfuse", "late"])["model"]) == ["medfuse", "late"]
    with pytest.raises(ValueError, match="ehr_only"):
        fusion_designs(["ehr_only"])


@pytest.mark.parametrize("row", list(fusion_designs().itertuples()), ids=lambda r: r.model)
def test_encoders_column_matches_the_built_model(row):
    model = _model(row.model)
    assert model.freeze_encoders == (row.encoders == "frozen")
    trainable = any(p.requires_grad for p in model.ehr_encoder.parameters())
    assert trainable == (row.encoders == "trained")


@pytest.mark.parametrize("row", list(fusion_designs().itertuples()), ids=lambda r: r.model)
def test_missing_default_matches_the_built_model(row):
    model = _model(row.model)
    if pd.isna(row.missing_default):  # the model takes no `missing` option
        with pytest.raises(ValueError, match="takes no `missing` option"):
            build_fusion_model(
                row.model, ehr_encoder=_EHR(), cxr_encoder=_CXR(), num_classes=1, missing="zeros"
            )
    elif row.model == "medfuse":
        assert model.missing_mode == row.missing_default
    else:
        assert model.missing.mode == row.missing_default


@torch.no_grad()
def test_without_an_xray_each_model_does_what_the_table_says():
    ehr, lengths, image, paired = _batch()
    unpaired = ~paired
    # early/joint: zeros in place of the projected X-ray vector
    for name in ("early", "joint"):
        m = _model(name)
        ehr_feats = m.ehr_encoder(ehr, lengths)
        expected = m.classifier(torch.cat([ehr_feats, torch.zeros_like(ehr_feats)], 1))
        got = m(ehr, lengths, image, paired)
        torch.testing.assert_close(got[unpaired], expected[unpaired])
    # late: the EHR head's logits alone
    m = _model("late")
    ehr_logits, _ = m.unimodal_logits(ehr, lengths, image, paired)
    torch.testing.assert_close(m(ehr, lengths, image, paired)[unpaired], ehr_logits[unpaired])
    # medfuse: the fusion LSTM reads the EHR vector only (length-1 sequence)
    m = _model("medfuse")
    _, (h, _) = m.fusion_lstm(m.ehr_encoder(ehr, lengths)[:, None, :])
    expected = m.classifier(h[-1])
    torch.testing.assert_close(m(ehr, lengths, image, paired)[unpaired], expected[unpaired])


def test_figure_has_one_panel_per_design():
    fig = plot_fusion_designs(highlight=["medfuse"])
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 4
    assert titles[0].startswith("Early fusion (early)")
    assert "(in this run)" in titles[3] and "(in this run)" not in titles[2]
    texts = " ".join(t.get_text() for t in fig.axes[2].texts)
    assert "no X-ray" in texts and "EHR head alone" in texts
    plt.close(fig)
    fig = plot_fusion_designs(["joint", "late"])
    assert len(fig.axes) == 2
    plt.close(fig)
