"""The singular value spectrum of the network's Jacobian across layers (Pennington et al. 2017, dynamical
isometry).

For one example, the Jacobian of layer l's pre-activations with respect to layer 1's is the product
J^l = ∂s^l/∂s^1 = W^l D^{l-1} W^{l-1} D^{l-2} ... W^2 D^1, D^k = diag(φ'(s^k)), a width × width matrix. At
criticality (χ₁ = 1) its mean squared singular value stays 1 at every depth, but the spread of the spectrum
need not: Pennington et al. show that with Gaussian weights it widens with depth for every activation, that
orthogonal weights keep it concentrated near 1 for tanh at a small q* (dynamical isometry) and exactly 1 for a
linear net, and that no choice does so for ReLU. `jacobian_spectrum` records every singular value of J^l at
the layers `spectrum_layers` picks, for the first probe.jacobian_examples probe examples
(probe.spectrum=true; at the last step, which is initialization for runs of trainer.max_steps=0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fanin.activations import local_slope
from fanin.contract import OPTIONAL_TABLES
from fanin.model import MLP

COLUMNS = OPTIONAL_TABLES["spectrum"][1:]  # all but the step, which the measurement adds


def spectrum_layers(depth: int) -> list[int]:
    """The layers whose J^l is decomposed: 2, 4, 8, ... and the last hidden layer."""
    layers, layer = [], 2
    while layer < depth:
        layers.append(layer)
        layer *= 2
    return [*layers, depth] if depth >= 2 else []


def jacobian_spectrum(model: MLP, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Columns layer, example, index, singular_value: every singular value of J^l (descending) per example."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            preacts = model.trace(x).preacts
            layers = set(spectrum_layers(model.depth))
            columns: dict[str, list] = {name: [] for name in COLUMNS}
            for example in range(len(x)):
                jacobian = None
                for ell in range(2, model.depth + 1):  # J^ell = W^ell D^(ell-1) J^(ell-1), J^1 = I
                    slope = local_slope(model.acts[ell - 2], preacts[ell - 2][example]).double()
                    step = model.linears[ell - 1].weight.double() * slope  # W^ell diag(φ'(s^(ell-1)))
                    jacobian = step if jacobian is None else step @ jacobian
                    if ell in layers:
                        values = torch.linalg.svdvals(jacobian).cpu().numpy()
                        columns["layer"].append(np.full(len(values), ell))
                        columns["example"].append(np.full(len(values), example))
                        columns["index"].append(np.arange(len(values)))
                        columns["singular_value"].append(values)
    finally:
        model.train(was_training)
    if not columns["layer"]:
        return {name: np.zeros(0) for name in COLUMNS}
    return {name: np.concatenate(parts) for name, parts in columns.items()}


def spectrum_table(model: MLP, x: torch.Tensor, step: int) -> pd.DataFrame:
    """`jacobian_spectrum` as the contract's spectrum table at `step`."""
    return pd.DataFrame({"step": step, **jacobian_spectrum(model, x)})[list(OPTIONAL_TABLES["spectrum"])]
