"""The fused step is torch.optim.SGD's step: same network, same batch, every optimizer setting fanin offers.

Tolerances (float32, absolute, on parameters of size 0.1..1): two steps agree to float32 rounding of the
weights (the update is summed in another order; measured worst 2.4e-7), 300 steps within 1e-5 (measured worst
1.0e-6): far below what any table reports.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from fanin.activations import ACTIVATIONS
from fanin.model import MLP
from fanin.train.fused_sgd import FusedSGD
from fanin.train.pack import Pack

SETTINGS = {
    "plain": dict(momentum=0.0, weight_decay=0.0, nesterov=False),
    "weight_decay": dict(momentum=0.0, weight_decay=1e-3, nesterov=False),
    "momentum": dict(momentum=0.9, weight_decay=0.0, nesterov=False),
    "momentum_weight_decay": dict(momentum=0.9, weight_decay=1e-3, nesterov=False),
    "nesterov": dict(momentum=0.9, weight_decay=0.0, nesterov=True),
    "nesterov_weight_decay": dict(momentum=0.9, weight_decay=1e-3, nesterov=True),
}


def twins(activation: str, batch_norm: bool, setting: dict, lr: float = 0.05):
    torch.manual_seed(0)
    reference = MLP(20, 4, depth=3, width=32, activation=activation, batch_norm=batch_norm)
    fused = copy.deepcopy(reference)
    return (reference, torch.optim.SGD(reference.parameters(), lr=lr, **setting),
            fused, FusedSGD(Pack([fused]), [dict(lr=lr, **setting)]))


def batches(n: int, batch: int = 10):
    generator = torch.Generator().manual_seed(1)
    for _ in range(n):
        yield torch.randn(batch, 20, generator=generator), torch.randint(0, 4, (batch,), generator=generator)


def train(reference, optimizer, fused, fused_optimizer, steps: int) -> None:
    for x, y in batches(steps):
        optimizer.zero_grad()
        F.cross_entropy(reference(x), y).backward()
        optimizer.step()
        fused_optimizer.step(batch=(x[None], y[None]))


def worst_difference(a: MLP, b: MLP) -> float:
    """Largest |difference| over all parameters (weights and batch-norm scales are O(0.1..1) here)."""
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_one_fused_step_is_one_torch_sgd_step(setting, activation, batch_norm):
    nets = twins(activation, batch_norm, SETTINGS[setting])
    train(*nets, steps=2)  # two steps: momentum's first step initialises its buffer, the second uses it
    assert worst_difference(nets[0], nets[2]) < 1e-6


@pytest.mark.parametrize("setting", SETTINGS)
def test_three_hundred_fused_steps_stay_with_torch_sgd(setting):
    nets = twins("tanh", False, SETTINGS[setting])
    train(*nets, steps=300)
    assert worst_difference(nets[0], nets[2]) < 1e-5


def test_the_fused_step_never_writes_a_weight_gradient():
    model = MLP(20, 4, depth=3, width=32, activation="prelu", batch_norm=True)
    before = copy.deepcopy(model)
    x, y = next(batches(1))
    FusedSGD(Pack([model]), [dict(lr=0.1, **SETTINGS["plain"])]).step(batch=(x[None], y[None]))
    assert all(p.grad is None for p in model.parameters())
    # every parameter learns
    assert all((p != q).any() for p, q in zip(model.parameters(), before.parameters(), strict=True))


def test_nesterov_without_momentum_is_refused():
    with pytest.raises(ValueError, match="nesterov=true needs optim.momentum > 0"):
        FusedSGD(Pack([MLP(2, 2, depth=1, width=3)]), [{**SETTINGS["plain"], "lr": 0.1, "nesterov": True}])


def test_an_optim_group_with_a_hole_is_refused():
    with pytest.raises(ValueError, match="optim group without momentum"):
        FusedSGD(Pack([MLP(2, 2, depth=1, width=3)]), [dict(lr=0.1, weight_decay=0.0, nesterov=False)])


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
def test_the_analytic_delta_is_autograds_to_the_bit(activation):
    # tanh, sigmoid, ReLU and the identity skip the per-layer graph: ATen's own backward kernel gives δ.
    _, _, analytic, analytic_optimizer = twins(activation, False, SETTINGS["momentum"])
    _, _, graph, graph_optimizer = twins(activation, False, SETTINGS["momentum"])
    assert all(f is not None for f in analytic_optimizer.analytic)
    graph_optimizer.analytic = [None] * len(graph_optimizer.analytic)  # every δ by autograd
    for x, y in batches(50):
        analytic_optimizer.step(batch=(x[None], y[None]))
        graph_optimizer.step(batch=(x[None], y[None]))
    assert all(torch.equal(p, q) for p, q in zip(analytic.parameters(), graph.parameters(), strict=True))


def diverging_pair(setting: dict):
    """A pack of two small ReLU nets: run 0 trains at lr 0.05, run 1 at an lr that blows it up in a
    few steps."""
    torch.manual_seed(0)
    models = [MLP(20, 4, depth=3, width=32, activation="relu") for _ in range(2)]
    return models, FusedSGD(Pack(models), [dict(lr=0.05, **setting), dict(lr=1e4, **setting)])


@pytest.mark.parametrize("setting", ["plain", "momentum"])
def test_a_diverging_run_is_frozen_by_the_step_itself_at_the_step_its_loss_turned_non_finite(setting):
    models, optimizer = diverging_pair(SETTINGS[setting])
    losses, weights = [], []
    for x, y in batches(40):
        weights.append([p.clone() for p in models[1].parameters()])
        losses.append(optimizer.step(batch=(x[None].expand(2, -1, -1), y[None].expand(2, -1)))[1])
    first = next(step for step, loss in enumerate(losses, 1) if not torch.isfinite(loss[1]))
    assert optimizer.live.tolist() == [True, False]
    assert optimizer.diverged_at.tolist() == [-1, first]
    # from the step that computed the first NaN/inf loss on, its weights are those that produced it
    for later in weights[first:]:
        assert all(torch.equal(p.isnan(), q.isnan()) and torch.equal(p.nan_to_num(), q.nan_to_num())
                   for p, q in zip(weights[first - 1], later, strict=True))
    assert all(torch.isfinite(loss[0]) for loss in losses)


def test_the_divergence_state_resumes_from_the_optimizers_checkpoint():
    models, optimizer = diverging_pair(SETTINGS["plain"])
    for x, y in batches(40):
        optimizer.step(batch=(x[None].expand(2, -1, -1), y[None].expand(2, -1)))
    state = copy.deepcopy(optimizer.state_dict())
    _, resumed = diverging_pair(SETTINGS["plain"])
    resumed.load_state_dict(state)
    assert resumed.live.tolist() == [True, False] and resumed.diverged_at.equal(optimizer.diverged_at)
    assert resumed.updates == 40 and resumed.per_run["lr"].tolist() == pytest.approx([0.05, 0.0])
