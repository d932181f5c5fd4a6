"""Singular values of the layer-to-layer Jacobians dz^{l+1}/dz^l (Glorot & Bengio 2010, section 4.2.2).

For a hidden layer z^{l+1} = f(BN(W z^l + b)) the Jacobian at one example is diag(f'(s^{l+1})) W (times the
batch-norm scale); it is computed by autograd per example, so any activation and eval-mode batch norm work.
"""

from __future__ import annotations

import torch
from torch.func import jacrev, vmap

from fanin.model import MLP


def jacobian_singular_values(model: MLP, x: torch.Tensor) -> torch.Tensor:
    """(depth-1, 3) tensor: mean, min and max singular value of dz^{l+1}/dz^l for l = 1..depth-1,
    over examples."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            acts = model.trace(x).acts
        rows = []
        for ell in range(1, model.depth):
            linear, norm, act = model.hidden[ell], model.norms[ell], model.acts[ell]

            def layer(z: torch.Tensor) -> torch.Tensor:
                return act(norm(linear(z.unsqueeze(0)))).squeeze(0)  # noqa: B023  (used in this iteration)

            jac = vmap(jacrev(layer))(acts[ell - 1].detach())  # (examples, width, width)
            sv = torch.linalg.svdvals(jac.detach())
            rows.append(torch.stack([sv.mean(), sv.min(), sv.max()]).detach())
        return torch.stack(rows) if rows else x.new_zeros((0, 3))
    finally:
        model.train(was_training)
