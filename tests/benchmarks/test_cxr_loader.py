"""``benchmarks/cxr_loader.py``: the pretraining loader (SSL augmentations from the cache)."""

from __future__ import annotations

import json

import pytest
import torch


@pytest.fixture(scope="module")
def cl(load_benchmark):
    return load_benchmark("cxr_loader")


@pytest.fixture(scope="module")
def root_cache(cl, synthetic_root, tmp_path_factory):
    """``(cache folder, build figures)`` of every film of the session data root."""
    return cl.cache_from_root(synthetic_root, tmp_path_factory.mktemp("ssl-cache"), workers=1)


def test_cache_from_root_caches_every_film(cl, root_cache, synthetic_root):
    from medmod_lib.cxr import ImageCache, load_metadata

    cache_dir, numbers = root_cache
    films = load_metadata(synthetic_root, views=None)
    assert numbers["images"] == len(ImageCache(cache_dir)) == len(films) > 0
    assert numbers["cache_build_1_workers_wall"] > 0
    assert numbers["cache_build_1_workers_per_cpu_second"] > 0


def test_ssl_views_cycle_over_the_cache_with_two_augmented_views(cl, root_cache):
    from medmod_lib.cxr import ImageCache, get_transforms

    cache = ImageCache(root_cache[0])
    tf = get_transforms("simclr", train=True, image_size=32, channels=1)
    ids = cache.dicom_ids[:3]
    data = cl.SSLViews(cache, ids, tf, views=2, samples=7)
    assert len(data) == 7
    torch.manual_seed(0)
    item = data[4]  # image 4 % 3 = 1
    assert set(item) == {"image", "image_view2"}
    assert item["image"].shape == item["image_view2"].shape == (1, 32, 32)
    assert not torch.equal(item["image"], item["image_view2"])  # two random augmentations
    assert set(cl.SSLViews(cache, ids, tf, views=1, samples=2)[0]) == {"image"}
    with pytest.raises(ValueError, match="views must be 1 or 2"):
        cl.SSLViews(cache, ids, tf, views=3, samples=2)
    with pytest.raises(ValueError, match="no cached images"):
        cl.SSLViews(cache, [], tf, views=2, samples=2)


def test_ssl_loader_rates_per_worker_count(cl, root_cache):
    rates = cl.ssl_loader_rates(
        root_cache[0], workers=[0, 1], samples=12, batch_size=4, image_size=32
    )
    assert rates["ssl_preset"] == "simclr" and rates["ssl_views"] == 2
    assert rates["ssl_samples"] == 12 and rates["ssl_device"] == "cpu"
    for w in (0, 1):
        assert rates[f"ssl_loader_{w}_workers_images_per_s"] > 0
        assert rates[f"ssl_loader_{w}_workers_startup_s"] >= 0


def test_main_with_a_data_root_writes_the_json(cl, synthetic_root, tmp_path):
    out = tmp_path / "loader.json"
    cl.main(
        ["--data-root", str(synthetic_root), "--workers", "1", "--ssl-workers", "0",
         "--ssl-samples", "8", "--batch-size", "4", "--image-size", "32", "--views", "1",
         "--workdir", str(tmp_path / "work"), "--json", str(out)]
    )  # fmt: skip
    numbers = json.loads(out.read_text())
    assert numbers["films"] == f"data root {synthetic_root}"
    assert numbers["ssl_views"] == 1 and numbers["ssl_image_size"] == 32
    assert numbers["ssl_loader_0_workers_images_per_s"] > 0
    assert not any(k.startswith("loader_jpeg") for k in numbers)  # no JPEG decode loaders


def test_device_augmentation_moves_uint8_and_augments_in_batches(cl, root_cache):
    from medmod_lib.cxr import ImageCache

    cache = ImageCache(root_cache[0])
    raw = cl.SSLViews(cache, cache.dicom_ids, None, views=2, samples=3)[0]
    assert set(raw) == {"image"} and raw["image"].dtype == torch.uint8
    rates = cl.ssl_loader_rates(
        root_cache[0], workers=[0], samples=12, batch_size=4, image_size=32, augment="device"
    )
    assert rates["ssl_device_aug_0_workers_images_per_s"] > 0
    assert not any(k.startswith("ssl_loader_") for k in rates)
    with pytest.raises(ValueError, match="simclr preset only"):
        cl.ssl_loader_rates(
            root_cache[0], workers=[0], samples=4, batch_size=4, preset="benchmark",
            augment="device",
        )  # fmt: skip
    with pytest.raises(ValueError, match="'cpu' or 'device'"):
        cl.ssl_loader_rates(root_cache[0], workers=[0], samples=4, batch_size=4, augment="gpu")
