"""Loss and error of a model on a fixed set of examples, in eval mode, in chunks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 2_000) -> tuple[float, float]:
    """(mean NLL, error rate) over (x, y); the sums stay on the device until the one final transfer."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    sums = torch.zeros(2, device=device, dtype=torch.float64)
    for start in range(0, len(y), chunk):
        xb, yb = x[start : start + chunk].to(device), y[start : start + chunk].to(device)
        logits = model(xb)
        sums += torch.stack([F.cross_entropy(logits, yb, reduction="sum").double(),
                             (logits.argmax(1) != yb).sum().double()])
    model.train(was_training)
    loss, wrong = sums.tolist()
    return loss / len(y), wrong / len(y)
