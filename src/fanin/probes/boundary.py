"""The decision boundary of a net on 2-D inputs: class-1 probability on a grid, plus the test points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fanin.model import MLP

GRID = 120


@torch.no_grad()
def decision_boundary(model: MLP, x: torch.Tensor, y: torch.Tensor, step: int, margin: float = 0.5
                      ) -> pd.DataFrame:
    """Rows (step, kind, x1, x2, p1, label): kind 'grid' covers the test points' box plus `margin`, kind
    'test' holds the test points themselves. Coordinates are the network's (normalised) inputs."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    lo, hi = x.min(0).values - margin, x.max(0).values + margin
    g1, g2 = torch.meshgrid(torch.linspace(lo[0], hi[0], GRID), torch.linspace(lo[1], hi[1], GRID),
                            indexing="ij")
    grid = torch.stack([g1.reshape(-1), g2.reshape(-1)], dim=1)
    p_grid = torch.softmax(model(grid.to(device)), 1)[:, 1].cpu()
    p_test = torch.softmax(model(x.to(device)), 1)[:, 1].cpu()
    model.train(was_training)
    return pd.concat([
        pd.DataFrame({"step": step, "kind": "grid", "x1": grid[:, 0].numpy(), "x2": grid[:, 1].numpy(),
                      "p1": p_grid.numpy(), "label": np.full(len(grid), -1)}),
        pd.DataFrame({"step": step, "kind": "test", "x1": x[:, 0].numpy(), "x2": x[:, 1].numpy(),
                      "p1": p_test.numpy(), "label": y.numpy()}),
    ], ignore_index=True)
