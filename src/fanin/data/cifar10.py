"""CIFAR-10 from the standard python-pickle batches (cifar-10-batches-py) in `data.root`."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from fanin.data.splits import DataSplits, from_arrays, split_arrays

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = batch[b"data"].reshape(-1, 3, 32, 32)
    return data, np.asarray(batch[b"labels"], dtype=np.int64)


def load(root: str | None = None, valid_size: int = 5_000, normalize: bool = True, **_) -> DataSplits:
    expected = ", ".join((*TRAIN_BATCHES, TEST_BATCH))
    if root is None:
        raise FileNotFoundError(f"data=cifar10 needs data.root=<dir with the python batches: {expected}>")
    root_path = Path(root).expanduser()
    if (root_path / "cifar-10-batches-py").is_dir():
        root_path = root_path / "cifar-10-batches-py"
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (root_path / n).exists()]
    if missing:
        raise FileNotFoundError(f"data.root={root} lacks CIFAR-10 files {', '.join(missing)} (expected: {expected})")
    parts = [read_batch(root_path / n) for n in TRAIN_BATCHES]
    x_all = np.concatenate([p[0] for p in parts]) / 255.0
    y_all = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_batch(root_path / TEST_BATCH)
    train, valid, _ = split_arrays(x_all, y_all, valid_size, None)
    return from_arrays("cifar10", f"python batches in {root_path}", CLASSES, train, valid,
                       (x_test / 255.0, y_test), normalize)
