"""What every data set hands the trainer: a training stream, fixed valid/test sets, and their metadata."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

# Valid and test sets never depend on the run's seed: every run of a study is scored on the same examples.
SPLIT_SEED = 20100331  # AISTATS 2010
CPU = torch.device("cpu")


@dataclass
class DataSplits:
    """A data set ready to train on: inputs are float32, labels int64, already normalised."""

    name: str
    source: str  # where the examples came from, for the log and provenance
    classes: tuple[str, ...]
    train: TrainSource
    valid: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    info: dict = field(default_factory=dict)

    @property
    def in_features(self) -> int:
        return int(np.prod(self.test[0].shape[1:]))

    @property
    def num_classes(self) -> int:
        return len(self.classes)


class TrainSource:
    """Minibatches for training, forever; `epoch_size` says how many examples make an epoch.

    The stream is a sequence of blocks (an epoch's shuffle, a rendered chunk), each drawn from the run's
    generator when the block starts: the generator's state at a block's start, plus how many of its batches
    were taken, is all it takes to resume the stream exactly (fanin.train.stream). The generator is a CPU
    one on every device, so a run sees the same examples wherever it trains; the batches are made on
    `device`, so that a GPU step never waits for a copy from the host.
    """

    epoch_size: int
    max_batch_size: int | None = None  # a finite training set cannot fill a larger minibatch

    def block(self, batch_size: int, generator: torch.Generator, device: torch.device = CPU
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of one block, on `device`; the generator is used only before the first batch is
        returned."""
        raise NotImplementedError

    def batches(self, batch_size: int, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(seed)
        while True:
            yield from self.block(batch_size, generator)


class ArraySource(TrainSource):
    """A finite training set, reshuffled every epoch by a generator seeded with the run's seed."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y
        self.epoch_size = self.max_batch_size = len(y)
        self._copies = {CPU: (x, y)}  # the training set on each device it was asked for, copied once

    def block(self, batch_size: int, generator: torch.Generator, device: torch.device = CPU
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        device = torch.device(device)
        if device not in self._copies:
            self._copies[device] = (self.x.to(device), self.y.to(device))
        x, y = self._copies[device]
        n = len(self.y)
        order = torch.randperm(n, generator=generator).to(device)
        # A last partial batch would change the step size of SGD; drop it as most loops do.
        return ((x[idx], y[idx]) for idx in order[: n - n % batch_size].split(batch_size))


class StreamSource(TrainSource):
    """An infinite training stream rendered in chunks (Shapeset): every example is new."""

    def __init__(self, render: Callable[..., tuple[torch.Tensor, torch.Tensor]],
                 transform: Callable[[torch.Tensor], torch.Tensor], epoch_size: int,
                 chunk: int = 10_000) -> None:
        """`render(n, generator, device=...)` draws n examples from the CPU generator onto the device."""
        self.render, self.transform, self.epoch_size, self.chunk = render, transform, epoch_size, chunk

    def block(self, batch_size: int, generator: torch.Generator, device: torch.device = CPU
              ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        chunk = max(self.chunk - self.chunk % batch_size, batch_size)
        x, y = self.render(chunk, generator, device=device)
        x = self.transform(x)
        return zip(x.split(batch_size), y.split(batch_size), strict=True)


class Standardizer:
    """Per-feature z-scoring with statistics from training examples; constant features are left centred."""

    def __init__(self, x: torch.Tensor) -> None:
        flat = x.reshape(len(x), -1).double()
        self.mean = flat.mean(0).float()
        std = flat.std(0).float()
        self.std = torch.where(std > 1e-6, std, torch.ones_like(std))
        self.shape = x.shape[1:]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(x.device), self.std.to(x.device)
        return ((x.reshape(len(x), -1) - mean) / std).reshape(len(x), *self.shape)


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


def check_labels(path, labels: np.ndarray, num_classes: int, n_images: int, images_from: str = "") -> None:
    """One label per image, each a class index: else one line naming the file (and the images' own file)."""
    if labels.ndim != 1 or len(labels) != n_images:
        where = f" of {images_from}" if images_from else ""
        raise ValueError(f"{path}: {len(labels)} labels for {n_images} images{where}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{path}: labels outside 0..{num_classes - 1}")


def split_arrays(x: np.ndarray, y: np.ndarray, valid_size: int, test_size: int | None
                 ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Shuffle once with the fixed split seed, then cut (train, valid, test); test_size None means no
    test cut."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    x, y = x[order], y[order]
    n_test = test_size or 0
    if valid_size + n_test >= len(y):
        raise ValueError(f"data.valid_size + data.test_size = {valid_size + n_test} "
                         f"leaves no training examples out of {len(y)}; valid: a sum below {len(y)}")
    test = (x[:n_test], y[:n_test])
    valid = (x[n_test : n_test + valid_size], y[n_test : n_test + valid_size])
    train = (x[n_test + valid_size :], y[n_test + valid_size :])
    return train, valid, test


def from_arrays(name: str, source: str, classes: tuple[str, ...], train, valid, test,
                normalize: bool) -> DataSplits:
    """Build DataSplits from numpy (x, y) pairs, normalising with the training statistics."""
    as_x = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    as_y = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.int64)  # noqa: E731
    x_train = as_x(train[0])
    transform = Standardizer(x_train) if normalize else identity
    return DataSplits(
        name=name, source=source, classes=classes,
        train=ArraySource(transform(x_train), as_y(train[1])),
        valid=(transform(as_x(valid[0])), as_y(valid[1])),
        test=(transform(as_x(test[0])), as_y(test[1])),
        info={"n_train": len(train[1]), "n_valid": len(valid[1]), "n_test": len(test[1])},
    )
