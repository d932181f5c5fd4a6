"""Checkpoints that let a killed pack of runs (pre-emption, a time limit) resume where it stopped, with
identical tables; a solo run is a pack of one.

`last.ckpt` holds everything the rest of the pack depends on: every run's weights, optimizer state and the
step (Lightning), each run's position in its training stream (fanin.train.stream), its measurements so far
and its training sums since the last one. It is written every `every_s` seconds (and every `every_steps`
steps, if set), and at once on SIGTERM, which Slurm and most schedulers send before they kill a job. Each
write is atomic (fanin.io), so a kill mid-write leaves the previous checkpoint intact.

A checkpoint is used only by the same pack: its fingerprint is its runs' configs, in order, without the
settings that say where and how they run (fanin.plan.identity.EXECUTION_KEYS: threads, device, logger,
checkpointing), which may change between attempts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from fanin.io import atomic_write
from fanin.plan.identity import results_config
from fanin.train.stream import PackStream

log = logging.getLogger("fanin")

CHECKPOINT_NAME = "last.ckpt"


def run_fingerprint(config: dict) -> str:
    """A hash of what determines the run's results."""
    return hashlib.sha256(json.dumps(results_config(config), sort_keys=True,
                                     default=str).encode()).hexdigest()[:16]


def pack_fingerprint(configs: list[dict]) -> str:
    """A hash of what determines a pack's results: its runs, in order."""
    return hashlib.sha256(json.dumps([run_fingerprint(c) for c in configs]).encode()).hexdigest()[:16]


def resumable_checkpoint(directory: Path, fingerprint: str) -> tuple[Path, dict] | None:
    """The checkpoint to resume from and what fanin saved in it, or None; one of another config is removed."""
    path = Path(directory) / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)["fanin"]
    except Exception as error:  # noqa: BLE001 - an unreadable checkpoint is as good as none
        log.warning("checkpoint %s is unreadable (%s); starting from scratch", path, error)
        saved = None
    if saved is None or saved.get("fingerprint") != fingerprint:
        if saved is not None:
            log.warning("checkpoint %s belongs to another config of this run; starting from scratch", path)
        path.unlink()
        return None
    return path, saved


class Checkpointing(L.Callback):
    def __init__(self, directory: Path, fingerprint: str, stream: PackStream, every_s: float | None,
                 every_steps: int | None, sink_run_ids: list[str | None] | None = None) -> None:
        """`every_s`, `every_steps`: trainer.checkpoint_every_s and _steps (null: never by that clock)."""
        self.path = Path(directory) / CHECKPOINT_NAME
        self.fingerprint, self.stream, self.sink_run_ids = fingerprint, stream, sink_run_ids
        self.every_s, self.every_steps = every_s, every_steps
        self.last_saved = time.monotonic()

    def due(self, step: int) -> bool:
        if self.every_steps and step % self.every_steps == 0:
            return True
        return self.every_s is not None and time.monotonic() - self.last_saved >= self.every_s

    def on_train_batch_end(self, trainer: L.Trainer, module, outputs, batch, batch_idx) -> None:
        if (not trainer.should_stop and trainer.global_step < trainer.max_steps
                and self.due(trainer.global_step)):
            self.save(trainer)

    def on_exception(self, trainer: L.Trainer, module, exception: BaseException) -> None:
        # Lightning raises SIGTERMException between batches, so the state saved here is a consistent one.
        if isinstance(exception, SIGTERMException):
            self.save(trainer)

    def on_save_checkpoint(self, trainer: L.Trainer, module, checkpoint: dict) -> None:
        checkpoint["fanin"] = {"fingerprint": self.fingerprint,
                               "stream": self.stream.state_at(trainer.global_step),
                               "sink_run_ids": self.sink_run_ids}

    def on_load_checkpoint(self, trainer: L.Trainer, module, checkpoint: dict) -> None:
        self.stream.resume(checkpoint["fanin"]["stream"])

    def save(self, trainer: L.Trainer) -> None:
        atomic_write(self.path, trainer.save_checkpoint)
        self.last_saved = time.monotonic()
        log.info("checkpoint at step %d: %s", trainer.global_step, self.path)

    def remove(self) -> None:
        """The run is complete: its checkpoint has nothing left to resume."""
        self.path.unlink(missing_ok=True)
        for partial in self.path.parent.glob(f".{self.path.name}.*.tmp"):  # left by a kill in mid-write
            partial.unlink()
        if self.path.parent.exists() and not any(self.path.parent.iterdir()):
            self.path.parent.rmdir()
