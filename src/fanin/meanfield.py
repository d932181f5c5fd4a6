"""Mean-field signal propagation at initialization (Poole et al. 2016; Schoenholz et al. 2017).

A wide MLP with weights W_ij ~ N(0, σ_w²/n_in) and biases b_i ~ N(0, σ_b²) maps an input's pre-activation
length q^{l-1} = (1/n) Σ_i (s_i^{l-1})² to

    q^l = σ_w² E_z[φ(√q^{l-1} z)²] + σ_b²,                           z ~ N(0, 1)     (the length map)

whose fixed point is q*. Two inputs at correlation c^{l-1} (both at length q*) move to

    c^l = (σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / q*,   u₁ = √q* z₁,  u₂ = √q* (c z₁ + √(1−c²) z₂)
                                                                                (the correlation map)

whose stable fixed point is c*. Its slope there,

    χ_c = σ_w² E[φ'(u₁)φ'(u₂)]   (at c = c*),       and     χ₁ = σ_w² E_z[φ'(√q* z)²]   (χ_c at c = 1),

decides the phase: χ₁ < 1 is ordered (c* = 1, nearby inputs merge, gradients vanish), χ₁ > 1 chaotic
(c* < 1, gradients explode), χ₁ = 1 the critical line. Correlations approach c* as |c^l − c*| ~ e^{−l/ξ_c}
with the depth scale ξ_c = −1/ln χ_c, which diverges at criticality; Schoenholz et al. find networks
trainable up to about 6 ξ_c layers. χ₁ is also the mean squared singular value of one layer's Jacobian
ds^l/ds^{l-1} = W^l diag(φ'(s^{l-1})) at the fixed point, which fanin measures (fanin.probes.jacobian).

Expectations over one Gaussian use Gauss–Hermite quadrature (probabilists' Hermite nodes, numpy's
`hermegauss`, GAUSS_HERMITE_NODES of them, an even number so that no node sits on ReLU's kink at 0 and
E[step(z)] is exactly 1/2); over two, its tensor product. For smooth φ (tanh, sigmoid) that is exact to
rounding; where φ or φ² has a kink off the grid's lines (softsign at 0, ReLU in a pair mean) it converges
slowly, to about 3e-3 relative (tests/test_meanfield.py). Fixed points are roots of
q = length_map(q) and c = correlation_map(c), found by Brent's method rather than by iterating the maps,
which converge only algebraically near criticality. Pure numpy: no torch, no Snakemake or Hydra.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

GAUSS_HERMITE_NODES = 100
TOLERANCE = 1e-12
Q_SMALL = 1e-30  # lengths are evaluated here for q* = 0: the limit, which for relu differs from q = 0 itself
Q_UNBOUNDED = 1e12  # a length map that passes this grows without bound (relu, σ_w² > 2)
C_GAP = 1e-6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# φ and φ' by fanin's activation names (fanin.activations).
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "linear": (lambda x: x, np.ones_like),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "softsign": (lambda x: x / (1.0 + np.abs(x)), lambda x: 1.0 / (1.0 + np.abs(x)) ** 2),
}


def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Hermite nodes and weights for E_z[f(z)], z ~ N(0, 1): Σ w_i f(x_i), Σ w_i = 1."""
    x, w = np.polynomial.hermite_e.hermegauss(GAUSS_HERMITE_NODES)
    return x, w / w.sum()


Z, W = _nodes()


def _functions(activation: str):
    if activation not in ACTIVATIONS:
        raise ValueError(f"no mean-field theory for activation {activation!r}; "
                         f"valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[activation]


def _check(sigma_w2: float, sigma_b2: float) -> None:
    if not sigma_w2 > 0 or not sigma_b2 >= 0:
        raise ValueError(f"(σ_w², σ_b²) = ({sigma_w2}, {sigma_b2}) is out of range; "
                         "valid: σ_w² > 0, σ_b² >= 0")


def gaussian_mean(f: Callable[[np.ndarray], np.ndarray], q: float) -> float:
    """E_z[f(√q z)], z ~ N(0, 1)."""
    return float(W @ f(np.sqrt(q) * Z))


def pair_mean(f: Callable[[np.ndarray], np.ndarray], g: Callable[[np.ndarray], np.ndarray], q: float,
              c: float) -> float:
    """E[f(u₁) g(u₂)] for (u₁, u₂) Gaussian with variances q and correlation c."""
    c = min(max(c, -1.0), 1.0)
    u1 = np.sqrt(q) * Z[:, None]
    u2 = np.sqrt(q) * (c * Z[:, None] + np.sqrt(1.0 - c * c) * Z[None, :])
    return float(W @ (f(u1) * g(u2)) @ W)


def length_map(q: float, sigma_w2: float, sigma_b2: float, activation: str) -> float:
    """q^l from q^{l-1}: σ_w² E_z[φ(√q z)²] + σ_b²."""
    phi, _ = _functions(activation)
    return sigma_w2 * gaussian_mean(lambda x: phi(x) ** 2, q) + sigma_b2


def length_trajectory(q_first: float, sigma_w2: Sequence[float], sigma_b2: Sequence[float],
                      activation: str) -> np.ndarray:
    """q^1, q^2, ...: the length map iterated from q^1 = q_first with each layer's own (σ_w², σ_b²), the
    first entries being layer 1's (which sets q_first and is not mapped)."""
    q = [q_first]
    for w2, b2 in zip(sigma_w2[1:], sigma_b2[1:], strict=True):
        q.append(length_map(q[-1], w2, b2, activation))
    return np.array(q)


def fixed_point_q(sigma_w2: float, sigma_b2: float, activation: str, q0: float = 1.0) -> float:
    """q*, the length map's stable fixed point: 0 where every length shrinks to it (e.g. tanh, σ_w² <= 1,
    σ_b² = 0), inf where lengths grow without bound (relu, σ_w² > 2), q0 where every length is fixed (relu at
    (2, 0), linear at (1, 0)); otherwise the positive root of q = length_map(q) (Brent's method)."""
    _check(sigma_w2, sigma_b2)

    def excess(q: float) -> float:
        return length_map(q, sigma_w2, sigma_b2, activation) - q

    if abs(excess(q0)) <= TOLERANCE * q0:
        return q0
    if excess(Q_SMALL) <= 0:
        return 0.0
    high = 1.0
    while excess(high) > 0:
        high *= 2.0
        if high > Q_UNBOUNDED:
            return float("inf")
    return float(brentq(excess, Q_SMALL, high, xtol=1e-15, rtol=1e-13))


def correlation_map(c: float, q_star: float, sigma_w2: float, sigma_b2: float, activation: str) -> float:
    """c^l from c^{l-1} for two inputs at length q*."""
    phi, _ = _functions(activation)
    return (sigma_w2 * pair_mean(phi, phi, q_star, c) + sigma_b2) / q_star


def fixed_point_c(q_star: float, sigma_w2: float, sigma_b2: float, activation: str) -> float:
    """c* < 1, the correlation map's stable fixed point in the chaotic phase (where c = 1 is unstable):
    the root of c = correlation_map(c) below 1 (Brent's method), 0 where the map fixes 0 (odd φ, σ_b² = 0)."""
    def excess(c: float) -> float:
        return correlation_map(c, q_star, sigma_w2, sigma_b2, activation) - c

    if excess(0.0) <= TOLERANCE:
        return 0.0
    if excess(1.0 - C_GAP) >= 0:  # so close to criticality that c* is within C_GAP of 1
        return 1.0
    return float(brentq(excess, 0.0, 1.0 - C_GAP, xtol=1e-14, rtol=1e-13))


@dataclass(frozen=True)
class Propagation:
    """What the mean-field theory predicts for one (activation, σ_w², σ_b²)."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi_1: float  # σ_w² E[φ'(√q* z)²]: > 1 chaotic, < 1 ordered
    c_star: float
    chi_c: float  # the correlation map's slope at c*
    xi_c: float  # −1/ln χ_c: the depth over which correlations reach c* (inf at criticality)


def propagation(sigma_w2: float, sigma_b2: float, activation: str) -> Propagation:
    """q*, χ₁, c*, χ_c and ξ_c for one point of the phase diagram."""
    _check(sigma_w2, sigma_b2)
    _, dphi = _functions(activation)
    q_star = fixed_point_q(sigma_w2, sigma_b2, activation)
    if not np.isfinite(q_star):  # no fixed length to speak of
        nan = float("nan")
        return Propagation(activation, sigma_w2, sigma_b2, q_star, nan, nan, nan, nan)
    q = max(q_star, Q_SMALL)
    chi_1 = sigma_w2 * gaussian_mean(lambda x: dphi(x) ** 2, q)
    c_star = 1.0 if chi_1 <= 1.0 else fixed_point_c(q, sigma_w2, sigma_b2, activation)
    chi_c = sigma_w2 * pair_mean(dphi, dphi, q, c_star)
    xi_c = -1.0 / np.log(chi_c) if abs(chi_c - 1.0) > TOLERANCE else float("inf")
    return Propagation(activation, sigma_w2, sigma_b2, q_star, chi_1, c_star, chi_c, float(xi_c))


def critical_sigma_w2(sigma_b2: float, activation: str, low: float = 0.5, high: float = 10.0) -> float:
    """σ_w² on the critical line χ₁ = 1 at this σ_b² (Brent's method on χ₁(σ_w²) − 1 over [low, high])."""
    def excess(sigma_w2: float) -> float:
        return propagation(sigma_w2, sigma_b2, activation).chi_1 - 1.0

    if not excess(low) < 0 < excess(high):
        raise ValueError(f"χ₁ = 1 is not bracketed by σ_w² in [{low}, {high}] "
                         f"for {activation}, σ_b² = {sigma_b2}")
    return float(brentq(excess, low, high, xtol=1e-12, rtol=1e-12))
