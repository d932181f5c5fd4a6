"""scikit-learn's bundled 8x8 handwritten digits (1,797 real examples, no download): the embedded default."""

from __future__ import annotations

from sklearn.datasets import load_digits

from fanin.data.splits import DataSplits, from_arrays, split_arrays


def load(*, valid_size: int, test_size: int, normalize: bool) -> DataSplits:
    """The data group's keys (conf/data/digits.yaml holds their defaults)."""
    bunch = load_digits()
    x = bunch.data.reshape(-1, 8, 8) / 16.0
    train, valid, test = split_arrays(x, bunch.target, valid_size, test_size)
    classes = tuple(str(c) for c in range(10))
    return from_arrays("digits", "sklearn.datasets.load_digits (bundled)", classes, train, valid, test,
                       normalize)
