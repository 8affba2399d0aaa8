"""ResNet X-ray encoder: no download, grayscale handling, checkpoints, channels_last."""

import pytest
import torch
import torchvision
from torch import nn

from medmod_lib.encoders import ResNetEncoder


@pytest.fixture(scope="module")
def rgb_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=3)  # fc keys must be ignored
    path = tmp_path_factory.mktemp("ckpt") / "resnet18.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    return path, net


def test_shapes_and_identity_fc():
    enc = ResNetEncoder("resnet18", in_channels=1)
    assert enc.out_dim == 512 and isinstance(enc.backbone.fc, nn.Identity)
    assert enc.backbone.conv1.in_channels == 1
    assert enc(torch.randn(2, 1, 32, 32)).shape == (2, 512)
    assert ResNetEncoder("resnet34").out_dim == 512


def test_rgb_encoder_accepts_gray_by_repeating():
    enc = ResNetEncoder("resnet18", in_channels=3).eval()
    gray = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(enc(gray), enc(gray.repeat(1, 3, 1, 1)))


def test_gray_checkpoint_sums_rgb_filters(rgb_checkpoint):
    path, net = rgb_checkpoint
    gray_enc = ResNetEncoder("resnet18", in_channels=1, weights=path).eval()
    rgb_enc = ResNetEncoder("resnet18", in_channels=3, weights=path).eval()
    torch.testing.assert_close(
        gray_enc.backbone.conv1.weight, net.conv1.weight.sum(dim=1, keepdim=True)
    )
    torch.testing.assert_close(rgb_enc.backbone.layer1[0].conv1.weight, net.layer1[0].conv1.weight)
    gray = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(gray_enc(gray), rgb_enc(gray), atol=1e-4, rtol=1e-4)


def test_checkpoint_errors(tmp_path, rgb_checkpoint):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        ResNetEncoder("resnet18", weights=tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="does not fit resnet34"):
        ResNetEncoder("resnet34", weights=rgb_checkpoint[0])


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="unknown arch"):
        ResNetEncoder("densenet121")
    with pytest.raises(ValueError, match="in_channels"):
        ResNetEncoder("resnet18", in_channels=2)
    enc = ResNetEncoder("resnet18", in_channels=1)
    with pytest.raises(ValueError, match="in_channels=3"):
        enc(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="get_transforms"):
        enc(torch.zeros(2, 1, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        enc(torch.randn(1, 32, 32))


def test_channels_last_same_output():
    torch.manual_seed(0)
    enc = ResNetEncoder("resnet18", in_channels=3).eval()
    x = torch.randn(2, 3, 32, 32)
    ref = enc(x)
    enc = enc.to(memory_format=torch.channels_last)
    out = enc(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_seeded_initialisation_is_deterministic():
    torch.manual_seed(3)
    a = ResNetEncoder("resnet18", in_channels=1)
    torch.manual_seed(3)
    b = ResNetEncoder("resnet18", in_channels=1)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
