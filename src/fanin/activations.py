"""Activation functions by name, and their saturation test.

A unit counts as saturated where its local slope f'(s) is below 5% of the activation's
largest slope: |z| > ~0.975 for tanh, z < ~0.0126 or z > ~0.987 for sigmoid, s < 0 for relu.
One definition for every activation keeps `frac_saturated` comparable across them.

Another package adds an activation without editing this one: a `fanin.activations` entry point named like
the activation, whose value is a factory called with no arguments that returns the nn.Module (a class
works), imported the first time its name is looked up (fanin.plugins). Its largest slope, for the
saturation test, is the factory's `max_slope` attribute, or, without one, the largest f'(s) measured on
s in [-10, 10] (MEASURED_SLOPE_RANGE).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from fanin.plugins import load_callable

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


PLUGIN_GROUP = "fanin.activations"
MEASURED_SLOPE_RANGE = (-10.0, 10.0, 20_001)  # s where a plugin without `max_slope` has its slope measured
_PLUGINS: dict[str, tuple[str, Callable[[], nn.Module]]] = {}  # name -> (its entry point's value, factory)
_PLUGIN_SLOPES: dict[str, float] = {}  # a plugin's largest slope, once known


def check_activation(name: str) -> str:
    """`name`, known: a built-in, or a plugin's (its factory imported now if it was not yet)."""
    if name in ACTIVATIONS or name in _PLUGINS:
        return name
    point, factory = load_callable(PLUGIN_GROUP, "activation", name, ACTIVATIONS,
                                   "a factory that returns an nn.Module")
    _PLUGINS[name] = (point.value, factory)
    return name


def _plugin_module(name: str) -> nn.Module:
    value, factory = _PLUGINS[name]
    module = factory()
    if not isinstance(module, nn.Module):
        raise ValueError(f"activation plugin {name!r} ({value!r}) returned a {type(module).__name__}; "
                         "valid: a factory that returns an nn.Module")
    return module


def make_activation(name: str, negative_slope: float, prelu_init: float) -> nn.Module:
    """Activation `name`; `negative_slope` is leaky_relu's, `prelu_init` prelu's initial slope (the others,
    a plugin's too, ignore both). No defaults: fanin.model.MLP always passes both, a run's from
    conf/model/mlp.yaml."""
    if check_activation(name) in _PLUGINS:
        return _plugin_module(name)
    return _build(name, negative_slope, prelu_init)


def max_slope(name: str) -> float:
    """The activation's largest slope, the reference for "saturated": MAX_SLOPE's for a built-in; for a
    plugin its factory's `max_slope`, or, without one, the largest f'(s) on MEASURED_SLOPE_RANGE."""
    if check_activation(name) in MAX_SLOPE:
        return MAX_SLOPE[name]
    if name not in _PLUGIN_SLOPES:
        value, factory = _PLUGINS[name]
        slope = getattr(factory, "max_slope", None)
        if slope is None:
            slope = local_slope(_plugin_module(name), torch.linspace(*MEASURED_SLOPE_RANGE)).max().item()
        number = isinstance(slope, int | float) and not isinstance(slope, bool)
        if not number or not math.isfinite(slope) or slope <= 0:
            raise ValueError(f"activation plugin {name!r} ({value!r}) has max_slope {slope!r}; valid: a "
                             "finite number > 0 (its largest f'(s))")
        _PLUGIN_SLOPES[name] = float(slope)
    return _PLUGIN_SLOPES[name]


def local_slope(activation: nn.Module, s: torch.Tensor) -> torch.Tensor:
    """f'(s) elementwise, by autograd, so it holds for every activation including a learned PReLU."""
    with torch.enable_grad():
        s = s.detach().requires_grad_(True)
        (slope,) = torch.autograd.grad(activation(s).sum(), s)
    return slope

