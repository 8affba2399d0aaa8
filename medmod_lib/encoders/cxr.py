"""Chest X-ray encoder: a torchvision ResNet without its classifier.

Weights are never downloaded: the network starts random (``weights=None``) or
from a state dict stored on local disk.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

ARCHS: tuple[str, ...] = ("resnet18", "resnet34", "resnet50")


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(
            f"ResNetEncoder: checkpoint {path} does not exist; pass weights=None for random "
            "initialisation or the path of a local state-dict file (.pt/.pth)."
        )
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ValueError(f"ResNetEncoder: {path} does not hold a state dict (got {type(obj)})")
    out = {}
    for key, value in obj.items():
        for prefix in ("module.", "backbone.", "model."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        if not key.startswith("fc."):
            out[key] = value
    return out


class ResNetEncoder(nn.Module):
    """torchvision ResNet backbone with ``fc`` replaced by Identity.

    Grayscale handling: with ``in_channels=1`` the first convolution takes one
    channel; when a 3-channel (e.g. ImageNet) checkpoint is loaded its RGB
    filters are summed into that channel, which gives the same response as
    feeding the gray image repeated three times (exactly so when every channel
    is normalised alike; approximately with ImageNet's per-channel statistics,
    which the kit's 1-channel transforms average). With ``in_channels=3`` a
    1-channel input is repeated to 3 channels in ``forward`` (the MedFuse
    convention of ``.convert('RGB')``), so both encoders accept the kit's
    (B, 1, H, W) images.

    Args:
        arch: ``"resnet18"``, ``"resnet34"`` (the anchors) or ``"resnet50"``.
        in_channels: 1 or 3.
        weights: ``None`` (random init) or the path of a local state-dict file,
            e.g. torchvision's ``resnet34-b627a593.pth`` or a kit checkpoint;
            keys under ``fc.`` and prefixes ``module.``/``backbone.``/``model.``
            are ignored.

    Attributes:
        out_dim: feature size (512 for resnet18/34, 2048 for resnet50).

    Examples:
        >>> enc = ResNetEncoder("resnet18", in_channels=1)
        >>> enc(torch.zeros(2, 1, 64, 64)).shape
        torch.Size([2, 512])
    """

    def __init__(
        self,
        arch: str = "resnet34",
        in_channels: int = 3,
        weights: str | Path | None = None,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"ResNetEncoder: unknown arch {arch!r}; choose one of {ARCHS}")
        if in_channels not in (1, 3):
            raise ValueError(f"ResNetEncoder: in_channels must be 1 or 3, got {in_channels}")
        self.arch, self.in_channels = arch, in_channels
        net = getattr(torchvision.models, arch)(weights=None)
        self.out_dim: int = net.fc.in_features
        net.fc = nn.Identity()
        if weights is not None:
            state = _load_state_dict(Path(weights))
            if in_channels == 1 and state.get("conv1.weight", torch.empty(0)).shape[1:2] == (3,):
                state["conv1.weight"] = state["conv1.weight"].sum(dim=1, keepdim=True)
        if in_channels == 1:
            net.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
            nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
        if weights is not None:
            try:
                net.load_state_dict(state)
            except RuntimeError as err:
                raise ValueError(
                    f"ResNetEncoder: checkpoint {weights} does not fit {arch} with "
                    f"in_channels={in_channels}: {err}"
                ) from err
        self.backbone = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Encode images.

        Args:
            image: shape (B, C, H, W) with C = in_channels (or C = 1 when
                in_channels = 3); any memory format, channels_last included.

        Returns:
            Features, shape (B, out_dim).
        """
        if image.dim() != 4:
            raise ValueError(f"ResNetEncoder: expected (B, C, H, W), got {tuple(image.shape)}")
        if not image.is_floating_point():
            raise ValueError(
                f"ResNetEncoder: got {image.dtype} images; convert them to normalised float "
                "tensors first (medmod_lib.cxr.transforms.get_transforms)."
            )
        c = image.shape[1]
        if c == 1 and self.in_channels == 3:
            image = image.expand(-1, 3, -1, -1)
        elif c != self.in_channels:
            raise ValueError(
                f"ResNetEncoder: got {c}-channel images {tuple(image.shape)} but in_channels="
                f"{self.in_channels}; build the encoder with in_channels={c}."
            )
        return self.backbone(image)
