"""Per-layer statistics and histograms of one quantity (preact, act, backprop, weight_grad) on the probe batch.

All layers of a quantity are reduced on the device into one small tensor, and moved to the host once:
a `.item()` per statistic per layer would cost more than the statistics themselves.
"""

from __future__ import annotations

import math

import torch

STAT_COLUMNS = ("mean", "std", "p2", "p98", "abs_p98", "frac_saturated")
QUANTITIES = ("preact", "act", "backprop", "weight_grad")


def upper_quantile(x: torch.Tensor, q: float) -> torch.Tensor:
    """The nearest-rank q-quantile (q >= 0.5) of a flat tensor, via top-k: cheaper than sorting a million values."""
    k = max(1, int(math.ceil((1 - q) * x.numel())))
    return x.topk(k, sorted=False).values.min()


def layer_statistics(values: list[torch.Tensor], saturated: list[torch.Tensor | None]) -> torch.Tensor:
    """(layers, 6) tensor of mean, std, p2, p98, abs_p98, frac_saturated; `saturated` holds bool masks or None."""
    rows = []
    for x, mask in zip(values, saturated):
        flat = x.detach().reshape(-1).float()
        frac = mask.float().mean() if mask is not None else flat.new_tensor(float("nan"))
        rows.append(torch.stack([
            flat.mean(), flat.std(), -upper_quantile(-flat, 0.98), upper_quantile(flat, 0.98),
            upper_quantile(flat.abs(), 0.98), frac,
        ]))
    return torch.stack(rows)


def layer_histograms(values: list[torch.Tensor], bins: int, shared_range: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Histograms of every layer: (counts (layers, bins), edges (layers, bins+1)).

    The first `shared_range` layers (the hidden ones) share one range, so their histograms are comparable on
    one axis as in Glorot & Bengio's Figs 6-8; the layers after it (the output) get their own.
    Non-finite values (an exploding init) are left out of the counts; the statistics still show them.
    """
    flats = [x.detach().reshape(-1).float() for x in values]
    flats = [flat[torch.isfinite(flat)] for flat in flats]
    hidden = torch.cat(flats[:shared_range]) if shared_range else None
    counts, edges = [], []
    for i, flat in enumerate(flats):
        ref = hidden if i < shared_range else flat
        lo, hi = (ref.min(), ref.max()) if ref.numel() else (ref.new_tensor(0.0), ref.new_tensor(0.0))
        # histc needs a non-empty range; a constant layer (zero init) gets a unit-wide bin range around it.
        lo, hi = torch.where(hi > lo, lo, lo - 0.5), torch.where(hi > lo, hi, hi + 0.5)
        edge = torch.linspace(0, 1, bins + 1, device=flat.device) * (hi - lo) + lo
        counts.append(torch.histc(flat, bins=bins, min=float(lo), max=float(hi)))
        edges.append(edge)
    return torch.stack(counts), torch.stack(edges)
