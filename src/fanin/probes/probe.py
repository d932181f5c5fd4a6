"""One probe: forward and backward on the fixed probe batch in eval mode, every layer measured.

Quantities, per layer l = 1..depth+1 (depth+1 is the softmax output):
- preact      s^l = W^l z^{l-1} + b^l (after batch norm, if any): the input of the activation
- act         z^l = f(s^l) (softmax probabilities for the output layer)
- backprop    dC_i/ds^l_i, the back-propagated gradient of each example's cost
- weight_grad dC/dW^l with C the mean cost over the probe batch: the gradient SGD would follow
Saturation counts units whose slope f'(s) is below 5% of the activation's largest slope.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from fanin.activations import SATURATION_SLOPE, local_slope, max_slope
from fanin.model import MLP
from fanin.probes.layer_stats import QUANTITIES, layer_histograms, layer_statistics


@dataclass
class ProbeResult:
    stats: dict[str, torch.Tensor]  # quantity -> (layers, 6) on the host
    counts: dict[str, torch.Tensor]  # quantity -> (layers, bins)
    edges: dict[str, torch.Tensor]  # quantity -> (layers, bins + 1)


def probe(model: MLP, x: torch.Tensor, y: torch.Tensor, bins: int) -> ProbeResult:
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            trace = model.trace(x)
            weights = [linear.weight for linear in model.linears]
            cost = F.cross_entropy(trace.logits, y, reduction="sum")
            grads = torch.autograd.grad(cost, [*trace.preacts, *weights])
        depth = model.depth
        backprop, weight_grad = list(grads[: depth + 1]), [g / len(y) for g in grads[depth + 1 :]]
        threshold = SATURATION_SLOPE * max_slope(model.activation_name)
        saturated = [local_slope(act, s) < threshold
                     for act, s in zip(model.acts, trace.preacts, strict=False)] + [None]
        values = {"preact": trace.preacts, "act": trace.acts, "backprop": backprop,
                  "weight_grad": weight_grad}
        masks = {"preact": saturated, "act": saturated, "backprop": [None] * (depth + 1),
                 "weight_grad": [None] * (depth + 1)}
        stats, counts, edges = {}, {}, {}
        for quantity in QUANTITIES:
            stats[quantity] = layer_statistics(values[quantity], masks[quantity]).cpu()
            c, e = layer_histograms(values[quantity], bins, shared_range=depth)
            counts[quantity], edges[quantity] = c.cpu(), e.cpu()
        return ProbeResult(stats, counts, edges)
    finally:
        model.train(was_training)
