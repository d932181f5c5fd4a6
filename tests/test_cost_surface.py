"""Glorot & Bengio (2010), Fig. 5 and Sec. 4.1: over two weights (one per layer) of a one-hidden-layer net,
the quadratic cost is flatter and has plateaus where the cross-entropy (negative log-likelihood) has none."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from fanin.model import MLP
from fanin.probes.cost_surface import COLUMNS, cost_surface

POINTS = 41


def trained_net(activation: str = "tanh", batch_norm: bool = False, steps: int = 50):
    """A small net trained `steps` full-batch SGD steps on a linearly separable 3-class task."""
    torch.manual_seed(0)
    x = torch.randn(200, 20)
    y = (x @ torch.randn(20, 3)).argmax(1)
    model = MLP(in_features=20, num_classes=3, depth=1, width=8, activation=activation, batch_norm=batch_norm)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model, x, y


@pytest.fixture(scope="module")
def net():
    return trained_net()


def surface(df, cost: str) -> np.ndarray:
    """The (w1, w2) grid of one cost, w1 along rows."""
    rows = df[df.cost == cost]
    assert (np.diff(rows.w1.to_numpy().reshape(POINTS, POINTS)[:, 0]) > 0).all()
    return rows.value.to_numpy().reshape(POINTS, POINTS)


def gradient_norm(values: np.ndarray, span: float) -> np.ndarray:
    h = 2 * span / (POINTS - 1)
    g1, g2 = np.gradient(values, h, h)
    return np.hypot(g1, g2)


def test_table_has_both_costs_on_the_full_grid_with_the_documented_columns(net):
    model, x, y = net
    df = cost_surface(model, x, y, step=50, points=POINTS, span=4.0)
    assert tuple(df.columns) == COLUMNS
    assert len(df) == 2 * POINTS * POINTS
    n = POINTS * POINTS
    assert df.cost.value_counts().to_dict() == {"cross_entropy": n, "quadratic": n}
    for cost in ("cross_entropy", "quadratic"):
        rows = df[df.cost == cost]
        assert sorted(set(rows.w1)) == pytest.approx(np.linspace(-4, 4, POINTS))
        assert sorted(set(rows.w2)) == pytest.approx(np.linspace(-4, 4, POINTS))
        assert len(set(zip(rows.w1, rows.w2, strict=True))) == POINTS * POINTS
    for col in ("step", "unit", "input", "output_class"):
        assert df[col].dtype == np.int64
    for col in ("w1", "w2", "value", "w1_now", "w2_now"):
        assert df[col].dtype == np.float64
    assert all(isinstance(c, str) for c in df.cost)
    assert (df.step == 50).all()


def test_the_two_weights_are_the_strongest_path_to_the_most_frequent_class(net):
    model, x, y = net
    df = cost_surface(model, x, y, step=0)
    j, k, c = int(df.unit[0]), int(df.input[0]), int(df.output_class[0])
    w_out, w_in = model.output.weight.detach(), model.hidden[0].weight.detach()
    assert j == int(w_out.norm(dim=0).argmax())
    assert k == int(w_in[j].abs().argmax())
    assert c == int(torch.bincount(y, minlength=3).argmax())
    assert (df.w1_now == float(w_in[j, k])).all() and (df.w2_now == float(w_out[c, j])).all()


@pytest.mark.parametrize("activation,batch_norm", [("tanh", False), ("prelu", True)])
def test_each_grid_value_is_the_cost_of_the_net_with_those_two_weights_set(activation, batch_norm):
    model, x, y = trained_net(activation, batch_norm)
    model.train()
    before = copy.deepcopy(model.state_dict())
    df = cost_surface(model, x, y, step=50, points=POINTS, span=4.0)
    assert model.training, "the model's mode is restored"
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), f"{name} was modified"
    j, k, c = int(df.unit[0]), int(df.input[0]), int(df.output_class[0])
    target = F.one_hot(y, 3).float()
    grid = np.linspace(-4, 4, POINTS)
    for a, b in [(0, 0), (0, POINTS - 1), (7, 33), (20, 20), (POINTS - 1, 3), (POINTS - 1, POINTS - 1)]:
        probe = copy.deepcopy(model).eval()
        with torch.no_grad():
            probe.hidden[0].weight[j, k] = grid[a]
            probe.output.weight[c, j] = grid[b]
            logits = probe(x)
        expected = {"cross_entropy": float(F.cross_entropy(logits, y)),
                    "quadratic": float((torch.softmax(logits, 1) - target).square().sum(1).mean())}
        for cost, value in expected.items():
            row = df[(df.cost == cost) & np.isclose(df.w1, grid[a]) & np.isclose(df.w2, grid[b])]
            assert len(row) == 1
            assert row.value.iloc[0] == pytest.approx(value, abs=1e-5), (cost, a, b)


def test_quadratic_cost_is_flatter_than_cross_entropy_where_the_net_is_wrong(net):
    # Sec. 4.1 / Fig. 5: the quadratic (red, bottom) surface lies flat under the cross-entropy (black, top).
    # On this net at span 4 the quadratic cost spans 0.51x the cross-entropy's range, and where the net is
    # wrong (grid points whose cross-entropy is above its median) its gradient is a median 0.43x the
    # cross-entropy's.
    # (Across seeds 0-9, trained or at init, these stay <= 0.53 and <= 0.52.)
    model, x, y = net
    df = cost_surface(model, x, y, step=50, points=POINTS, span=4.0)
    ce, quad = surface(df, "cross_entropy"), surface(df, "quadratic")
    assert np.ptp(quad) / np.ptp(ce) < 0.6
    wrong = ce > np.median(ce)
    assert np.median(gradient_norm(quad, 4.0)[wrong] / gradient_norm(ce, 4.0)[wrong]) < 0.6


def test_quadratic_cost_has_plateaus_where_cross_entropy_has_none(net):
    # Sec. 4.1: "plateaus" of the quadratic cost. Out to |w| <= 8, where unit j saturates and the output is
    # confidently wrong, 16% of the grid has a quadratic-cost gradient norm below 0.02, against 0.8% for the
    # cross-entropy, whose gradient p - onehot(y) does not vanish on wrong outputs. (Seeds 0-9, trained or at
    # init: quadratic >= 11%, cross-entropy <= 2.5%.) At span 4 the plateaus have not begun: both are ~1-5%.
    model, x, y = net
    df = cost_surface(model, x, y, step=50, points=POINTS, span=8.0)
    flat_ce = (gradient_norm(surface(df, "cross_entropy"), 8.0) < 0.02).mean()
    flat_quad = (gradient_norm(surface(df, "quadratic"), 8.0) < 0.02).mean()
    assert flat_quad > 0.1
    assert flat_ce < 0.05
    assert np.ptp(surface(df, "quadratic")) / np.ptp(surface(df, "cross_entropy")) < 0.35


def test_deeper_net_is_refused_naming_its_depth():
    model = MLP(in_features=20, num_classes=3, depth=2, width=8)
    with pytest.raises(ValueError, match=r"model\.depth=2"):
        cost_surface(model, torch.randn(10, 20), torch.randint(0, 3, (10,)), step=0)
