"""The training step at the machine's limit: SGD applied inside the backward pass, no dC/dW ever formed.

For a weight layer s = W z + b with minibatch cost C, dC/dW = δᵀz and dC/db = Σ_i δ_i, where δ = dC/ds
(one row per example) and z is the layer's input. The step runs the backward pass layer by layer, from the
output down: it computes the layer's input gradient δW with the old W, then updates the layer in place with
one batched matmul, W ← W − lr·δᵀz, while W is still in cache, and only then goes on to the layer below,
whose δ comes from that layer's batch norm and activation alone: for a parameter-free tanh, sigmoid, ReLU or
identity shared by the pack, by the very kernel autograd would call (ANALYTIC_BACKWARD), otherwise by
autograd through the layer's own small graph. Autograd never sees a
weight, so it computes no dW; the usual loop writes dW, reads it back and writes W (torch.optim.SGD), this
step reads W once for δ and once for the update (tests/test_fused_sgd.py; benchmarks/step_throughput.py).

It trains a pack (fanin.train.pack) of K networks at once: every product is one `bmm` over the K stacked
matrices, the cost is the sum of the K runs' mean cross-entropies so each network gets exactly its own
gradient, and learning rate, momentum and weight decay are per run. A solo run is a pack of one.

The update is torch.optim.SGD's rule (PyTorch's documented algorithm, dampening 0): with weight decay
g = dC/dW + wd·W; with momentum the velocity v ← μ·v + g (v = g at the first step) and W ← W − lr·v, or
W ← W − lr·(g + μ·v) with Nesterov. Only momentum keeps a buffer of W's shape, as torch.optim.SGD does; the
buffers are the optimizer's state, so a checkpoint resumes them exactly. Parameters other than the weight
layers (batch norm's scale and shift, PReLU's slope) get their dense gradient from the same layer-wise
autograd call and the same rule. The same arithmetic in another order rounds differently: a step agrees
with torch.optim.SGD to float32 rounding (tests/test_fused_sgd.py states the tolerance).

A run whose loss turns NaN/inf is frozen on the device, in the step that computed that loss: from then on it
gets learning rate, momentum and weight decay 0 and a δ of 0, so its weights stay as they were when it
diverged while the others go on. `live` and `diverged_at` (the step count at which each run diverged, -1
while it has not) stay on the device and are read by the host only at the measurement schedule
(fanin.train.measurements), so a step never waits for the host; `freeze` does the same from the host
(a resumed pack's diverged runs).

The probes, which need dC/dW, compute it by autograd on the fixed probe batch at probe steps only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fanin.train.pack import Pack

# dC/dW of a stacked weight layer as its two factors (δ, z), (K, B, out) and (K, B, in): dC/dW_k = δ_kᵀz_k.
Factored = tuple[torch.Tensor, torch.Tensor]
Gradient = torch.Tensor | Factored
HYPERPARAMETERS = ("lr", "momentum", "weight_decay")
# δ = dC/ds from dC/dz, s and z = f(s), by ATen's own backward kernels (the ones autograd runs for these
# modules, so the result is the same to the bit) without building a graph.
ANALYTIC_BACKWARD = {
    nn.Tanh: lambda grad, s, z: torch.ops.aten.tanh_backward(grad, z),
    nn.Sigmoid: lambda grad, s, z: torch.ops.aten.sigmoid_backward(grad, z),
    nn.ReLU: lambda grad, s, z: torch.ops.aten.threshold_backward(grad, z, 0),
    nn.Identity: lambda grad, s, z: grad,
}


class FusedSGD(torch.optim.Optimizer):
    """SGD on a pack whose `step(batch=(x, y))` does forward, backward and update in one pass.

    `settings` holds one dict per run (lr, momentum, weight_decay, nesterov: fanin's `optim` group).
    """

    def __init__(self, pack: Pack, settings: list[dict]) -> None:
        if len(settings) != len(pack):
            raise ValueError(f"{len(settings)} optimizer settings for a pack of {len(pack)} networks")
        for s in settings:  # the whole optim group: its defaults are conf/optim/sgd.yaml's, not repeated here
            missing = sorted({*HYPERPARAMETERS, "nesterov"} - set(s))
            if missing:
                raise ValueError(f"optim group without {', '.join(missing)}; pass a run's whole group")
        nesterov = {bool(s["nesterov"]) for s in settings}
        if len(nesterov) > 1:
            raise ValueError("runs with and without optim.nesterov cannot share a pack")
        for s in settings:
            if s["nesterov"] and s["momentum"] <= 0:
                raise ValueError("optim.nesterov=true needs optim.momentum > 0 "
                                 f"(got {s['momentum']}); valid: momentum in (0, 1)")
        super().__init__(pack.parameters(), {"nesterov": nesterov.pop()})
        self.pack = pack
        device = pack.weights[0].device
        # Per run, as tensors that broadcast over a stacked (K, ...) parameter; 0-d views for a run's
        # own ones.
        self.per_run = {name: torch.tensor([float(s[name]) for s in settings], device=device)
                        for name in HYPERPARAMETERS}
        # The same values viewed to broadcast over a stacked weight (K, 1, 1) and bias (K, 1); freeze
        # writes through.
        self.stacked = {ndim: {name: value.view((-1,) + (1,) * (ndim - 1))
                               for name, value in self.per_run.items()}
                        for ndim in (2, 3)}
        self.live = torch.ones(len(pack), dtype=torch.bool, device=device)
        self.diverged_at = torch.full((len(pack),), -1, dtype=torch.long, device=device)
        self.updates = 0  # steps taken, as trainer.global_step counts them
        self.any_momentum = any(s["momentum"] > 0 for s in settings)
        self.any_weight_decay = any(s["weight_decay"] > 0 for s in settings)
        models = pack.models
        # Each hidden layer's trainable parameters besides its weights (batch norm's, PReLU's), per run.
        self.layer_params = [[[p for p in (*m.norms[layer].parameters(), *m.acts[layer].parameters())
                               if p.requires_grad] for m in models] for layer in range(pack.depth)]
        # One call for the whole pack where every run's layer is the same parameter-free function.
        self.shared = [_shared_function([(m.norms[layer], m.acts[layer]) for m in models])
                       for layer in range(pack.depth)]
        self.analytic = [ANALYTIC_BACKWARD.get(type(f)) if f is not None else None for f in self.shared]

    def freeze(self, run: int) -> None:
        """Stop updating run `run` (it diverged): its weights stay as they are, the others train on."""
        self.live[run] = False
        for value in self.per_run.values():
            value[run] = 0.0

    def _freeze_diverged(self, losses: torch.Tensor) -> None:
        """`freeze` on the device, without a host read, every run whose loss of this step is not finite."""
        finite = torch.isfinite(losses)
        self.diverged_at.masked_fill_(self.live & ~finite, self.updates)
        self.live &= finite
        for value in self.per_run.values():
            value.mul_(self.live)

    # The divergence state is the optimizer's: a checkpoint resumes it with the momentum buffers.
    def state_dict(self) -> dict:
        return {**super().state_dict(), "live": self.live.cpu(), "diverged_at": self.diverged_at.cpu(),
                "updates": self.updates}

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        live, diverged_at = state_dict.pop("live"), state_dict.pop("diverged_at")
        self.updates = state_dict.pop("updates")
        super().load_state_dict(state_dict)
        self.diverged_at.copy_(diverged_at)
        for run in (~live).nonzero().flatten().tolist():
            self.freeze(run)

    @torch.no_grad()
    def step(self, closure=None, batch: tuple[torch.Tensor, torch.Tensor] | None = None):
        """One update of every run on its minibatch: x (K, B, ...), y (K, B); returns the logits (K, B, C)
        and each run's mean cross-entropy (K,). `closure` (Lightning passes one that runs its hooks) is
        called first, as torch optimizers do."""
        if closure is not None:
            closure()
        x, y = batch
        pack = self.pack
        k, b = y.shape
        z = x.reshape(k, b, -1)
        inputs, preacts, outputs = [], [], []  # per weight layer its input z; per hidden layer s and f(BN(s))
        for layer in range(pack.depth):
            inputs.append(z)
            s = torch.baddbmm(pack.biases[layer].unsqueeze(1), z, pack.weights[layer].transpose(1, 2))
            if self.analytic[layer] is not None:
                out = self.shared[layer](s)
            else:
                with torch.enable_grad():  # a graph of this layer's batch norm and activation only
                    out = self._activate(layer, s.requires_grad_())
            preacts.append(s)
            outputs.append(out)
            z = out.detach()
        inputs.append(z)
        logits = torch.baddbmm(pack.biases[-1].unsqueeze(1), z, pack.weights[-1].transpose(1, 2))
        with torch.enable_grad():
            logits.requires_grad_()
            losses = F.cross_entropy(logits.reshape(k * b, -1), y.reshape(-1),
                                     reduction="none").view(k, b).mean(1)
            (delta,) = torch.autograd.grad(losses.sum(), logits)
        self.updates += 1
        self._freeze_diverged(losses.detach())
        live = self.live.view(-1, 1, 1)
        for layer in range(pack.depth, -1, -1):  # weight layers, output first; δ is dC/ds of `layer`
            delta = torch.where(live, delta, 0.0)
            if layer > 0:  # the δ of the layer below needs this layer's weights before their update
                grad_out = torch.bmm(delta, pack.weights[layer])
            self._apply(pack.weights[layer], (delta, inputs[layer]), self.stacked[3])
            self._apply(pack.biases[layer], delta.sum(1), self.stacked[2])
            if layer > 0:
                delta = self._backward_through(layer - 1, outputs, preacts, grad_out)
        return logits.detach(), losses.detach()

    def _activate(self, layer: int, s: torch.Tensor) -> torch.Tensor:
        shared = self.shared[layer]
        if shared is not None:
            return shared(s)
        return torch.stack([act(norm(s[k])) for k, (norm, act) in
                            enumerate((m.norms[layer], m.acts[layer]) for m in self.pack.models)])

    def _backward_through(self, layer: int, outputs: list, preacts: list, grad_out: torch.Tensor
                          ) -> torch.Tensor:
        """δ of hidden layer `layer` from the gradient at its output; its runs' own parameters updated."""
        if self.analytic[layer] is not None:
            return self.analytic[layer](grad_out, preacts[layer], outputs[layer])
        own = [p for params in self.layer_params[layer] for p in params]
        with torch.enable_grad():
            delta, *dense = torch.autograd.grad(outputs[layer], [preacts[layer], *own], grad_out)
        dense = iter(dense)
        for run, params in enumerate(self.layer_params[layer]):
            for p in params:
                self._apply(p, next(dense), {name: v[run] for name, v in self.per_run.items()})
        return delta

    def _apply(self, p: torch.Tensor, g: Gradient, h: dict[str, torch.Tensor]) -> None:
        """p ← p − lr·(g + wd·p) with momentum and Nesterov as torch.optim.SGD; `h` broadcasts over p."""
        lr, mu, wd = h["lr"], h["momentum"], h["weight_decay"]
        if not self.any_momentum:
            if self.any_weight_decay:
                p.mul_(1.0 - lr * wd)
            _add_(p, g, -lr)
            return
        state = self.state[p]
        first = "momentum_buffer" not in state  # v = g at the first step, as torch.optim.SGD
        if first:
            state["momentum_buffer"] = torch.zeros_like(p)
        v = state["momentum_buffer"]
        if not first:
            v.mul_(mu)
        if self.any_weight_decay:
            v.addcmul_(p, wd)
        _add_(v, g, None)
        if self.param_groups[0]["nesterov"]:  # p ← p − lr·(g + wd·p) − lr·μ·v
            if self.any_weight_decay:
                p.mul_(1.0 - lr * wd)
            _add_(p, g, -lr)
            p.addcmul_(v, -lr * mu)
        else:
            p.addcmul_(v, -lr)


def _add_(target: torch.Tensor, gradient: Gradient, scale: torch.Tensor | None) -> None:
    """target += scale·gradient in place (None: 1), scale broadcasting per run; a factored gradient as δᵀz,
    not formed."""
    if isinstance(gradient, tuple):
        delta, z = gradient
        target.baddbmm_((delta if scale is None else delta * scale).transpose(1, 2), z)
    elif scale is None:
        target.add_(gradient)
    else:
        target.addcmul_(gradient, scale)


def _shared_function(layers: list[tuple[nn.Module, nn.Module]]) -> nn.Module | None:
    """The one module that computes every run's f(BN(s)) of a layer, or None where they differ or learn."""
    (norm, act), *rest = layers
    learns = any(True for n, a in layers for _ in (*n.parameters(), *a.parameters()))
    if learns or not isinstance(norm, nn.Identity):
        return None
    same = all(type(a) is type(act) and repr(a) == repr(act) and isinstance(n, nn.Identity) for n, a in rest)
    return act if same else None
