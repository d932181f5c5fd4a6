"""The training step at the machine's limit: SGD applied inside the backward pass, no dC/dW ever formed.

For a weight layer s = W z + b with minibatch cost C, dC/dW = δᵀz and dC/db = Σ_i δ_i, where δ = dC/ds
(one row per example) and z is the layer's input. The step runs the backward pass layer by layer, from the
output down: it computes the layer's input gradient δW with the old W, then updates the layer in place with
one `addmm_`, W ← W − lr·δᵀz, while W is still in cache, and only then goes on to the layer below, whose δ
comes from autograd through that layer's batch norm and activation alone. Weights are read by autograd
never, so it computes no dW; the usual loop writes dW, reads it back and writes W (torch.optim.SGD), this
step reads W once for δ and once for the update (tests/test_fused_sgd.py; benchmarks/step_throughput.py).

The update is torch.optim.SGD's rule (PyTorch's documented algorithm, dampening 0): with weight decay
g = dC/dW + wd·W; with momentum the velocity v ← μ·v + g (v = g at the first step) and W ← W − lr·v, or
W ← W − lr·(g + μ·v) with Nesterov. Only momentum keeps a buffer of W's shape, as torch.optim.SGD does; the
buffers are the optimizer's state, so a checkpoint resumes them exactly. Parameters other than the weight
layers (batch norm's scale and shift, PReLU's slope) get their dense gradient from the same layer-wise
autograd call and the same rule. The same arithmetic in another order rounds differently: a step agrees
with torch.optim.SGD to float32 rounding (tests/test_fused_sgd.py states the tolerance).

The probes, which need dC/dW, compute it by autograd on the fixed probe batch at probe steps only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fanin.model import MLP

# dC/dW of a weight layer as its two factors (δ, z): dC/dW = δᵀz, never formed.
Factored = tuple[torch.Tensor, torch.Tensor]
Gradient = torch.Tensor | Factored


def add_gradient_(target: torch.Tensor, gradient: Gradient, alpha: float, beta: float = 1.0) -> torch.Tensor:
    """target ← beta·target + alpha·gradient, in place; a factored gradient (δ, z) as δᵀz without forming it."""
    if isinstance(gradient, tuple):
        delta, z = gradient
        return target.addmm_(delta.t(), z, beta=beta, alpha=alpha)
    if beta != 1.0:
        target.mul_(beta)
    return target.add_(gradient, alpha=alpha)


class FusedSGD(torch.optim.Optimizer):
    """SGD on `model` (a fanin MLP) whose `step(batch=(x, y))` does forward, backward and update in one pass."""

    def __init__(self, model: MLP, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        if nesterov and momentum <= 0:
            raise ValueError(f"optim.nesterov=true needs optim.momentum > 0 (got {momentum}); valid: momentum in (0, 1)")
        super().__init__(model.parameters(), dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                                  nesterov=nesterov))
        self.model = model
        # Each hidden layer's own trainable parameters besides its weights: batch norm's, PReLU's.
        self.layer_params = [[p for p in (*norm.parameters(), *act.parameters()) if p.requires_grad]
                             for norm, act in zip(model.norms, model.acts)]

    @torch.no_grad()
    def step(self, closure=None, batch: tuple[torch.Tensor, torch.Tensor] | None = None):
        """One update on the minibatch `batch` = (x, y) of the mean cross-entropy; returns (logits, loss).

        `closure` (Lightning passes one that runs its hooks) is called first, as torch optimizers do.
        """
        if closure is not None:
            closure()
        x, y = batch
        model = self.model
        z = x.flatten(1)
        inputs, preacts, outputs = [], [], []  # per weight layer its input z; per hidden layer s and f(BN(s))
        for linear, norm, act in zip(model.hidden, model.norms, model.acts):
            inputs.append(z)
            s = F.linear(z, linear.weight, linear.bias)
            with torch.enable_grad():  # a graph of this layer's batch norm and activation only
                out = act(norm(s.requires_grad_()))
            preacts.append(s)
            outputs.append(out)
            z = out.detach()
        inputs.append(z)
        logits = F.linear(z, model.output.weight, model.output.bias)
        with torch.enable_grad():
            logits.requires_grad_()
            loss = F.cross_entropy(logits, y)
            (delta,) = torch.autograd.grad(loss, logits)
        for layer in range(model.depth, -1, -1):  # weight layers, output first; δ is dC/ds of `layer`
            linear = model.linears[layer]
            if layer > 0:  # the δ of the layer below needs this layer's weights before their update
                grad_out = delta @ linear.weight
            self._update(linear, delta, inputs[layer])
            if layer > 0:
                below = layer - 1
                with torch.enable_grad():
                    delta, *dense = torch.autograd.grad(outputs[below], [preacts[below], *self.layer_params[below]],
                                                        grad_out)
                for p, g in zip(self.layer_params[below], dense):
                    self._apply(p, g)
        return logits.detach(), loss.detach()

    def _update(self, linear: nn.Linear, delta: torch.Tensor, z: torch.Tensor) -> None:
        self._apply(linear.weight, (delta, z))
        self._apply(linear.bias, delta.sum(0))

    def _apply(self, p: torch.Tensor, g: Gradient) -> None:
        group = self.param_groups[0]
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if mu == 0:
            add_gradient_(p, g, alpha=-lr, beta=1.0 - lr * wd)  # p ← p − lr·(g + wd·p)
            return
        state = self.state[p]
        first = "momentum_buffer" not in state  # v = g at the first step, as torch.optim.SGD
        if first:
            state["momentum_buffer"] = torch.zeros_like(p)
        v = state["momentum_buffer"]
        if wd:
            v.mul_(0.0 if first else mu).add_(p, alpha=wd)
            add_gradient_(v, g, alpha=1.0)
        else:
            add_gradient_(v, g, alpha=1.0, beta=0.0 if first else mu)
        if group["nesterov"]:  # p ← p − lr·(g + wd·p) − lr·μ·v
            add_gradient_(p, g, alpha=-lr, beta=1.0 - lr * wd)
            p.add_(v, alpha=-lr * mu)
        else:
            p.add_(v, alpha=-lr)
