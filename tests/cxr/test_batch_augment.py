"""The batched ``simclr`` augmentation against the per-image preset it stands in for."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from medmod_lib.cxr.batch_augment import BatchSSLAugment
from medmod_lib.cxr.transforms import Finish, RandomSquareCrop

STILL = dict(degrees=0, translate=0, scale=(1, 1), shear=0, crop=(1, 1), flip_p=0, jitter_p=0)


@pytest.fixture
def images():
    return torch.randint(
        0, 256, (5, 1, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


def test_without_randomness_it_is_the_presets_finish(images):
    out = BatchSSLAugment(32, **STILL)(images)
    ref = torch.stack([Finish(1)(im) for im in images])
    assert out.dtype == torch.float32 and out.shape == (5, 1, 32, 32)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    flipped = BatchSSLAugment(32, **(STILL | {"flip_p": 1.0}))(images)
    torch.testing.assert_close(flipped, ref.flip(-1), rtol=0, atol=1e-6)


def test_shapes_channels_and_errors(images):
    out = BatchSSLAugment(16, channels=3)(images[:, 0])  # (B, H, W) works too
    assert out.shape == (5, 3, 16, 16)
    torch.testing.assert_close(out[:, 0] * 0.229 + 0.485, out[:, 2] * 0.225 + 0.406)
    with pytest.raises(ValueError, match=r"\(5, 1, 32, 32\) torch.float32"):
        BatchSSLAugment(16)(images.float())
    with pytest.raises(ValueError, match="square"):
        BatchSSLAugment(16)(images[..., :20])
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        BatchSSLAugment(16, channels=2)


def test_same_generator_same_views_and_two_calls_differ(images):
    aug = BatchSSLAugment(24)
    a = aug(images, torch.Generator().manual_seed(3))
    b = aug(images, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, aug(images, torch.Generator().manual_seed(4)))


def test_translation_moves_the_content_like_torchvision():
    img = torch.zeros(1, 1, 40, 40, dtype=torch.uint8)
    img[..., 18:22, 18:22] = 255  # a bright square in the middle
    aug = BatchSSLAugment(40, **STILL)
    p = aug.sample_params(1) | {"tx": torch.tensor([0.25]), "ty": torch.tensor([-0.25])}
    grid = torch.nn.functional.affine_grid(aug.theta(p), [1, 1, 40, 40], align_corners=False)
    out = torch.nn.functional.grid_sample(img.float(), grid, align_corners=False)
    ref = v2.functional.affine(img[0], angle=0.0, translate=[10, -10], scale=1.0, shear=[0.0])
    torch.testing.assert_close(out[0], ref.float(), rtol=0, atol=1e-3)


def test_contrast_keeps_a_flat_image_and_brightness_scales_it():
    flat = torch.full((64, 1, 16, 16), 100, dtype=torch.uint8)
    contrast_only = BatchSSLAugment(16, **(STILL | {"jitter_p": 1.0, "brightness": 0.0}))
    torch.testing.assert_close(contrast_only(flat), BatchSSLAugment(16, **STILL)(flat))
    bright = BatchSSLAugment(16, **(STILL | {"jitter_p": 1.0, "contrast": 0.0}))(flat)
    grey = bright * 0.226 + 0.449  # undo the normalisation (approximately the mean stats)
    factors = grey[:, 0, 0, 0] / (100 / 255)
    assert factors.min() >= 0.2 - 1e-3 and factors.max() <= 1.8 + 1e-3
    assert factors.std() > 0.2  # drawn per image


def test_geometry_has_the_presets_distribution():
    """Share of fill pixels (outside the rotated/shifted film) matches the preset's."""
    torch.manual_seed(0)
    white = torch.full((1, 64, 64), 255, dtype=torch.uint8)
    preset = v2.Compose(
        [
            v2.RandomAffine(degrees=45, translate=(0.1, 0.1), scale=(0.7, 1.5), shear=25),
            RandomSquareCrop(0.6, 1.0),
            v2.Resize((32, 32), antialias=True),
        ]
    )
    n = 400
    ref = torch.stack([preset(white) for _ in range(n)]).float() / 255
    ours = BatchSSLAugment(32, jitter_p=0.0)(
        white.expand(n, 1, 64, 64), torch.Generator().manual_seed(1)
    )
    ours = ours * 0.226 + 0.449
    fill_ref, fill_ours = (ref < 0.5).float().mean(), (ours < 0.5).float().mean()
    assert 0.05 < fill_ref < 0.5
    assert abs(fill_ours - fill_ref) < 0.03, (fill_ours, fill_ref)
