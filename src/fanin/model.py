"""The network of every study: an MLP of `depth` hidden layers of `width` units and a softmax output.

Layer l (1-based) computes s^l = W^l z^{l-1} + b^l (optionally batch-normalised) and z^l = f(s^l);
layer depth+1 is the output, whose s are the logits. The cost is the negative log-likelihood of
softmax(s^{depth+1}), computed by `cross_entropy` on the logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from fanin.activations import make_activation

MAX_DEPTH = 300  # Schoenholz et al. 2017 train tanh nets up to 300 layers deep (study schoenholz2017)
# What a network built from Python (tests, notebooks) gets for a parameter it leaves out. A run never uses
# these: it passes every key of conf/model/mlp.yaml (fanin.train.run.model_arguments), and
# tests/test_config_defaults.py checks that file's values are these.
ACTIVATION = "tanh"
BATCH_NORM = False
NEGATIVE_SLOPE = 0.01  # leaky_relu's slope for s < 0
PRELU_INIT = 0.25  # prelu's initial slope (learned)


@dataclass
class Trace:
    """Every layer's pre-activations s^l and activations z^l for one batch (layers 1..depth+1)."""

    preacts: list[torch.Tensor]
    acts: list[torch.Tensor]

    @property
    def logits(self) -> torch.Tensor:
        return self.preacts[-1]


class MLP(nn.Module):
    """The parameters after the data set's sizes (in_features, num_classes) are the model group's keys, one
    for one (conf/model/mlp.yaml)."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        depth: int,
        width: int,
        activation: str = ACTIVATION,
        batch_norm: bool = BATCH_NORM,
        negative_slope: float = NEGATIVE_SLOPE,
        prelu_init: float = PRELU_INIT,
    ) -> None:
        super().__init__()
        if not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"model.depth={depth} is out of range; valid: 1..{MAX_DEPTH} hidden layers")
        if width < 1:
            raise ValueError(f"model.width={width} is out of range; valid: >= 1 units")
        self.activation_name = activation
        sizes = [in_features] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(n_in, n_out)
                                    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
        self.norms = nn.ModuleList(nn.BatchNorm1d(width) if batch_norm else nn.Identity()
                                   for _ in range(depth))
        self.acts = nn.ModuleList(make_activation(activation, negative_slope, prelu_init)
                                  for _ in range(depth))
        self.output = nn.Linear(width, num_classes)

    @property
    def depth(self) -> int:
        return len(self.hidden)

    @property
    def linears(self) -> list[nn.Linear]:
        """The depth+1 weight layers, input to output."""
        return [*self.hidden, self.output]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for linear, norm, act in zip(self.hidden, self.norms, self.acts, strict=True):
            x = act(norm(linear(x)))
        return self.output(x)

    def trace(self, x: torch.Tensor, retain_grad: bool = False) -> Trace:
        """Forward pass keeping s^l and z^l of every layer; with `retain_grad`, s^l.grad is kept
        by backward."""
        z = x.flatten(1)
        preacts, acts = [], []
        for linear, norm, act in zip(self.hidden, self.norms, self.acts, strict=True):
            s = norm(linear(z))
            z = act(s)
            preacts.append(s)
            acts.append(z)
        s = self.output(z)
        preacts.append(s)
        acts.append(torch.softmax(s, dim=1))
        if retain_grad:
            for s in preacts:
                s.retain_grad()
        return Trace(preacts, acts)
