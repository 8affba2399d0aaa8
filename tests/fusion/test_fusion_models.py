"""Fusion models and unimodal baselines: missing-image handling, interface, factory."""

import pytest
import torch
from torch import nn

from medmod_lib.encoders import LSTMEncoder, ResNetEncoder
from medmod_lib.fusion import (
    FUSION_MODELS,
    ConcatFusion,
    LateFusion,
    MedFuseLSTM,
    MissingImageToken,
    average_probability_logits,
    build_fusion_model,
    task_activation,
)
from medmod_lib.reference import Task

D, K = 5, 3
VARIANTS = [
    ("ehr_only", None),
    ("cxr_only", None),
    ("early", "zeros"),
    ("early", "learnable"),
    ("joint", "zeros"),
    ("joint", "learnable"),
    ("late", None),
    ("medfuse", "drop"),
    ("medfuse", "zeros"),
    ("medfuse", "learnable"),
]


class SpyEncoder(nn.Module):
    """Tiny image encoder that records the batch sizes it sees."""

    out_dim = 4

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.seen: list[int] = []

    def forward(self, image):
        self.seen.append(image.shape[0])
        return self.conv(image).mean(dim=(2, 3))


class TinyCNN(nn.Module):
    """Conv-BatchNorm-ReLU-pool: a fast stand-in with the BatchNorm leak route of a ResNet."""

    out_dim = 8

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )

    def forward(self, image):
        return self.net(image).flatten(1)


def make(name, missing=None, cxr=None, seed=0, resnet=False):
    torch.manual_seed(seed)
    if cxr is None:
        cxr = ResNetEncoder("resnet18", in_channels=1) if resnet else TinyCNN()
    return build_fusion_model(
        name,
        ehr_encoder=LSTMEncoder(D, hidden_dim=16, num_layers=1, dropout=0.0),
        cxr_encoder=cxr,
        num_classes=K,
        missing=missing,
        fusion_hidden=16,
    )


def batch(seed=0, paired=(True, False, True, False)):
    g = torch.Generator().manual_seed(seed)
    b = len(paired)
    lengths = torch.tensor([6, 3, 1, 4][:b])
    ehr = (
        torch.randn(b, 6, D, generator=g) * (torch.arange(6)[None, :] < lengths[:, None])[..., None]
    )
    paired = torch.tensor(paired)
    image = torch.randn(b, 1, 32, 32, generator=g) * paired[:, None, None, None]
    return ehr, lengths, image, paired


@pytest.mark.parametrize(
    ("name", "missing", "resnet"),
    [(*v, False) for v in VARIANTS] + [("medfuse", "drop", True)],
)
def test_unpaired_pixels_do_not_change_outputs(name, missing, resnet):
    model = make(
        name, missing, resnet=resnet
    ).train()  # train mode: BatchNorm uses batch statistics
    ehr, lengths, image, paired = batch()
    out = model(ehr, lengths, image, paired)
    assert out.shape == (4, K) and torch.isfinite(out).all()
    noisy = image.clone()
    noisy[~paired] = torch.randn_like(noisy[~paired]) * 50
    torch.testing.assert_close(model(ehr, lengths, noisy, paired), out)
    if name != "ehr_only":  # paired pixels do matter
        changed = image.clone()
        changed[0] = -changed[0]
        assert not torch.allclose(model(ehr, lengths, changed, paired)[0], out[0])


@pytest.mark.parametrize("name", [n for n in FUSION_MODELS if n != "ehr_only"])
def test_image_encoder_sees_only_paired_rows(name):
    spy = SpyEncoder()
    model = make(name, cxr=spy)
    model(*batch())
    assert spy.seen == [2]
    spy.seen.clear()
    out = model(*batch(paired=(False, False, False, False)))
    assert spy.seen == [] and out.shape == (4, K)


def test_gradients_joint_and_frozen_early():
    ehr, lengths, image, paired = batch()
    joint = make("joint", "learnable").train()
    joint(ehr, lengths, image, paired).sum().backward()
    for n, p in joint.named_parameters():
        if n.startswith("cxr_encoder.backbone.fc"):
            continue
        assert p.grad is not None, n
    early = make("early").train()
    assert early.freeze_encoders and not early.ehr_encoder.training
    assert not early.cxr_encoder.training
    early(ehr, lengths, image, paired).sum().backward()
    assert all(p.grad is None for p in early.ehr_encoder.parameters())
    assert all(p.grad is None for p in early.cxr_encoder.parameters())
    assert early.projection.weight.grad is not None and early.classifier.weight.grad is not None
    assert not make("joint").freeze_encoders


def test_concat_missing_vector_is_zero_or_token():
    ehr, lengths, image, paired = batch()
    zeros = make("joint", "zeros").eval()
    feats = zeros.features(ehr, lengths, image, paired)
    assert feats.shape == (4, 32)
    assert torch.count_nonzero(feats[~paired, 16:]) == 0
    learn = make("joint", "learnable").eval()
    feats = learn.features(ehr, lengths, image, paired)
    torch.testing.assert_close(feats[1, 16:], learn.missing.token)
    torch.testing.assert_close(feats[3, 16:], learn.missing.token)


def test_learnable_token_only_affects_unpaired_rows():
    model = make("medfuse", "learnable").eval()
    args = batch()
    before = model(*args)
    with torch.no_grad():
        model.missing.token.add_(1.0)
    after = model(*args)
    paired = args[3]
    torch.testing.assert_close(after[paired], before[paired])
    assert not torch.allclose(after[~paired], before[~paired])


def test_late_fusion_averages_probabilities():
    model = make("late").eval()
    ehr, lengths, image, paired = batch()
    e, c = model.unimodal_logits(ehr, lengths, image, paired)
    out = model(ehr, lengths, image, paired)
    torch.testing.assert_close(
        torch.sigmoid(out[paired]), (e[paired].sigmoid() + c[paired].sigmoid()) / 2
    )
    torch.testing.assert_close(out[~paired], e[~paired])


def test_late_fusion_for_length_of_stay_averages_softmax_probabilities():
    """LOS bins are mutually exclusive: the fused probabilities must sum to 1."""
    torch.manual_seed(0)
    model = build_fusion_model(
        "late",
        ehr_encoder=LSTMEncoder(D, hidden_dim=16, num_layers=1, dropout=0.0),
        cxr_encoder=TinyCNN(),
        num_classes=10,
        task=Task.LENGTH_OF_STAY,
    ).eval()
    assert model.activation == "softmax"
    ehr, lengths, image, paired = batch()
    e, c = model.unimodal_logits(ehr, lengths, image, paired)
    probs = model(ehr, lengths, image, paired).softmax(1)
    torch.testing.assert_close(probs.sum(1), torch.ones(len(probs)))
    torch.testing.assert_close(probs[paired], (e[paired].softmax(1) + c[paired].softmax(1)) / 2)
    torch.testing.assert_close(probs[~paired], e[~paired].softmax(1))


def test_task_fixes_the_late_fusion_activation():
    assert task_activation("length-of-stay") == "softmax"
    assert task_activation(Task.PHENOTYPING) == "sigmoid"
    assert task_activation(None) == "sigmoid"
    assert task_activation(None, "softmax") == "softmax"
    with pytest.raises(ValueError, match="length-of-stay"):
        task_activation(Task.LENGTH_OF_STAY, "sigmoid")
    with pytest.raises(ValueError, match="in-hospital-mortality"):
        task_activation("in-hospital-mortality", "softmax")


def test_average_probability_logits_values_and_stability():
    a = torch.tensor([[0.0, 60.0, -60.0, 2.0]])
    b = torch.tensor([[0.0, 60.0, 60.0, -1.0]])
    out = average_probability_logits(a, b)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.sigmoid(), (a.sigmoid() + b.sigmoid()) / 2)
    assert out[0, 2].abs() < 1e-6  # p = (0 + 1) / 2
    s = average_probability_logits(a, b, "softmax")
    torch.testing.assert_close(s.softmax(1), (a.softmax(1) + b.softmax(1)) / 2)
    with pytest.raises(ValueError, match="activation"):
        average_probability_logits(a, b, "relu")


def test_medfuse_drop_uses_length_one_sequence():
    model = make("medfuse", "drop").eval()
    ehr, lengths, image, paired = batch()
    out = model(ehr, lengths, image, paired)
    feats = model.ehr_encoder(ehr, lengths)
    _, (h, _) = model.fusion_lstm(feats[1:2, None, :])  # EHR feature alone
    torch.testing.assert_close(out[1], model.classifier(h[-1])[0])
    proj = model.projection(model.cxr_encoder(image[0:1]))
    _, (h, _) = model.fusion_lstm(torch.stack([feats[0:1], proj], dim=1))
    torch.testing.assert_close(out[0], model.classifier(h[-1])[0], atol=1e-5, rtol=1e-5)


def test_cxr_only_unpaired_rows_are_bias():
    model = make("cxr_only").eval()
    out = model(*batch())
    torch.testing.assert_close(out[1], model.classifier.bias)


def test_deterministic_and_forward_batch():
    ehr, lengths, image, paired = batch()
    a, b = make("medfuse", seed=7).eval(), make("medfuse", seed=7).eval()
    d = {"ehr": ehr, "ehr_lengths": lengths, "image": image, "paired": paired}
    out = b(ehr, lengths, image, paired)
    torch.testing.assert_close(a.forward_batch(d), out)
    torch.testing.assert_close(a(d), out)  # model(batch) works, e.g. under DDP
    torch.testing.assert_close(a.features(d), b.features(ehr, lengths, image, paired))
    with pytest.raises(ValueError, match="either a batch dict"):
        a(d, lengths)
    with pytest.raises(ValueError, match=r"lacks keys \['paired'\]"):
        a({k: v for k, v in d.items() if k != "paired"})
    with pytest.raises(ValueError, match="needs ehr, ehr_lengths"):
        a(ehr, lengths)


def test_bad_inputs_raise():
    model = make("joint")
    ehr, lengths, image, paired = batch()
    with pytest.raises(ValueError, match="paired.bool"):
        model(ehr, lengths, image, paired.long())
    with pytest.raises(ValueError, match="batch sizes disagree"):
        model(ehr, lengths, image[:3], paired)
    with pytest.raises(ValueError, match="out_dim"):
        ConcatFusion(LSTMEncoder(D, 8), nn.Conv2d(1, 1, 1), K)


def test_factory_errors_and_options():
    enc = LSTMEncoder(D, 8)
    with pytest.raises(ValueError, match="unknown fusion model 'mmtm'.*'early'"):
        build_fusion_model("mmtm", ehr_encoder=enc, cxr_encoder=SpyEncoder(), num_classes=1)
    with pytest.raises(ValueError, match="needs a cxr_encoder"):
        build_fusion_model("late", ehr_encoder=enc, num_classes=1)
    with pytest.raises(ValueError, match="needs an ehr_encoder"):
        build_fusion_model("medfuse", cxr_encoder=SpyEncoder(), num_classes=1)
    with pytest.raises(ValueError, match="no `missing`"):
        build_fusion_model(
            "late", ehr_encoder=enc, cxr_encoder=SpyEncoder(), num_classes=1, missing="zeros"
        )
    with pytest.raises(ValueError, match="mode must be"):
        build_fusion_model(
            "joint", ehr_encoder=enc, cxr_encoder=SpyEncoder(), num_classes=1, missing="drop"
        )
    with pytest.raises(ValueError, match="missing must be"):
        MedFuseLSTM(enc, SpyEncoder(), 1, missing="mean")
    with pytest.raises(ValueError, match="activation"):
        LateFusion(enc, SpyEncoder(), 1, activation="tanh")
    with pytest.raises(ValueError, match="mode must be"):
        MissingImageToken(4, "mean")
    assert build_fusion_model("ehr_only", ehr_encoder=enc, num_classes=2).cxr_encoder is None


def test_runs_on_linking_collate_batch_and_under_autocast():
    from medmod_lib.linking import MultimodalCollate

    g = torch.Generator().manual_seed(0)
    items = [
        {
            "ehr": torch.randn(n, D, generator=g).numpy(),
            "image": torch.randn(1, 32, 32, generator=g) if has_img else None,
            "paired": has_img,
            "labels": torch.zeros(K).numpy(),
            "stay_id": i,
            "subject_id": i,
        }
        for i, (n, has_img) in enumerate([(4, True), (2, False), (3, True)])
    ]
    batch = MultimodalCollate(n_features=D)(items)
    for name in ("late", "medfuse"):
        model = make(name).eval()
        out = model(batch)
        assert out.shape == (3, K)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(batch)
        torch.testing.assert_close(low.float(), out, atol=0.1, rtol=0.1)
