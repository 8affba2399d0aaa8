"""MedFuse stage 1 on the linked synthetic cohort: trained once, then reused while settings match."""

from __future__ import annotations

import pytest
import torch

from medmod_lib.evaluation import EncoderSpec, ProtocolConfig, radiology_cxr_encoder

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def prepared(linked_run):
    out, _, linked, cache = linked_run
    return out, linked, cache


SPEC = EncoderSpec(ehr_hidden_dim=8, cxr_arch="resnet18")


def _config(**kw) -> ProtocolConfig:
    base = dict(epochs=1, batch_size=8, device="cpu", progress=False, n_boot=10)
    return ProtocolConfig(**(base | kw))


def test_stage1_encoder_is_trained_once_then_reused(prepared, capsys):
    out, linked, cache = prepared
    kw = dict(encoders=SPEC, epochs=1, image_size=32, max_samples=24)
    first = radiology_cxr_encoder(linked, cache, out, config=_config(), **kw)
    files = list((out / "stage1").glob("radiology_cxr_*/encoder.pt"))
    assert len(files) == 1
    assert "trained on the radiology labels of 24 training films" in capsys.readouterr().out
    mtime = files[0].stat().st_mtime_ns
    again = radiology_cxr_encoder(linked, cache, out, config=_config(device="cpu"), **kw)
    assert "reusing" in capsys.readouterr().out
    assert files[0].stat().st_mtime_ns == mtime
    for (k, a), b in zip(first.state_dict().items(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)
    assert again is not first  # a fresh module: callers may fine-tune it
    fresh = SPEC.build()[1].state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in again.state_dict().items())
    # other training settings: another file, not the reused one
    radiology_cxr_encoder(linked, cache, out, config=_config(lr=3e-3), **kw)
    assert len(list((out / "stage1").glob("radiology_cxr_*/encoder.pt"))) == 2


def test_zero_stage1_epochs_means_no_stage1(prepared, tmp_path):
    _, linked, cache = prepared
    kw = dict(encoders=SPEC, image_size=32, max_samples=24, config=_config())
    assert radiology_cxr_encoder(linked, cache, tmp_path, epochs=0, **kw) is None
    assert not (tmp_path / "stage1").exists()  # nothing trained, nothing written
    with pytest.raises(ValueError, match="must be >= 0"):
        radiology_cxr_encoder(linked, cache, tmp_path, epochs=-1, **kw)


def test_an_interrupted_stage1_is_not_reused(prepared, tmp_path, monkeypatch, capsys):
    from medmod_lib.evaluation import stage1

    _, linked, cache = prepared
    kw = dict(encoders=SPEC, epochs=1, image_size=32, max_samples=16, config=_config())

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(stage1, "save_checkpoint", killed)
        with pytest.raises(KeyboardInterrupt):
            radiology_cxr_encoder(linked, cache, tmp_path, **kw)
    assert list((tmp_path / "stage1").iterdir()) == []  # nothing half-written left
    capsys.readouterr()
    radiology_cxr_encoder(linked, cache, tmp_path, **kw)
    assert "trained on the radiology labels" in capsys.readouterr().out
