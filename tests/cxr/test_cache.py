"""The image cache: failures reported with paths, resume, fidelity, parallel = serial."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cxr_release import dicom_id, radiograph, write_release
from PIL import Image

from medmod_lib.cxr.cache import ImageCache, build_cache, decode_resized, resized_shape

#: Cached pixels vs a full decode + torchvision Resize/CenterCrop: mean |diff| bound (grey levels).
MEAN_ABS_TOLERANCE = 1.0


def test_failures_are_reported_with_paths(small_release, tmp_path):
    root, rows = small_release
    report = build_cache(root, tmp_path / "cache", size=32, workers=1, progress=False)
    assert (report.images, report.ok, report.missing, report.corrupt) == (6, 4, 1, 1)
    failures = {f["dicom_id"]: f for f in report.failures}
    assert failures[dicom_id(4)]["status"] == "missing"
    assert failures[dicom_id(4)]["error"].endswith(
        f"files/p10/p10000002/s50000003/{dicom_id(4)}.jpg"
    )
    assert failures[dicom_id(5)]["status"] == "corrupt"
    assert failures[dicom_id(5)]["path"] == f"files/p11/p11000003/s50000004/{dicom_id(5)}.jpg"
    assert "missing: files/p10/p10000002" in str(report)
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["missing"] == 1 and len(manifest["failures"]) == 2
    cache = ImageCache(tmp_path / "cache")
    assert len(cache) == 4 and dicom_id(1) in cache and dicom_id(5) not in cache
    assert cache.get(dicom_id(1)).shape == (32, 32)
    assert cache.failures["dicom_id"].tolist() == [dicom_id(4), dicom_id(5)]
    with pytest.raises(KeyError, match="corrupt"):
        cache.get(dicom_id(5))
    with pytest.raises(KeyError, match="not in cache"):
        cache.get("nope")


def _release(tmp_path, n=7, shape=(120, 100)):
    rows = [
        {"dicom_id": dicom_id(k), "subject_id": 10000000 + k, "study_id": 50000000 + k}
        for k in range(n)
    ]
    write_release(tmp_path / "data", rows, image_shape=shape)
    return tmp_path / "data"


def _arrays(cache_dir):
    c = ImageCache(cache_dir)
    return {d: c.get(d) for d in c.dicom_ids}


def test_resume_after_interruption(tmp_path):
    root = _release(tmp_path)
    full = build_cache(root, tmp_path / "ref", size=24, shard_size=2, workers=1, progress=False)
    part = tmp_path / "part"
    first = build_cache(root, part, size=24, shard_size=2, workers=1, progress=False, max_shards=2)
    assert (first.shards_built, first.shards_reused) == (2, 0)
    # A killed worker leaves a temp file and no status file behind.
    (part / "shards" / "00002.npy.tmp999.npy").write_bytes(b"partial")
    with pytest.raises(ValueError, match="unfinished .*3 images pending"):
        ImageCache(part)
    assert len(ImageCache(part, allow_partial=True)) == 4
    done = {p.name: p.stat().st_mtime_ns for p in (part / "shards").glob("0000[01].*")}
    second = build_cache(root, part, size=24, shard_size=2, workers=2, progress=False)
    assert (second.shards_built, second.shards_reused) == (2, 2)
    assert {p.name: p.stat().st_mtime_ns for p in (part / "shards").glob("0000[01].*")} == done
    a, b = _arrays(tmp_path / "ref"), _arrays(part)
    assert a.keys() == b.keys() and len(a) == full.ok == 7
    assert all(np.array_equal(a[k], b[k]) for k in a)
    again = build_cache(root, part, size=24, shard_size=2, workers=1, progress=False)
    assert (again.shards_built, again.shards_reused) == (0, 4)


def test_other_plan_in_same_folder_is_refused(tmp_path):
    root = _release(tmp_path, n=3)
    build_cache(root, tmp_path / "c", size=16, workers=1, progress=False)
    with pytest.raises(ValueError, match="another image list, size, shard size or format"):
        build_cache(root, tmp_path / "c", size=24, workers=1, progress=False)
    with pytest.raises(ValueError, match="another image list"):
        build_cache(
            root, tmp_path / "c", size=16, workers=1, progress=False, dicom_ids=[dicom_id(0)]
        )


def test_refuses_to_write_inside_raw_folder(tmp_path):
    root = _release(tmp_path, n=1)
    with pytest.raises(ValueError, match="inside the raw-data folder"):
        build_cache(root, root / "mimic-cxr-jpg" / "2.1.0" / "cache", workers=1, progress=False)


def test_dicom_ids_subset_and_unknown(tmp_path):
    root = _release(tmp_path, n=4)
    rep = build_cache(
        root,
        tmp_path / "c",
        dicom_ids=[dicom_id(2), dicom_id(0)],
        size=16,
        workers=1,
        progress=False,
    )
    assert rep.images == 2 and ImageCache(tmp_path / "c").dicom_ids == [dicom_id(0), dicom_id(2)]
    with pytest.raises(ValueError, match="not in the metadata"):
        build_cache(root, tmp_path / "d", dicom_ids=["x"], workers=1, progress=False)


@pytest.mark.parametrize(("width", "height"), [(1000, 1300), (1300, 1000), (777, 777)])
def test_cached_pixels_match_full_decode(tmp_path, width, height):
    from torchvision.transforms import v2

    path = tmp_path / "x.jpg"
    Image.fromarray(radiograph(height, width, seed=3)).save(path, quality=95)
    fast = decode_resized(path, 256)
    with Image.open(path) as im:
        ref = np.asarray(v2.CenterCrop(256)(v2.Resize(256)(im.convert("L"))))
    assert fast.shape == ref.shape == (256, 256)
    diff = np.abs(fast.astype(int) - ref.astype(int))
    assert diff.mean() < MEAN_ABS_TOLERANCE
    assert np.percentile(diff, 99) <= 6


def test_resized_shape_matches_torchvision_rule():
    assert resized_shape(2544, 3056, 256) == (256, 307)
    assert resized_shape(3056, 2544, 256) == (307, 256)
    assert resized_shape(300, 300, 256) == (256, 256)


def test_parallel_equals_serial(tmp_path):
    root = _release(tmp_path, n=6)
    build_cache(root, tmp_path / "s", size=16, shard_size=2, workers=1, progress=False)
    build_cache(root, tmp_path / "p", size=16, shard_size=2, workers=2, progress=False)
    a, b = _arrays(tmp_path / "s"), _arrays(tmp_path / "p")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_cache_pickles_for_dataloader_workers(tmp_path):
    import pickle

    root = _release(tmp_path, n=2)
    build_cache(root, tmp_path / "c", size=16, workers=1, progress=False)
    cache = ImageCache(tmp_path / "c")
    first = cache.get(dicom_id(0))
    clone = pickle.loads(pickle.dumps(cache))
    assert np.array_equal(clone.get(dicom_id(0)), first)
    assert "2 images" in repr(cache)


def test_resume_after_kill(tmp_path):
    """SIGKILL a real build mid-way, resume it, and get the reference cache."""
    import signal
    import subprocess
    import sys
    import time

    root = _release(tmp_path, n=40, shape=(400, 360))
    build_cache(root, tmp_path / "ref", size=24, shard_size=1, workers=1, progress=False)
    code = (
        "import sys; from medmod_lib.cxr.cache import build_cache; "
        "build_cache(sys.argv[1], sys.argv[2], size=24, shard_size=1, workers=1, progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(root), str(tmp_path / "kill")])
    first = tmp_path / "kill" / "shards" / "00000.json"
    deadline = time.monotonic() + 60
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((tmp_path / "kill" / "shards").glob("*.json")))
    assert 1 <= done_before < 40, "the build was not interrupted mid-way"
    report = build_cache(root, tmp_path / "kill", size=24, shard_size=1, workers=2, progress=False)
    assert report.shards_reused == done_before and report.shards_built == 40 - done_before
    a, b = _arrays(tmp_path / "ref"), _arrays(tmp_path / "kill")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_film_that_appears_later_is_decoded_without_retry(small_release, tmp_path):
    root, _ = small_release
    build_cache(root, tmp_path / "c", size=16, shard_size=2, workers=1, progress=False)
    missing = root / "mimic-cxr-jpg" / "2.1.0" / f"files/p10/p10000002/s50000003/{dicom_id(4)}.jpg"
    missing.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(radiograph(60, 50, seed=1)).save(missing, quality=95)
    again = build_cache(root, tmp_path / "c", size=16, shard_size=2, workers=1, progress=False)
    # Only shard 1 (ids 3, 4) is rebuilt; the corrupt film of shard 2 is unchanged.
    assert (again.shards_built, again.shards_reused) == (1, 2)
    assert (again.ok, again.missing, again.corrupt) == (5, 0, 1)
    assert dicom_id(4) in ImageCache(tmp_path / "c")
    retried = build_cache(
        root, tmp_path / "c", size=16, shard_size=2, workers=1, progress=False, retry_failed=True
    )
    # retry_failed decodes the unchanged corrupt film of shard 2 again; shards 0-1 are kept.
    assert (retried.shards_built, retried.shards_reused) == (1, 2)
    assert retried.corrupt == 1


def _replace_keeping_mtime(path, pixels):
    """Write other pixels of the same byte size to ``path`` and set its old mtime back."""
    import io
    import os

    old, st = path.read_bytes(), path.stat()
    for quality in range(95, 5, -1):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=quality)
        new = buf.getvalue()
        if len(new) + 4 <= len(old):
            break
    pad = len(old) - len(new) - 4  # a comment segment after SOI brings it to the old size
    new = new[:2] + b"\xff\xfe" + (pad + 2).to_bytes(2, "big") + b"\0" * pad + new[2:]
    assert len(new) == len(old) and new != old
    path.write_bytes(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_a_same_size_film_with_an_old_mtime_is_decoded_again(tmp_path):
    root = _release(tmp_path, n=6, shape=(120, 100))
    first = build_cache(root, tmp_path / "c", size=24, shard_size=2, workers=1, progress=False)
    assert first.shards_built == 3
    film = root / "mimic-cxr-jpg" / "2.1.0" / ImageCache(tmp_path / "c").table.loc[2, "path"]
    d = ImageCache(tmp_path / "c").table.loc[2, "dicom_id"]
    before = ImageCache(tmp_path / "c").get(d).copy()
    _replace_keeping_mtime(film, np.full((120, 100), 255, np.uint8))
    again = build_cache(root, tmp_path / "c", size=24, shard_size=2, workers=1, progress=False)
    assert (again.shards_built, again.shards_reused) == (1, 2)  # only film 2's shard
    after = ImageCache(tmp_path / "c").get(d)
    assert not np.array_equal(before, after) and after.mean() > 240


def test_a_touched_film_with_the_same_bytes_is_not_decoded_again(tmp_path):
    import os

    root = _release(tmp_path, n=4, shape=(120, 100))
    build_cache(root, tmp_path / "c", size=24, shard_size=2, workers=1, progress=False)
    film = root / "mimic-cxr-jpg" / "2.1.0" / ImageCache(tmp_path / "c").table.loc[0, "path"]
    os.utime(film, ns=(1, 1))
    again = build_cache(root, tmp_path / "c", size=24, shard_size=2, workers=1, progress=False)
    assert (again.shards_built, again.shards_reused) == (0, 2)
    # The new stat is recorded: the next check does not hash the film again.
    entry = json.loads((tmp_path / "c" / "shards" / "00000.json").read_text())[0]
    assert entry["stat"][1] == 1


def test_command_line(small_release, tmp_path, capsys):
    from medmod_lib.cxr.__main__ import main

    root, _ = small_release
    args = ["--root", str(root), "--out", str(tmp_path / "c"), "--size", "16", "--workers", "1"]
    assert main([*args, "--views", "AP"]) == 1  # the AP set holds the missing and corrupt files
    out = capsys.readouterr().out
    assert "4 images, 2 ok, 1 missing, 1 corrupt" in out and f"{dicom_id(5)}.jpg" in out


def test_an_unreadable_film_is_named_in_its_error(tmp_path):
    from medmod_lib.cxr.decode import build_shard

    (tmp_path / "x.jpg").write_bytes(b"not an image at all")
    status = build_shard(str(tmp_path / "s.npy"), str(tmp_path), ["x.jpg"], 16)
    assert status[0]["status"] == "corrupt"
    # decoded from memory, but Pillow's message names the file as before, with no address
    assert str(tmp_path / "x.jpg") in status[0]["error"] and "BytesIO" not in status[0]["error"]
