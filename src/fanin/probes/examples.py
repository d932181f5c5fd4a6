"""A few test images with their labels, as pixels in a long table: what Glorot & Bengio's Fig 1 shows.

Figures read tables only, so the examples a figure shows come from the run that trained on them: the first
`per_class` test examples of each class, in class order, as (example, label, class_name, row, col, value)
with the values the network sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch


def examples_table(x: torch.Tensor, y: torch.Tensor, classes: tuple[str, ...], per_class: int
                   ) -> pd.DataFrame:
    """Long-form pixels of the first `per_class` examples of each class in (x (n, h, w), y (n,))."""
    if x.dim() != 3:
        raise ValueError(f"probe.examples needs image inputs (n, height, width); "
                         f"got inputs of shape {tuple(x.shape)}")
    picked = [i for c in range(len(classes)) for i in (y == c).nonzero().squeeze(1)[:per_class].tolist()]
    images = x[picked].numpy()
    n, height, width = images.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    labels = y[picked].numpy()
    return pd.DataFrame({
        "example": np.repeat(np.arange(n), height * width),
        "label": np.repeat(labels, height * width),
        "class_name": np.repeat(np.asarray(classes, dtype=object)[labels], height * width),
        "row": np.tile(rows.ravel(), n), "col": np.tile(cols.ravel(), n),
        "value": images.reshape(-1).astype(np.float64),
    })
