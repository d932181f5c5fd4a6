"""Signal propagation at initialization, measured against the mean-field theory (fanin.probes.signal):
a wide tanh net's pre-activation lengths follow the length map and its layer Jacobians' mean squared
singular value is χ₁, in the ordered phase, at the critical point and in the chaotic phase."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fanin import meanfield
from fanin.inits import initialize
from fanin.model import MLP
from fanin.probes.signal import COLUMNS, signal_propagation

CRITICAL = meanfield.critical_sigma_w2(0.05, "tanh")


def measured(sigma_w2: float, width: int = 1000, depth: int = 12, activation: str = "tanh", **model):
    torch.manual_seed(0)
    net = MLP(784, 10, depth=depth, width=width, activation=activation, **model)
    initialize(net, "mean_field_normal", {"sigma_w2": sigma_w2, "sigma_b2": 0.05})
    return signal_propagation(net, torch.randn(200, 784))


@pytest.mark.parametrize("sigma_w2", [1.0, CRITICAL, 3.0])
def test_lengths_follow_the_length_map_and_chi_1_the_prediction_in_a_wide_tanh_net(sigma_w2):
    # Finite width: q is a mean over 1000 units, so it fluctuates by about sqrt(2/1000) = 4.5% per layer, and
    # the trajectory carries each layer's deviation on (measured, worst layer of 12: 6.7% at σ_w² = 1, 4.0%
    # at the critical point, 1.9% at 3; median one-step deviation 0.6-1.5%).
    signal = measured(sigma_w2)
    assert tuple(signal) == COLUMNS and signal["layer"].tolist() == list(range(1, 13))
    assert np.median(np.abs(signal["q"] / signal["q_map"] - 1)) < 0.02
    assert np.max(np.abs(signal["q"] / signal["q_theory"] - 1)) < 0.10
    assert np.nanmax(np.abs(signal["chi1"] / signal["chi1_theory"] - 1)) < 0.02
    assert signal["sigma_w2"] == pytest.approx(np.full(12, sigma_w2), rel=0.01)
    deep = meanfield.propagation(sigma_w2, 0.05, "tanh")
    assert signal["q_theory"][-1] == pytest.approx(deep.q_star, rel=0.02)  # 12 layers reach q*


def test_chi_1_crosses_one_at_the_critical_point():
    sigma_w2 = (CRITICAL - 0.5, CRITICAL, CRITICAL + 1.0)
    below, at, above = (np.nanmean(measured(w)["chi1"][4:]) for w in sigma_w2)
    assert below < 0.95 < at < 1.05 < above


def test_the_theory_is_left_out_where_it_does_not_apply():
    signal = measured(1.5, width=64, depth=3, batch_norm=True)
    assert np.isnan(signal["q_theory"]).all() and np.isfinite(signal["q"]).all()
    signal = measured(1.5, width=64, depth=3, activation="leaky_relu")
    assert np.isnan(signal["chi1_theory"]).all() and np.isfinite(signal["chi1"][1:]).all()
