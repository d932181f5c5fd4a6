"""Per-layer statistics and histograms of one quantity (preact, act, backprop, weight_grad) on the
probe batch.

All layers of a quantity are reduced into one small tensor and moved to the host once: a `.item()` per
statistic per layer would cost more than the statistics themselves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from fanin.contract import QUANTITIES, STAT_COLUMNS  # noqa: F401  (re-exported for the probes)

QUANTILE = 0.98


def tail_quantiles(x: torch.Tensor) -> torch.Tensor:
    """Nearest-rank 2nd and 98th percentiles of x and the 98th of |x|, as a 3-vector on x's device.

    Selection, not sorting: a weight-gradient layer holds a million values and sorting it three times per
    probe would cost more than the probe's forward and backward passes. On the CPU numpy's introselect
    finds both tails in one pass; on an accelerator top-k stays on the device.
    """
    n = x.numel()
    k = max(1, int(np.ceil((1 - QUANTILE) * n)))  # values above the 98th percentile
    if x.device.type == "cpu":
        values = x.numpy()
        both = np.partition(values, (k - 1, n - k))
        abs_top = np.partition(np.abs(values), n - k)[n - k]
        return torch.tensor([both[k - 1], both[n - k], abs_top], dtype=x.dtype)
    top = x.topk(k, sorted=False).values.min()
    bottom = -(-x).topk(k, sorted=False).values.min()
    return torch.stack([bottom, top, x.abs().topk(k, sorted=False).values.min()])


def all_tail_quantiles(flats: list[torch.Tensor]) -> list[torch.Tensor]:
    """tail_quantiles of every layer; on the CPU in parallel threads (numpy's selection releases the GIL)."""
    if flats and flats[0].device.type == "cpu" and torch.get_num_threads() > 1:
        with ThreadPoolExecutor(torch.get_num_threads()) as pool:
            return list(pool.map(tail_quantiles, flats))
    return [tail_quantiles(flat) for flat in flats]


def layer_statistics(values: list[torch.Tensor], saturated: list[torch.Tensor | None]) -> torch.Tensor:
    """(layers, 6) tensor of mean, std, p2, p98, abs_p98, frac_saturated; `saturated` holds bool masks
    or None."""
    flats = [x.detach().reshape(-1).float() for x in values]
    rows = []
    for flat, tails, mask in zip(flats, all_tail_quantiles(flats), saturated, strict=True):
        frac = mask.float().mean() if mask is not None else flat.new_tensor(float("nan"))
        # moments in float64: a vanishing gradient's spread (1e-20 and below) must not round to 0
        moments = torch.stack([flat.double().mean(), flat.double().std()]).float()
        rows.append(torch.cat([moments, tails.to(flat.device), frac.reshape(1)]))
    return torch.stack(rows)


def layer_histograms(values: list[torch.Tensor], bins: int, shared_range: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Histograms of every layer: (counts (layers, bins), edges (layers, bins+1)).

    The first `shared_range` layers (the hidden ones) share one range, so their histograms are comparable on
    one axis as in Glorot & Bengio's Figs 6-8; the layers after it (the output) get their own.
    Non-finite values (an exploding init) are left out of the counts; the statistics still show them.
    """
    flats = [x.detach().reshape(-1).float() for x in values]
    extremes = torch.stack([torch.stack([flat.min(), flat.max()]) for flat in flats]).cpu()
    if not torch.isfinite(extremes).all():
        flats = [flat[torch.isfinite(flat)] for flat in flats]
        extremes = torch.tensor([[f.min(), f.max()] if f.numel() else [0.0, 0.0] for f in flats])
    ranges = extremes.clone()
    if shared_range:
        ranges[:shared_range] = torch.tensor([extremes[:shared_range, 0].min(),
                                              extremes[:shared_range, 1].max()])
    counts, edges = [], []
    for flat, (lo, hi) in zip(flats, ranges.tolist(), strict=True):
        if not hi > lo:  # a constant layer (zero init): a unit-wide range around its value
            lo, hi = lo - 0.5, hi + 0.5
        counts.append(torch.histc(flat, bins=bins, min=lo, max=hi))
        edges.append(torch.linspace(lo, hi, bins + 1, dtype=torch.float64))
    return torch.stack(counts), torch.stack(edges)
