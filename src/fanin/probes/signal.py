"""Signal propagation through the hidden layers, measured and as the mean-field theory predicts it.

On the probe batch, per hidden layer l = 1..depth:
- q            the pre-activations' length (1/n) Σ_i (s_i^l)², averaged over examples;
- sigma_w2     fan_in · mean(W^l²) and sigma_b2 mean(b^l²): the layer's own weight and bias variances;
- q_map        the length map applied to the measured length below, σ_w² E_z[φ(√q^{l-1} z)²] + σ_b²
               (layer 1 sees the input, not φ(s): σ_w² mean(x²) + σ_b²);
- q_theory     the length map iterated from layer 1's q_map: the whole trajectory the theory predicts;
- chi1         the mean squared singular value of ds^l/ds^{l-1} = W^l diag(φ'(s^{l-1})), exactly
               (1/n_l) Σ_j φ'(s_j^{l-1})² ‖W^l_{:,j}‖², averaged over examples (layers 2..depth);
- chi1_theory  σ_w² E_z[φ'(√q^{l-1} z)²] at the measured length below: Schoenholz et al.'s χ₁.
The theory (fanin.meanfield) is written for a plain MLP of a parameter-free φ it knows; with batch norm or
another activation its columns are NaN. For a wide net at initialization q ≈ q_map ≈ q_theory and chi1 ≈
chi1_theory; that is what the schoenholz2017 figures show and tests/test_signal.py asserts.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from fanin import meanfield
from fanin.activations import local_slope
from fanin.contract import RUN_TABLES
from fanin.model import MLP

COLUMNS = RUN_TABLES["signal"][1:]  # all but the step, which the measurement adds


def signal_propagation(model: MLP, x: torch.Tensor) -> dict[str, np.ndarray]:
    """The columns above (COLUMNS), one row per hidden layer, as float64 arrays."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            preacts = model.trace(x).preacts[: model.depth]
            linears = model.linears[: model.depth]
            q = [s.double().pow(2).mean().item() for s in preacts]
            sigma_w2 = [lin.in_features * lin.weight.double().pow(2).mean().item() for lin in linears]
            sigma_b2 = [lin.bias.double().pow(2).mean().item() if lin.bias is not None else 0.0
                        for lin in linears]
            chi1 = [math.nan] + [
                (local_slope(act, s).double().pow(2) @ lin.weight.double().pow(2).sum(0)).mean().item()
                / lin.out_features
                for act, s, lin in zip(model.acts[:-1], preacts[:-1], linears[1:], strict=True)]
            q_input = x.flatten(1).double().pow(2).mean().item()
    finally:
        model.train(was_training)
    q_map, q_theory, chi1_theory = _theory(model, q, sigma_w2, sigma_b2, q_input)
    columns = (np.arange(1, model.depth + 1), q, sigma_w2, sigma_b2, q_map, q_theory, chi1, chi1_theory)
    return {name: np.asarray(values, dtype=np.float64) for name, values in zip(COLUMNS, columns, strict=True)}


def _theory(model: MLP, q: list[float], sigma_w2: list[float], sigma_b2: list[float], q_input: float):
    nan = [math.nan] * model.depth
    name = model.activation_name
    if name not in meanfield.ACTIVATIONS or not all(isinstance(n, nn.Identity) for n in model.norms):
        return nan, nan, nan
    _, dphi = meanfield.ACTIVATIONS[name]
    first = sigma_w2[0] * q_input + sigma_b2[0]
    q_map = [first] + [meanfield.length_map(q[ell - 1], sigma_w2[ell], sigma_b2[ell], name)
                       for ell in range(1, model.depth)]
    q_theory = meanfield.length_trajectory(first, sigma_w2, sigma_b2, name)
    chi1_theory = [math.nan] + [sigma_w2[ell] * meanfield.gaussian_mean(lambda s: dphi(s) ** 2, q[ell - 1])
                                for ell in range(1, model.depth)]
    return q_map, q_theory, chi1_theory
