"""K networks of one shape, trained in lockstep: each weight layer's K matrices stacked as one
(K, out, in) tensor.

The pack owns the stacked weights and biases; each run keeps its own `MLP`, whose weight layers become
aliases of its slice (same storage), so everything that looks at one run (evaluation, probes, Jacobians, the
optional tables, init schemes) works on that run's MLP unchanged while the training step
(fanin.train.fused_sgd) reads and updates all K at once with batched matmuls. Each run keeps its own
batch norm and activation modules (a PReLU slope, a batch norm's statistics are per run); the pack registers
them, without the aliased linears, so its state dict holds every parameter once.

Moving or casting the pack (Lightning moves the module onto its device; `.double()` casts it) makes new
stacked tensors; the pack then points every run's linears at them again, or each run would go on
showing its initial weights to evaluation and the probes while the pack trains.
"""

from __future__ import annotations

import torch
from torch import nn

from fanin.model import MLP


def shape_of(model: MLP) -> tuple:
    """What must agree for networks to share a pack: every weight layer's shape and batch norm on or off."""
    return (tuple(tuple(linear.weight.shape) for linear in model.linears),
            any(isinstance(norm, nn.BatchNorm1d) for norm in model.norms))


class Pack(nn.Module):
    def __init__(self, models: list[MLP]) -> None:
        super().__init__()
        if not models:
            raise ValueError("a pack needs at least one network")
        shapes = {shape_of(m) for m in models}
        if len(shapes) > 1:
            raise ValueError(f"networks of different shapes cannot share a pack: {sorted(shapes)}")
        self.models = list(models)  # a plain list: their linears alias the stacked tensors, registered below
        with torch.no_grad():
            self.weights = nn.ParameterList(
                nn.Parameter(torch.stack([m.linears[layer].weight for m in models]))
                for layer in range(self.n_layers))
            self.biases = nn.ParameterList(
                nn.Parameter(torch.stack([m.linears[layer].bias for m in models]))
                for layer in range(self.n_layers))
        self._alias()
        self.norms_and_acts = nn.ModuleList(nn.ModuleList([*m.norms, *m.acts]) for m in models)

    def _alias(self) -> None:
        """Make each run's linears views of its slice of the stacked weights and biases."""
        for k, model in enumerate(self.models):
            for layer, linear in enumerate(model.linears):
                linear.weight = nn.Parameter(self.weights[layer].detach()[k])
                linear.bias = nn.Parameter(self.biases[layer].detach()[k])

    def _apply(self, fn, recurse: bool = True):  # behind .to(), .cuda(), .double(): see the module docstring
        super()._apply(fn, recurse)
        self._alias()
        return self

    def __len__(self) -> int:
        return len(self.models)

    @property
    def n_layers(self) -> int:
        """Weight layers: depth hidden ones and the output."""
        return len(self.models[0].linears)

    @property
    def depth(self) -> int:
        return self.n_layers - 1
