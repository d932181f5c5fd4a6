"""CIFAR-10 from the standard python-pickle batches (cifar-10-batches-py) in `data.root`."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from fanin.data.splits import DataSplits, check_labels, from_arrays, split_arrays

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# What a CIFAR-10 batch may name: numpy's array reconstruction, nothing that could run code.
ALLOWED_GLOBALS = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
                   for name in ("_reconstruct", "scalar")} | {("numpy", "ndarray"), ("numpy", "dtype")}


class BatchUnpickler(pickle.Unpickler):
    """A pickle reader that refuses every global but numpy's arrays: a crafted file cannot run a command."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never does")
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 3, 32, 32), labels int64 (n,)) of one python batch; one-line errors naming
    the file."""
    try:
        with open(path, "rb") as f:
            batch = BatchUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"{path} is not a CIFAR-10 python batch ({error})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: it lacks the keys b'data' and b'labels'")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: data has shape {data.shape}; valid: (n, 3072) for 32x32 colour images")
    check_labels(path, labels, len(CLASSES), len(data))
    return data.reshape(-1, 3, 32, 32), labels


def load(*, root: str | None, valid_size: int, normalize: bool) -> DataSplits:
    """The data group's keys (conf/data/cifar10.yaml holds their defaults)."""
    expected = ", ".join((*TRAIN_BATCHES, TEST_BATCH))
    if root is None:
        raise FileNotFoundError(f"data=cifar10 needs data.root=<dir with the python batches: {expected}>")
    root_path = Path(root).expanduser()
    if (root_path / "cifar-10-batches-py").is_dir():
        root_path = root_path / "cifar-10-batches-py"
    missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if not (root_path / n).exists()]
    if missing:
        raise FileNotFoundError(f"data.root={root} lacks CIFAR-10 files {', '.join(missing)} "
                                f"(expected: {expected})")
    parts = [read_batch(root_path / n) for n in TRAIN_BATCHES]
    x_all = np.concatenate([p[0] for p in parts]) / 255.0
    y_all = np.concatenate([p[1] for p in parts])
    x_test, y_test = read_batch(root_path / TEST_BATCH)
    train, valid, _ = split_arrays(x_all, y_all, valid_size, None)
    return from_arrays("cifar10", f"python batches in {root_path}", CLASSES, train, valid,
                       (x_test / 255.0, y_test), normalize)
