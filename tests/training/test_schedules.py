import math

import pytest
import torch

from medmod_lib.training.schedules import WarmupCosine, warmup_cosine_factor, warmup_cosine_schedule


def test_warmup_peak_and_end_values():
    f = WarmupCosine(warmup_steps=4, total_steps=14)
    assert [f(s) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert f(4) == 1.0  # peak right after warm-up
    assert f(9) == pytest.approx(0.5)  # half-way through the cosine
    assert f(14) == pytest.approx(0.0, abs=1e-12)  # end of the run
    assert f(20) == pytest.approx(0.0, abs=1e-12)  # clamped afterwards


def test_min_factor_and_no_warmup():
    assert warmup_cosine_factor(0, warmup_steps=0, total_steps=10) == 1.0
    assert warmup_cosine_factor(
        10, warmup_steps=0, total_steps=10, min_factor=0.1
    ) == pytest.approx(0.1)
    mid = warmup_cosine_factor(5, warmup_steps=0, total_steps=10, min_factor=0.1)
    assert mid == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))


@pytest.mark.parametrize("warmup,total", [(5, 5), (-1, 5), (0, 0)])
def test_bad_lengths_raise(warmup, total):
    with pytest.raises(ValueError):
        WarmupCosine(warmup, total)


def test_scheduler_steps_per_optimizer_step_and_state_is_plain():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.AdamW([p], lr=2.0)
    sched = warmup_cosine_schedule(opt, warmup_steps=1, total_steps=3)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(3):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx([1.0, 2.0, 1.0, 0.0], abs=1e-12)
    state = sched.state_dict()["lr_lambdas"][0]
    assert state == {"warmup_steps": 1, "total_steps": 3, "min_factor": 0.0}
