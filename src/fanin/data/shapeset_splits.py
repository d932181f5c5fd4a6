"""Shapeset-3x2 as a data set: an infinite seeded training stream and fixed valid/test sets.

Inputs are the raw pixels in [-1, 1] by default, as Glorot's code feeds them (`neg=True` in
glorotxa/Shapeset's `simpleexemple.py`). That is also what the paper's Fig 6 implies: with raw pixels the
normalized init's five tanh layers start with nearly the same spread (activation std 0.46, 0.38, 0.33, 0.30,
0.28 on the probe batch), while z-scored pixels (E[x^2] = 1 instead of 0.36) push layer 1 to 0.60 with 14% of
its units beyond |z| = 0.9, and the layers no longer look alike. `normalize=true` z-scores per pixel with the
statistics of a fixed reference sample of the stream.
"""

from __future__ import annotations

import torch

from fanin.data.shapeset import SHAPESET_CLASSES, render_shapeset
from fanin.data.splits import SPLIT_SEED, DataSplits, Standardizer, StreamSource, identity


def load(*, valid_size: int, test_size: int, epoch_size: int, normalize: bool, chunk: int) -> DataSplits:
    """The data group's keys (conf/data/shapeset.yaml holds their defaults)."""
    # One generator, fixed seed, renders the reference, valid and test sets in that order: the same for
    # every run.
    fixed = torch.Generator().manual_seed(SPLIT_SEED)
    reference, _ = render_shapeset(10_000, fixed)
    valid_x, valid_y = render_shapeset(valid_size, fixed)
    test_x, test_y = render_shapeset(test_size, fixed)
    transform = Standardizer(reference) if normalize else identity
    return DataSplits(
        name="shapeset", source="Shapeset-3x2 generator (Glorot & Bengio 2010), rendered on the fly",
        classes=SHAPESET_CLASSES,
        train=StreamSource(render_shapeset, transform, epoch_size=epoch_size, chunk=chunk),
        valid=(transform(valid_x), valid_y), test=(transform(test_x), test_y),
        info={"n_train": "infinite stream", "n_valid": valid_size, "n_test": test_size,
              "epoch_size": epoch_size},
    )
