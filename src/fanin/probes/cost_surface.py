"""Cost as a function of two weights, one per layer, of a one-hidden-layer net: cross-entropy vs quadratic.

Glorot & Bengio (2010), Fig. 5: "Cross entropy (black, surface on top) and quadratic (red, bottom surface)
cost as a function of two weights (one at each layer) of a network with two layers, W1 respectively on the
first layer and W2 on the second, output layer." Their point (Sec. 4.1): the quadratic cost has plateaus
where the cross-entropy does not, so softmax outputs with the negative log-likelihood are the better cost.

`cost_surface` evaluates both costs on a grid of absolute values (w1, w2) in [-span, span]^2 for two weights
of a trained (or freshly initialised) `MLP` of depth 1, all other parameters held at their current values,
on one batch (x, y), in eval mode. With p = softmax(s) the output probabilities and t the one-hot target:

    cross_entropy = mean over the batch of -log p[y]
    quadratic     = mean over the batch of sum over classes of (p - t)^2     (in [0, 2])

The two weights are chosen deterministically, to be ones that matter to the output:

- the hidden unit j whose outgoing weights (column j of the output weight matrix) have the largest norm:
  the unit the output listens to most;
- W1 = hidden weight [j, k], k the input with the largest |weight| into unit j: that unit's strongest input;
- W2 = output weight [c, j], c the class most frequent in y (ties: the smallest index): the weight from
  unit j to the logit that the most examples of the batch are scored on.

Ties in the norms and magnitudes go to the smallest index. The model's parameters are never modified: since
only unit j's input weight k and one output weight vary, the pre-activation of unit j shifts by
(w1 - W1) * x[:, k] and logit c by w2 * z_j(w1) - W2 * z_j, so the whole grid follows by broadcasting from
the hidden activations of one forward pass, in float64.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from fanin.contract import OPTIONAL_TABLES
from fanin.model import MLP

COSTS = ("cross_entropy", "quadratic")
COLUMNS = OPTIONAL_TABLES["cost_surface"]
# tanh keeps z_j in [-1, 1], so |w2| <= 4 moves a logit by at most 4: too little for the softmax to saturate
# into confidently wrong outputs, where the quadratic cost's plateaus are; at 8 they
# show (tests/test_cost_surface).
SPAN = 8.0


def _norm_unit(norm: nn.Module, u: torch.Tensor, j: int) -> torch.Tensor:
    """Unit j's normalisation, in eval mode, applied to u of shape (batch, grid): one column per w1 value."""
    if isinstance(norm, nn.Identity):
        return u
    if isinstance(norm, nn.BatchNorm1d):
        if norm.track_running_stats and norm.running_mean is not None:
            mean, var = norm.running_mean[j], norm.running_var[j]
        else:  # no running statistics: eval mode normalises by the batch's own, per w1 value
            mean, var = u.mean(0, keepdim=True), u.var(0, unbiased=False, keepdim=True)
        out = (u - mean) / torch.sqrt(var + norm.eps)
        if norm.affine:
            out = out * norm.weight[j] + norm.bias[j]
        return out
    raise TypeError(f"cost_surface: unsupported normalisation {type(norm).__name__}; "
                    "valid: Identity, BatchNorm1d")


def _costs(logits: torch.Tensor, y: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy and quadratic cost of logits (..., batch, classes), averaged over the batch."""
    logp = F.log_softmax(logits, dim=-1)
    index = y.expand(*logits.shape[:-1]).unsqueeze(-1)
    cross_entropy = -logp.gather(-1, index).squeeze(-1).mean(-1)
    quadratic = (logp.exp() - target).square().sum(-1).mean(-1)
    return cross_entropy, quadratic


@torch.no_grad()
def cost_surface(model: MLP, x: torch.Tensor, y: torch.Tensor, step: int, points: int = 41,
                 span: float = SPAN) -> pd.DataFrame:
    """Both costs on a points x points grid of (w1, w2), each in [-span, span]: Glorot & Bengio's Fig. 5.

    W1 = model.hidden[0].weight[j, k] and W2 = model.output.weight[c, j], with j the hidden unit whose
    outgoing weights have the largest norm, k the input of largest |weight| into j, c the most frequent class
    in y (ties: smallest index); see the module docstring for why. Cross-entropy is the batch mean of
    -log softmax(s)[y]; quadratic is the batch mean of sum_classes (softmax(s) - onehot(y))^2.

    Long-form rows (step, cost, w1, w2, value, w1_now, w2_now, unit, input, output_class): cost is
    "cross_entropy" or "quadratic", w1_now/w2_now the model's current values of the two weights and
    unit/input/output_class the indices j, k, c. The model is evaluated in eval mode and left unchanged.
    """
    if model.depth != 1:
        raise ValueError("cost_surface needs one hidden layer (two weight layers); "
                         f"got model.depth={model.depth}, valid: model.depth=1")
    if points < 2:
        raise ValueError(f"cost_surface: points={points} is too few; valid: >= 2")
    if not span > 0:
        raise ValueError(f"cost_surface: span={span} is out of range; valid: > 0")
    was_training = model.training
    model.eval()
    try:
        hidden, output = model.hidden[0], model.output
        device = hidden.weight.device
        w_in = hidden.weight.detach().double()
        b_in = hidden.bias.detach().double() if hidden.bias is not None else None
        w_out = output.weight.detach().double()
        b_out = output.bias.detach().double() if output.bias is not None else None
        norm = copy.deepcopy(model.norms[0]).double().eval()
        act = copy.deepcopy(model.acts[0]).double().eval()

        x = x.flatten(1).to(device=device, dtype=torch.float64)
        y = y.to(device=device, dtype=torch.long)
        num_classes = w_out.shape[0]
        j = int(np.argmax(torch.linalg.vector_norm(w_out, dim=0).cpu().numpy()))
        k = int(np.argmax(w_in[j].abs().cpu().numpy()))
        c = int(np.argmax(np.bincount(y.cpu().numpy(), minlength=num_classes)))
        w1_now, w2_now = float(w_in[j, k]), float(w_out[c, j])

        u = F.linear(x, w_in, b_in)  # (batch, width), before normalisation
        z = act(norm(u))
        logits = F.linear(z, w_out, b_out)  # (batch, classes)
        grid = torch.linspace(-span, span, points, dtype=torch.float64, device=device)
        # unit j's activation for every w1: (batch, points of w1)
        z_j = act(_norm_unit(norm, u[:, j:j + 1] + (grid - w1_now) * x[:, k:k + 1], j))
        dz = z_j - z[:, j:j + 1]
        target = F.one_hot(y, num_classes).double()
        e_c = F.one_hot(torch.tensor(c, device=device), num_classes).double()
        values = {name: torch.empty(points, points, dtype=torch.float64, device=device) for name in COSTS}
        for a in range(points):  # one row of w1 at a time, broadcast over w2: (points of w2, batch, classes)
            row = logits + dz[:, a:a + 1] * w_out[:, j]
            row = row + ((grid - w2_now)[:, None, None] * z_j[:, a][None, :, None]) * e_c
            values["cross_entropy"][a], values["quadratic"][a] = _costs(row, y, target)
    finally:
        model.train(was_training)

    g1, g2 = np.meshgrid(grid.cpu().numpy(), grid.cpu().numpy(), indexing="ij")
    n = points * points
    frames = [pd.DataFrame({
        "step": np.full(n, step, dtype=np.int64), "cost": name,
        "w1": g1.reshape(-1), "w2": g2.reshape(-1), "value": values[name].cpu().numpy().reshape(-1),
        "w1_now": np.full(n, w1_now), "w2_now": np.full(n, w2_now),
        "unit": np.full(n, j, dtype=np.int64), "input": np.full(n, k, dtype=np.int64),
        "output_class": np.full(n, c, dtype=np.int64),
    }) for name in COSTS]
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]
