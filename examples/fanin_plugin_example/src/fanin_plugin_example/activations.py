"""An activation: a factory (here a class) fanin calls with no arguments for each hidden layer."""

from __future__ import annotations

import torch
from torch import nn

ALPHA = 1.6732632423543772848170429916717  # Klambauer et al. 2017, as torch.nn.SELU
SCALE = 1.0507009873554804934193349852946


class SELU(nn.Module):
    """f(s) = scale * s for s > 0, scale * alpha * (exp(s) - 1) otherwise (self-normalizing networks).

    `max_slope` is the largest f'(s), the reference of fanin's saturation test (a unit is saturated where
    f'(s) < 5% of it): scale * alpha, approached as s -> 0 from below. Without it fanin would measure it."""

    max_slope = SCALE * ALPHA

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return SCALE * torch.where(s > 0, s, ALPHA * torch.expm1(torch.clamp(s, max=0.0)))
