import pytest
import torch

from medmod_lib.losses import CLIPLoss
from medmod_lib.training.optim import OptimConfig, build_optimizer
from medmod_lib.training.schedules import warmup_cosine_schedule


class TwoTower(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(4, 3)
        self.criterion = CLIPLoss(temperature=0.07)


def _lr_of_temperature(opt: torch.optim.Optimizer, model: TwoTower) -> float:
    (group,) = [
        g
        for g in opt.param_groups
        if any(p is model.criterion.log_logit_scale for p in g["params"])
    ]
    return group["lr"]


def test_temperature_gets_its_own_scaled_rate_and_no_decay():
    model = TwoTower()
    opt = build_optimizer(model, OptimConfig(lr=1e-3, weight_decay=0.1, temperature_lr_scale=20))
    assert _lr_of_temperature(opt, model) == pytest.approx(2e-2)
    temp_group = [g for g in opt.param_groups if g["lr"] == pytest.approx(2e-2)][0]
    assert temp_group["weight_decay"] == 0.0 and len(temp_group["params"]) == 1
    others = [p for g in opt.param_groups if g is not temp_group for p in g["params"]]
    assert len(others) == 2 and all(p is not model.criterion.log_logit_scale for p in others)
    # the schedule scales every group from its own peak rate
    sched = warmup_cosine_schedule(opt, warmup_steps=2, total_steps=10)
    sched.step()
    assert opt.param_groups[0]["lr"] < 1e-3  # still warming up
    assert _lr_of_temperature(opt, model) == pytest.approx(20 * opt.param_groups[0]["lr"])


def test_default_scale_keeps_the_temperature_in_the_undecayed_group():
    model = TwoTower()
    opt = build_optimizer(model, OptimConfig(lr=1e-3))
    assert len(opt.param_groups) == 2 and _lr_of_temperature(opt, model) == pytest.approx(1e-3)


def test_a_larger_scale_moves_the_temperature_further():
    moved = {}
    for scale in (1.0, 20.0):
        torch.manual_seed(0)
        model = TwoTower()
        opt = build_optimizer(model, OptimConfig(lr=1e-3, temperature_lr_scale=scale))
        x, y = torch.randn(16, 4), torch.randn(16, 3)
        for _ in range(20):
            loss = model.criterion(model.encoder(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        moved[scale] = abs(model.criterion.temperature - 0.07)
    assert moved[20.0] > 5 * moved[1.0] > 0


def test_nonpositive_scale_is_refused():
    with pytest.raises(ValueError, match="temperature_lr_scale must be > 0"):
        OptimConfig(temperature_lr_scale=0)
