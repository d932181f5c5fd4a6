"""2-D classification problems for decision-boundary pictures: circles, moons, spirals."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_circles, make_moons

from fanin.data.splits import SPLIT_SEED, DataSplits, from_arrays, split_arrays

SHAPES = ("circles", "moons", "spirals")


def make_spirals(n: int, noise: float, rng: np.random.Generator, turns: float = 1.5
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Archimedean spirals, r proportional to the angle, class k rotated by k*pi."""
    y = np.arange(n) % 2
    t = np.sqrt(rng.uniform(size=n)) * turns * 2 * np.pi
    angle = t + np.pi * y
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1) / (turns * 2 * np.pi)
    return x + rng.normal(scale=noise, size=x.shape), y


def load(*, shape: str, n: int, noise: float, valid_size: int, test_size: int, normalize: bool) -> DataSplits:
    """The data group's keys (conf/data/toy2d.yaml holds their defaults)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown data.shape {shape!r} for toy2d; valid: {', '.join(SHAPES)}")
    rng = np.random.default_rng(SPLIT_SEED)
    if shape == "circles":
        x, y = make_circles(n, noise=noise, factor=0.5, random_state=SPLIT_SEED)
    elif shape == "moons":
        x, y = make_moons(n, noise=noise, random_state=SPLIT_SEED)
    else:
        x, y = make_spirals(n, noise, rng)
    train, valid, test = split_arrays(x, y, valid_size, test_size)
    splits = from_arrays("toy2d", f"{shape} (n={n}, noise={noise})", ("0", "1"), train, valid, test,
                         normalize)
    splits.info["shape"] = shape
    return splits
