"""The mean-field theory of signal propagation (fanin.meanfield) against closed forms, Monte Carlo and
independent quadrature: ReLU's and linear nets' exact maps, tanh's critical line, and χ₁ as a layer Jacobian's
mean squared singular value."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from fanin import meanfield as mf


@pytest.mark.parametrize("sigma_w2, sigma_b2", [(1.0, 0.0), (2.0, 0.1), (1.5, 0.3)])
@pytest.mark.parametrize("q", [0.01, 0.5, 1.0, 7.0])
def test_relu_length_map_is_half_the_weight_variance(sigma_w2, sigma_b2, q):
    expected = sigma_w2 * q / 2 + sigma_b2
    assert mf.length_map(q, sigma_w2, sigma_b2, "relu") == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("sigma_w2, sigma_b2", [(1.0, 0.1), (1.5, 0.05), (1.9, 0.3)])
def test_relu_chi_1_is_sigma_w2_over_two_and_q_star_is_closed_form(sigma_w2, sigma_b2):
    theory = mf.propagation(sigma_w2, sigma_b2, "relu")
    assert theory.q_star == pytest.approx(sigma_b2 / (1 - sigma_w2 / 2), rel=1e-9)
    assert theory.chi_1 == pytest.approx(sigma_w2 / 2, rel=1e-12)
    assert theory.c_star == 1.0 and theory.xi_c == pytest.approx(-1 / np.log(sigma_w2 / 2), rel=1e-9)


def test_relu_is_critical_at_sqrt_two_and_zero_bias():
    theory = mf.propagation(2.0, 0.0, "relu")
    assert theory.chi_1 == pytest.approx(1.0, abs=1e-12) and theory.xi_c == float("inf")
    assert mf.propagation(2.5, 0.0, "relu").q_star == float("inf")  # lengths explode
    assert mf.propagation(1.5, 0.0, "relu").q_star == 0.0  # lengths vanish


@pytest.mark.parametrize("sigma_w2, sigma_b2", [(0.5, 0.1), (0.9, 0.02)])
def test_a_linear_net_has_linear_maps(sigma_w2, sigma_b2):
    theory = mf.propagation(sigma_w2, sigma_b2, "linear")
    q_star = sigma_b2 / (1 - sigma_w2)
    assert theory.q_star == pytest.approx(q_star, rel=1e-9)
    assert theory.chi_1 == pytest.approx(sigma_w2, rel=1e-12)
    for c in (0.0, 0.3, 0.9):
        assert mf.correlation_map(c, q_star, sigma_w2, sigma_b2, "linear") == pytest.approx(
            (sigma_w2 * q_star * c + sigma_b2) / q_star, rel=1e-9)


# Gauss–Hermite is exact to rounding for smooth φ; a kink at 0 (softsign's |x|, relu's in a pair mean) slows
# its convergence: softsign's E[φ(2z)²] is 0.32378 with 100 nodes, 0.32331 with 200, 0.32301 ± 0.00014 by
# Monte Carlo, a relative error of 2.4e-3.
QUADRATURE_ERROR = {"tanh": 0.0, "sigmoid": 0.0, "relu": 3e-3, "softsign": 3e-3}


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "softsign"])
@pytest.mark.parametrize("q, c", [(0.3, 0.2), (1.5, 0.7), (4.0, -0.4)])
def test_the_maps_agree_with_monte_carlo(activation, q, c):
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 2_000_000))
    u1, u2 = np.sqrt(q) * z1, np.sqrt(q) * (c * z1 + np.sqrt(1 - c * c) * z2)
    phi, _ = mf.ACTIVATIONS[activation]
    for samples, predicted in ((phi(u1) ** 2, mf.length_map(q, 1.0, 0.0, activation)),
                               (phi(u1) * phi(u2), q * mf.correlation_map(c, q, 1.0, 0.0, activation))):
        standard_error = samples.std() / np.sqrt(samples.size)
        tolerance = 4 * standard_error + QUADRATURE_ERROR[activation] * abs(predicted)
        assert abs(samples.mean() - predicted) < tolerance


def test_tanh_is_critical_at_unit_weight_variance_without_bias():
    assert mf.critical_sigma_w2(0.0, "tanh") == pytest.approx(1.0, abs=1e-6)


def test_tanh_critical_line_at_sigma_b2_005_agrees_with_independent_quadrature():
    sigma_w2 = mf.critical_sigma_w2(0.05, "tanh")
    assert sigma_w2 == pytest.approx(1.761, abs=1e-3)

    def gaussian(f):  # scipy's adaptive quadrature over the standard normal density, not Gauss–Hermite
        return integrate.quad(lambda z: f(z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -np.inf, np.inf,
                              epsabs=1e-13)[0]

    q = 1.0
    for _ in range(2000):  # the length map iterated to its fixed point
        q = sigma_w2 * gaussian(lambda z, q=q: np.tanh(np.sqrt(q) * z) ** 2) + 0.05
    chi_1 = sigma_w2 * gaussian(lambda z: (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2)
    assert chi_1 == pytest.approx(1.0, abs=1e-6)
    assert mf.propagation(sigma_w2, 0.05, "tanh").q_star == pytest.approx(q, rel=1e-6)


def test_the_phases_and_the_depth_scale_diverging_at_the_critical_point():
    critical = mf.critical_sigma_w2(0.05, "tanh")
    ordered, chaotic = mf.propagation(1.2, 0.05, "tanh"), mf.propagation(3.0, 0.05, "tanh")
    assert ordered.chi_1 < 1 and ordered.c_star == 1.0
    assert chaotic.chi_1 > 1 and 0 < chaotic.c_star < 1 and chaotic.chi_c < 1
    below = [mf.propagation(critical - d, 0.05, "tanh").xi_c for d in (0.5, 0.1, 0.01)]
    above = [mf.propagation(critical + d, 0.05, "tanh").xi_c for d in (0.5, 0.1, 0.01)]
    assert below == sorted(below) and above == sorted(above) and min(below[-1], above[-1]) > 100


@pytest.mark.parametrize("sigma_w2", [1.2, 1.76, 3.0])
def test_chi_1_is_the_mean_squared_singular_value_of_a_wide_layers_jacobian(sigma_w2):
    # ds^l/ds^{l-1} = W diag(φ'(s^{l-1})) with s^{l-1} at the fixed length: its mean squared singular value
    # is tr(J Jᵀ)/n, what fanin.probes.jacobian averages.
    rng = np.random.default_rng(1)
    n = 1000
    theory = mf.propagation(sigma_w2, 0.05, "tanh")
    s = np.sqrt(theory.q_star) * rng.standard_normal(n)
    jacobian = rng.normal(0, np.sqrt(sigma_w2 / n), (n, n)) * (1 - np.tanh(s) ** 2)
    measured = np.mean(np.linalg.svd(jacobian, compute_uv=False) ** 2)
    assert measured == pytest.approx(theory.chi_1, rel=0.03)


def test_bad_input_gets_a_one_line_error():
    with pytest.raises(ValueError, match="no mean-field theory for activation 'swish'; valid: tanh, relu"):
        mf.propagation(1.0, 0.0, "swish")
    with pytest.raises(ValueError, match="out of range; valid: σ_w² > 0, σ_b² >= 0"):
        mf.propagation(0.0, 0.05, "tanh")
