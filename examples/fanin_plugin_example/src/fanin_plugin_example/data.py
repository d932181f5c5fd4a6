"""A data set: a load function whose keyword arguments are the keys of conf/data/spiral2d.yaml."""

from __future__ import annotations

import numpy as np

from fanin.data.splits import SPLIT_SEED, DataSplits, from_arrays, split_arrays


def load(*, arms: int, n: int, turns: float, noise: float, valid_size: int, test_size: int,
         normalize: bool) -> DataSplits:
    """`arms` interleaved spirals in the plane, one class each, n points in all: point i of arm k at radius
    r = t and angle 2 pi (k / arms + turns * t) + N(0, noise^2), t ~ U(0, 1)."""
    if arms < 2:
        raise ValueError(f"data.arms={arms} is out of range; valid: an integer >= 2")
    rng = np.random.default_rng(SPLIT_SEED)
    y = np.arange(n) % arms
    t = rng.uniform(size=n)
    angle = 2 * np.pi * (y / arms + turns * t) + rng.normal(scale=noise, size=n)
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    train, valid, test = split_arrays(x, y, valid_size, test_size)
    classes = tuple(str(k) for k in range(arms))
    return from_arrays("spiral2d", f"{arms} spirals (n={n}, noise={noise})", classes, train, valid, test,
                       normalize)
