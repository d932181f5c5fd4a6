"""The training minibatches as a DataLoader source that can be resumed at any step, exactly.

A resumed run must see the very batches an uninterrupted run would have seen, or its tables differ. The
stream remembers, for its last few blocks (an epoch's shuffle, a rendered chunk), the step at which each
began and its generator's state there; `state_at(step)` picks the block that holds `step`. Several blocks
are kept because Lightning fetches a batch ahead of the step it trains, so the stream can already be one
block past the step being checkpointed. Resuming replays one block at most, never the whole run.

The batches are made on the device the pack trains on (`StreamOnDevice` tells the stream which, once Lightning
has placed the module): a training set is copied there once, a Shapeset chunk rendered there, so a GPU step
never waits for a host-to-device copy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import lightning as L
import torch
from torch.utils.data import IterableDataset

from fanin.data.splits import CPU, TrainSource

KEPT_BLOCKS = 4


class TrainStream(IterableDataset):
    def __init__(self, source: TrainSource, batch_size: int, seed: int) -> None:
        if source.max_batch_size is not None and batch_size > source.max_batch_size:
            # every epoch would be empty and the weights would never change
            raise ValueError(f"data.batch_size={batch_size} is larger than the training set "
                             f"({source.max_batch_size} examples); valid: 1..{source.max_batch_size}")
        self.source, self.batch_size, self.seed = source, batch_size, seed
        self.device = CPU
        self.blocks: deque[tuple[int, torch.Tensor]] = deque(maxlen=KEPT_BLOCKS)
        self.resume_from: dict | None = None

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        step, skip = 0, 0
        if self.resume_from is not None:
            generator.set_state(self.resume_from["generator"])
            step, skip = (self.resume_from["block_step"],
                          self.resume_from["step"] - self.resume_from["block_step"])
        while True:
            self.blocks.append((step, generator.get_state()))
            block_start = step
            for batch in self.source.block(self.batch_size, generator, self.device):
                step += 1
                if skip:
                    skip -= 1
                    continue
                yield batch
            if step == block_start:  # an empty block would spin here forever without one update
                raise ValueError(f"the training data gave no minibatch of data.batch_size={self.batch_size}")

    def state_at(self, step: int) -> dict:
        """What `resume` needs to continue the stream with the batch of step `step + 1`."""
        for block_step, generator_state in reversed(self.blocks):
            if block_step <= step:
                return {"step": step, "block_step": block_step, "generator": generator_state.clone()}
        raise RuntimeError(f"the training stream no longer knows the block of step {step}")

    def resume(self, state: dict) -> None:
        self.resume_from = state


class PackStream(IterableDataset):
    """The minibatches of a pack: each run's own stream (the one it gets alone), stacked as (K, B, ...)."""

    def __init__(self, streams: list[TrainStream]) -> None:
        self.streams = streams

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for batches in zip(*self.streams, strict=False):
            xs, ys = zip(*batches, strict=True)
            yield torch.stack(xs), torch.stack(ys)

    def state_at(self, step: int) -> list[dict]:
        return [stream.state_at(step) for stream in self.streams]

    def resume(self, states: list[dict]) -> None:
        for stream, state in zip(self.streams, states, strict=True):
            stream.resume(state)

    def to(self, device: torch.device) -> None:
        for stream in self.streams:
            stream.device = torch.device(device)


class StreamOnDevice(L.Callback):
    """Sends the stream's batches to the module's device; Lightning calls `on_fit_start` after placing the
    module and before it first iterates the training data."""

    def __init__(self, stream: PackStream) -> None:
        self.stream = stream

    def on_fit_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.stream.to(module.device)
