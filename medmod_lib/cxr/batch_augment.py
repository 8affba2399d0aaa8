"""The ``simclr`` training augmentation on a whole batch, on the batch's device.

The per-image preset (:func:`~medmod_lib.cxr.transforms.get_transforms`) runs
in DataLoader workers on CPU cores: about 170 two-view images per second per
core at 224 px, which a GPU can outrun. :class:`BatchSSLAugment` draws the same
random parameters (rotation ±45°, translation 0.1, scale 0.7-1.5, x-shear ±25°,
a square crop of side U[0.6, 1.0], horizontal flip, and with p=0.8 brightness
and contrast jitter of 0.8 in random order) per image, and applies them to a
uint8 batch of cache images in one ``grid_sample`` and a few elementwise ops,
so the loader only has to move uint8 pixels.

Differences from the per-image preset, by design: the affine transform, crop
and resize are one bilinear resampling of the cache image (the preset resamples
nearest-neighbour, crops, then resizes bicubic), and the pixels are float from
the start (the preset jitters in uint8). The distribution of geometric
transforms is the same (checked in ``tests/cxr/test_batch_augment.py``).

Example::

    aug = BatchSSLAugment(image_size=224).to("cuda")
    images = batch["image"].to("cuda", non_blocking=True)   # uint8 (B, 1, 256, 256)
    view1, view2 = aug(images), aug(images)                  # float (B, 1, 224, 224)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .transforms import GREY_MEAN, GREY_STD, IMAGENET_MEAN, IMAGENET_STD


class BatchSSLAugment(nn.Module):
    """Batched ``simclr`` augmentation: uint8 (B, 1, H, W) -> normalised float (B, C, S, S).

    Args:
        image_size: output side ``S``.
        channels: 1 (grey) or 3 (grey repeated, ImageNet statistics), as ``Finish``.
        degrees: rotation drawn from U[-degrees, degrees].
        translate: shift drawn from U[-translate, translate] of the side, per axis.
        scale: zoom drawn from U[scale].
        shear: x-shear angle drawn from U[-shear, shear] degrees.
        crop: side of the square crop as a fraction of the image, drawn from U[crop].
        flip_p: probability of a horizontal flip.
        jitter_p: probability of brightness and contrast jitter.
        brightness: brightness factor drawn from U[1 - brightness, 1 + brightness].
        contrast: contrast factor drawn from U[1 - contrast, 1 + contrast].
    """

    def __init__(
        self,
        image_size: int = 224,
        channels: int = 1,
        *,
        degrees: float = 45.0,
        translate: float = 0.1,
        scale: tuple[float, float] = (0.7, 1.5),
        shear: float = 25.0,
        crop: tuple[float, float] = (0.6, 1.0),
        flip_p: float = 0.5,
        jitter_p: float = 0.8,
        brightness: float = 0.8,
        contrast: float = 0.8,
    ) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if not 0 < crop[0] <= crop[1] <= 1:
            raise ValueError(f"need 0 < crop[0] <= crop[1] <= 1, got {crop}")
        if image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {image_size}")
        self.image_size, self.channels = image_size, channels
        self.degrees, self.translate, self.scale, self.shear = degrees, translate, scale, shear
        self.crop, self.flip_p, self.jitter_p = crop, flip_p, jitter_p
        self.brightness, self.contrast = brightness, contrast
        mean = IMAGENET_MEAN if channels == 3 else (GREY_MEAN,)
        std = IMAGENET_STD if channels == 3 else (GREY_STD,)
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def sample_params(self, n: int, generator: torch.Generator | None = None) -> dict:
        """Random parameters of ``n`` images (CPU float tensors of shape (n,))."""

        def uniform(lo: float, hi: float) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(n, generator=generator)

        side = uniform(*self.crop)
        return {
            "angle": uniform(-self.degrees, self.degrees),
            "tx": uniform(-self.translate, self.translate),
            "ty": uniform(-self.translate, self.translate),
            "scale": uniform(*self.scale),
            "shear": uniform(-self.shear, self.shear),
            "crop": side,
            # the crop's centre, in [-(1 - side), 1 - side] (normalised coordinates)
            "cx": (1 - side) * uniform(-1.0, 1.0),
            "cy": (1 - side) * uniform(-1.0, 1.0),
            "flip": torch.rand(n, generator=generator) < self.flip_p,
            "jitter": torch.rand(n, generator=generator) < self.jitter_p,
            "b": uniform(1 - self.brightness, 1 + self.brightness),
            "c": uniform(1 - self.contrast, 1 + self.contrast),
            "contrast_first": torch.rand(n, generator=generator) < 0.5,
        }

    @staticmethod
    def theta(p: dict) -> torch.Tensor:
        """(n, 2, 3) maps from output to source coordinates (``affine_grid``'s ``theta``).

        An output point ``u`` (normalised, [-1, 1]) lies at ``q = c + crop * flip(u)``
        of the affine-transformed image, i.e. at ``L^-1 (q - t)`` of the source, with
        ``L = rotation @ shear * scale`` about the centre and ``t`` the translation.
        """
        a, s = torch.deg2rad(p["angle"]), torch.deg2rad(p["shear"])
        cos, sin = torch.cos(a), torch.sin(a)
        one, zero = torch.ones_like(a), torch.zeros_like(a)
        rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
        shear = torch.stack(
            [torch.stack([one, -torch.tan(s)], -1), torch.stack([zero, one], -1)], -2
        )
        lin = rot @ shear * p["scale"].view(-1, 1, 1)
        inv = torch.linalg.inv(lin)
        flip = torch.where(p["flip"], -one, one)
        crop = torch.diag_embed(torch.stack([p["crop"] * flip, p["crop"]], -1))
        shift = torch.stack([p["cx"] - 2 * p["tx"], p["cy"] - 2 * p["ty"]], -1).unsqueeze(-1)
        return torch.cat([inv @ crop, inv @ shift], -1)

    def forward(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Augment a batch on its own device.

        Args:
            images: uint8 (B, 1, H, W) or (B, H, W), square (the cache's images).
            generator: CPU generator for the parameters (default: torch's global one).

        Returns:
            float32 (B, channels, image_size, image_size), normalised.

        Raises:
            ValueError: not a uint8 batch of square grey images (the message has the shape).
        """
        if images.ndim == 3:
            images = images.unsqueeze(1)
        if (
            images.dtype != torch.uint8
            or images.ndim != 4
            or images.shape[1] != 1
            or images.shape[-1] != images.shape[-2]
        ):
            raise ValueError(
                "expected a uint8 batch of square grey images (B, 1, H, H) or (B, H, H), "
                f"got {tuple(images.shape)} {images.dtype}"
            )
        n, device = images.shape[0], images.device
        p = self.sample_params(n, generator)
        grid = F.affine_grid(
            self.theta(p).to(device),
            [n, 1, self.image_size, self.image_size],
            align_corners=False,
        )
        x = F.grid_sample(
            images.float() / 255.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        x = self._jitter(x, {k: v.to(device) for k, v in p.items()})
        x = x.expand(-1, self.channels, -1, -1)
        return (x - self.mean) / self.std

    @staticmethod
    def _jitter(x: torch.Tensor, p: dict) -> torch.Tensor:
        """Brightness and contrast (torchvision's formulas), in a random order per image."""
        b = torch.where(p["jitter"], p["b"], torch.ones_like(p["b"])).view(-1, 1, 1, 1)
        c = torch.where(p["jitter"], p["c"], torch.ones_like(p["c"])).view(-1, 1, 1, 1)

        def bright(y: torch.Tensor) -> torch.Tensor:
            return (y * b).clamp(0, 1)

        def contr(y: torch.Tensor) -> torch.Tensor:
            mean = y.mean(dim=(1, 2, 3), keepdim=True)
            return (c * y + (1 - c) * mean).clamp(0, 1)

        first = p["contrast_first"].view(-1, 1, 1, 1)
        return torch.where(first, bright(contr(x)), contr(bright(x)))

    def extra_repr(self) -> str:
        return (
            f"image_size={self.image_size}, channels={self.channels}, degrees={self.degrees}, "
            f"translate={self.translate}, scale={self.scale}, shear={self.shear}, "
            f"crop={self.crop}, flip_p={self.flip_p}, jitter_p={self.jitter_p}"
        )
