"""The Jacobian spectrum across layers (fanin.probes.spectrum) shows dynamical isometry where Pennington et
al. (2017) find it: exactly for an orthogonal linear net, nearly for orthogonal tanh at a small q*, not for
ReLU, and never for Gaussian weights, whose spectrum widens with depth. The spread is the normalized variance
of the squared singular values λ of ∂s^l/∂s^1, var(λ)/mean(λ)² (0 for an isometry; ReLU's zero singular
values, half of them, count too)."""

from __future__ import annotations

import numpy as np
import torch

from fanin import meanfield
from fanin.inits import initialize
from fanin.model import MLP
from fanin.probes.spectrum import COLUMNS, jacobian_spectrum, spectrum_layers

TANH_SIGMA_B2 = 1e-3
TANH_SIGMA_W2 = meanfield.critical_sigma_w2(TANH_SIGMA_B2, "tanh", low=0.9)
CRITICAL = {"linear": (1.0, 0.0), "tanh": (TANH_SIGMA_W2, TANH_SIGMA_B2), "relu": (2.0, 0.0)}


def spreads(activation: str, init: str, depth: int = 16, width: int = 300) -> list[float]:
    """Per layer in spectrum_layers(depth): var(λ)/mean(λ)² of the squared singular values."""
    torch.manual_seed(0)
    net = MLP(50, 10, depth=depth, width=width, activation=activation)
    sigma_w2, sigma_b2 = CRITICAL[activation]
    initialize(net, init, {"sigma_w2": sigma_w2, "sigma_b2": sigma_b2})
    table = jacobian_spectrum(net, 4 * torch.randn(2, 50))
    squared = [table["singular_value"][table["layer"] == layer] ** 2 for layer in spectrum_layers(depth)]
    return [float(lam.var() / lam.mean() ** 2) for lam in squared]


def test_the_layers_decomposed_are_powers_of_two_and_the_last():
    assert spectrum_layers(30) == [2, 4, 8, 16, 30] and spectrum_layers(16) == [2, 4, 8, 16]
    assert spectrum_layers(1) == []


def test_an_orthogonal_linear_net_is_exactly_isometric_at_every_depth():
    assert max(spreads("linear", "mean_field_orthogonal")) < 1e-10


def test_gaussian_weights_widen_the_spectrum_with_depth_even_at_criticality():
    # measured (16 layers, width 300): linear 1.0 -> 16.2, tanh 5.4 -> 22.3, relu 2.1 -> 29.3
    for activation in CRITICAL:
        widths = spreads(activation, "mean_field_normal")
        assert widths == sorted(widths) and widths[-1] > 4 * widths[0], activation


def test_orthogonal_weights_keep_tanh_near_isometry_but_not_relu():
    # measured at 16 layers: tanh orthogonal 3.3 against Gaussian 22.3; relu orthogonal 15.0 against 29.3
    tanh_orthogonal = spreads("tanh", "mean_field_orthogonal")
    tanh_gaussian = spreads("tanh", "mean_field_normal")
    assert tanh_orthogonal[-1] < 0.25 * tanh_gaussian[-1]
    relu = spreads("relu", "mean_field_orthogonal")
    assert relu == sorted(relu) and relu[-1] > 3 * tanh_orthogonal[-1]


def test_the_table_has_the_contract_columns_and_every_singular_value():
    torch.manual_seed(0)
    net = MLP(20, 3, depth=4, width=8, activation="tanh")
    table = jacobian_spectrum(net, torch.randn(3, 20))
    assert tuple(table) == COLUMNS and len(table["layer"]) == 3 * 2 * 8  # examples x layers (2, 4) x width
    assert np.all(np.diff(table["singular_value"][:8]) <= 0)  # descending, as svdvals gives them
