"""Transform presets: shapes, ranges, normalisation, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from medmod_lib.cxr.transforms import (
    GREY_MEAN,
    GREY_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    PRESETS,
    RandomSquareCrop,
    get_transforms,
)

IMAGE = np.random.default_rng(0).integers(0, 256, (256, 256), dtype=np.uint8)
CASES = [(p, t, c) for p in PRESETS for t in (True, False) for c in (1, 3)]


@pytest.mark.parametrize(("preset", "train", "channels"), CASES)
def test_shape_dtype_range_and_seed(preset, train, channels):
    tf = get_transforms(preset, train=train, channels=channels)
    torch.manual_seed(1)
    a = tf(IMAGE)
    torch.manual_seed(1)
    b = tf(torch.from_numpy(IMAGE).unsqueeze(0))
    assert a.shape == (channels, 224, 224) and a.dtype == torch.float32
    assert torch.equal(a, b)
    mean = torch.tensor(IMAGENET_MEAN if channels == 3 else (GREY_MEAN,)).view(-1, 1, 1)
    std = torch.tensor(IMAGENET_STD if channels == 3 else (GREY_STD,)).view(-1, 1, 1)
    pixels = a * std + mean  # undo the normalisation: back in [0, 1]
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5
    if channels == 3:
        assert torch.allclose(pixels[0], pixels[1], atol=1e-5)  # grey repeated


def test_train_transforms_are_random_and_eval_is_not():
    for preset in PRESETS:
        train = get_transforms(preset, train=True)
        torch.manual_seed(0)
        outs = [train(IMAGE) for _ in range(3)]
        assert not torch.equal(outs[0], outs[1])
        ev = get_transforms(preset, train=False)
        assert torch.equal(ev(IMAGE), ev(IMAGE))


def test_eval_is_resize_centre_crop_and_normalise_in_both_presets():
    x = np.arange(256 * 256, dtype=np.int64).reshape(256, 256) % 251
    x = x.astype(np.uint8)
    a = get_transforms("benchmark", train=False, channels=1)(x)
    b = get_transforms("simclr", train=False, channels=1)(x)
    assert torch.equal(a, b)  # one normalisation for SSL and supervised (MedMod bug 13)
    expected = (torch.from_numpy(x[16:240, 16:240]).float() / 255 - GREY_MEAN) / GREY_STD
    assert torch.allclose(a[0], expected, atol=1e-5)


def test_image_size_and_errors():
    assert get_transforms("simclr", train=True, image_size=112)(IMAGE).shape == (3, 112, 112)
    with pytest.raises(ValueError, match=r"Unknown transform preset 'moco'.*'benchmark', 'simclr'"):
        get_transforms("moco", train=True)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        get_transforms("benchmark", train=True, channels=2)
    with pytest.raises(ValueError, match="uint8 grey image"):
        get_transforms("benchmark", train=False)(np.zeros((3, 8, 8), np.uint8))


def test_random_square_crop_sides():
    crop = RandomSquareCrop(0.6, 1.0)
    torch.manual_seed(0)
    sides = {crop(torch.zeros(1, 100, 120)).shape[-1] for _ in range(200)}
    assert min(sides) >= 60 and max(sides) <= 100 and len(sides) > 20
    with pytest.raises(ValueError):
        RandomSquareCrop(0.0, 1.0)
