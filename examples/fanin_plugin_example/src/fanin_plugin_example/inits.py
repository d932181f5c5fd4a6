"""An init scheme: one function, its law in the docstring, filed by fanin.inits.register."""

from __future__ import annotations

import math

import torch

from fanin.inits import register


@register("lecun_uniform_gain", variance=lambda fan_in, fan_out, gain: gain**2 / fan_in,
          rules={"gain": ">= 0"})
def lecun_uniform_gain(weight: torch.Tensor, *, gain: float = 1.0) -> None:
    """W ~ U(-b, b), b = gain * sqrt(3 / fan_in), so Var(W) = gain^2 / fan_in (gain 1: lecun_uniform)."""
    bound = gain * math.sqrt(3 / weight.shape[1])
    weight.uniform_(-bound, bound)
