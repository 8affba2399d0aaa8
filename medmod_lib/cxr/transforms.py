"""Named, grayscale-aware X-ray transform presets.

Every preset takes a uint8 image of shape (1, H, W) (a torch tensor, or a
numpy (H, W) array as :meth:`ImageCache.get` returns), runs the geometric and
intensity augmentations on the single grey channel in uint8 (fast in
torchvision v2), then converts to float, normalises, and only at the end
repeats the channel if ``channels=3``. Supervised and self-supervised presets
normalise identically (MedMod's ``get_transforms_simclr``, nyuad-cai/MedMod
``src/data/utils.py``, builds a Normalize but never appends it, so its SSL and
supervised inputs differ): ImageNet mean/std per channel for ``channels=3``; for
``channels=1`` the mean of the ImageNet statistics (0.449, 0.226).

Presets (``image_size`` = 224 unless given; 256 below scales as image_size*256/224):

* ``benchmark`` (MedFuse supervised). Train: Resize(256), RandomHorizontalFlip,
  RandomAffine(45°, translate 0.15, scale 0.85-1.15), CenterCrop(224).
  Eval: Resize(256), CenterCrop(224).
* ``simclr`` (MedMod SSL). Train: Resize(256)+CenterCrop(256) (MedMod squashes
  with Resize((256, 256)); the kit keeps the aspect ratio, as the cache does),
  RandomAffine(±45°, translate 0.1, scale 0.7-1.5, shear ±25), random square
  crop of side U[0.6, 1.0]·256, Resize(224, bicubic), RandomHorizontalFlip,
  with p=0.8 brightness and contrast jitter of 0.8. Saturation and hue jitter
  and RandomGrayscale are identities on a grey image and are left out.
  Eval: as ``benchmark``.

Randomness follows torch's global generator: ``torch.manual_seed(s)`` before
a call gives the same output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torchvision.transforms import v2

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: Single-channel statistics: the mean of the ImageNet ones.
GREY_MEAN: float = float(np.mean(IMAGENET_MEAN))
GREY_STD: float = float(np.mean(IMAGENET_STD))
PRESETS: tuple[str, ...] = ("benchmark", "simclr")


class ToGreyTensor(torch.nn.Module):
    """uint8 (H, W) array/tensor or (1, H, W) tensor -> uint8 tensor (1, H, W)."""

    def forward(self, image: Any) -> torch.Tensor:
        if isinstance(image, np.ndarray):
            image = torch.from_numpy(np.ascontiguousarray(image))
        if not isinstance(image, torch.Tensor):
            raise TypeError(f"expected a uint8 array or tensor, got {type(image).__name__}")
        if image.ndim == 2:
            image = image.unsqueeze(0)
        if image.ndim != 3 or image.shape[0] != 1 or image.dtype != torch.uint8:
            raise ValueError(
                f"expected a uint8 grey image (H, W) or (1, H, W), got {tuple(image.shape)} "
                f"{image.dtype}"
            )
        return v2.functional.to_image(image) if hasattr(v2.functional, "to_image") else image


class RandomSquareCrop(torch.nn.Module):
    """Crop a square of random side ``U[min_frac, max_frac] * min(H, W)`` at a random place.

    MedMod's ``RandomCrop(randint(0.6*256, 256))``, drawn per call.
    """

    def __init__(self, min_frac: float = 0.6, max_frac: float = 1.0) -> None:
        super().__init__()
        if not 0 < min_frac <= max_frac <= 1:
            raise ValueError(f"need 0 < min_frac <= max_frac <= 1, got {min_frac}, {max_frac}")
        self.min_frac, self.max_frac = min_frac, max_frac

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        short = min(h, w)
        lo, hi = int(self.min_frac * short), int(self.max_frac * short)
        side = int(torch.randint(lo, hi + 1, (1,)).item())
        top = int(torch.randint(0, h - side + 1, (1,)).item())
        left = int(torch.randint(0, w - side + 1, (1,)).item())
        return v2.functional.crop(image, top, left, side, side)

    def extra_repr(self) -> str:
        return f"min_frac={self.min_frac}, max_frac={self.max_frac}"


class Finish(torch.nn.Module):
    """uint8 (1, H, W) -> normalised float32 (channels, H, W)."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        self.channels = channels
        mean = IMAGENET_MEAN if channels == 3 else (GREY_MEAN,)
        std = IMAGENET_STD if channels == 3 else (GREY_STD,)
        self.register_buffer("mean", torch.tensor(mean).view(-1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.as_subclass(torch.Tensor).to(torch.float32) / 255.0
        x = x.expand(self.channels, -1, -1)
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"channels={self.channels}, mean={self.mean.flatten().tolist()}, std=" + str(
            [round(s, 4) for s in self.std.flatten().tolist()]
        )


def get_transforms(
    preset: str, *, train: bool, image_size: int = 224, channels: int = 3
) -> v2.Compose:
    """The transform of a named preset.

    Args:
        preset: ``"benchmark"`` or ``"simclr"``.
        train: training augmentations (True) or the deterministic eval transform.
        image_size: output side length (224 in the benchmark).
        channels: 1 (grey) or 3 (grey repeated, for ImageNet-shaped backbones).

    Returns:
        A callable mapping uint8 (1, H, W) or (H, W) to float32
        (channels, image_size, image_size), normalised.

    Raises:
        ValueError: unknown preset (the message lists the presets), bad channels.
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown transform preset {preset!r}; choose one of {list(PRESETS)}")
    if image_size < 8:
        raise ValueError(f"image_size must be >= 8, got {image_size}")
    resize = int(round(image_size * 256 / 224))
    finish = Finish(channels)
    if not train:
        steps = [v2.Resize(resize, antialias=True), v2.CenterCrop(image_size)]
    elif preset == "benchmark":
        steps = [
            v2.Resize(resize, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomAffine(degrees=45, translate=(0.15, 0.15), scale=(0.85, 1.15)),
            v2.CenterCrop(image_size),
        ]
    else:
        steps = [
            v2.Resize(resize, antialias=True),
            v2.CenterCrop(resize),
            v2.RandomAffine(degrees=45, translate=(0.1, 0.1), scale=(0.7, 1.5), shear=25),
            RandomSquareCrop(0.6, 1.0),
            v2.Resize(
                (image_size, image_size),
                interpolation=v2.InterpolationMode.BICUBIC,
                antialias=True,
            ),
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.ColorJitter(brightness=0.8, contrast=0.8)], p=0.8),
        ]
    return v2.Compose([ToGreyTensor(), *steps, finish])
