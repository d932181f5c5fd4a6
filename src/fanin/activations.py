"""Activation functions by name, and their saturation test.

A unit counts as saturated where its local slope f'(s) is below 5% of the activation's
largest slope: |z| > ~0.975 for tanh, z < ~0.0126 or z > ~0.987 for sigmoid, s < 0 for relu.
One definition for every activation keeps `frac_saturated` comparable across them.
"""

from __future__ import annotations

import torch
from torch import nn

SATURATION_SLOPE = 0.05


class Softsign(nn.Module):
    """x / (1 + |x|): Glorot & Bengio's alternative to tanh, with polynomial rather than exponential tails."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / (1 + x.abs())


def _build(name: str, negative_slope: float, prelu_init: float) -> nn.Module:
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "relu":
        return nn.ReLU()
    if name == "softsign":
        return Softsign()
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    if name == "prelu":
        return nn.PReLU(init=prelu_init)
    return nn.Identity()


ACTIVATIONS = ("tanh", "sigmoid", "relu", "softsign", "leaky_relu", "prelu", "linear")

# Largest slope of each activation, the reference for "saturated".
MAX_SLOPE = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "softsign": 1.0, "leaky_relu": 1.0, "prelu": 1.0,
             "linear": 1.0}


def check_activation(name: str) -> str:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return name


def make_activation(name: str, negative_slope: float, prelu_init: float) -> nn.Module:
    """Activation `name`; `negative_slope` is leaky_relu's, `prelu_init` prelu's initial slope (the others
    ignore both). No defaults: fanin.model.MLP always passes both, a run's from conf/model/mlp.yaml."""
    return _build(check_activation(name), negative_slope, prelu_init)


def local_slope(activation: nn.Module, s: torch.Tensor) -> torch.Tensor:
    """f'(s) elementwise, by autograd, so it holds for every activation including a learned PReLU."""
    with torch.enable_grad():
        s = s.detach().requires_grad_(True)
        (slope,) = torch.autograd.grad(activation(s).sum(), s)
    return slope

