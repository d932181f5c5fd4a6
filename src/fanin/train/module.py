"""The LightningModule: plain minibatch SGD on the softmax NLL, as in Glorot & Bengio 2010, for a pack
of runs.

Lightning's manual optimization runs fanin's fused step (fanin.train.fused_sgd) on a pack
(fanin.train.pack) of K runs in lockstep; a solo run is a pack of one. Each run's training loss and error
are summed on the device and read by the measurement callback at its schedule, so a training step never
waits for a host sync (nor does divergence: the step freezes a diverged run on the device).
"""

from __future__ import annotations

import lightning as L
import torch

from fanin.train.fused_sgd import FusedSGD
from fanin.train.pack import Pack


def check_optim(o: dict) -> None:
    if not 0.0 < o["lr"] <= 10.0:
        raise ValueError(f"optim.lr={o['lr']} is out of range; valid: 0 < lr <= 10")
    if not 0.0 <= o["momentum"] < 1.0:
        raise ValueError(f"optim.momentum={o['momentum']} is out of range; valid: 0 <= momentum < 1")


class InitStudyModule(L.LightningModule):
    def __init__(self, pack: Pack, optims: list[dict]) -> None:
        super().__init__()
        for o in optims:
            check_optim(o)
        self.pack, self.optims = pack, optims
        self.automatic_optimization = False
        # Per run, the running sums since its last measurement: loss, misclassified examples, examples.
        self.register_buffer("train_sums", torch.zeros(len(pack), 3), persistent=False)

    def network(self, run: int):
        """Run `run`'s own network (its weights alias the pack's)."""
        return self.pack.models[run]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits, losses = self.optimizers().step(batch=(x, y))
        with torch.no_grad():
            wrong = (logits.argmax(2) != y).sum(1).to(losses.dtype)
            count = torch.full_like(losses, y.shape[1])
            self.train_sums += torch.stack([losses * count, wrong, count], dim=1)

    def configure_optimizers(self) -> FusedSGD:
        return FusedSGD(self.pack, self.optims)

    def freeze(self, run: int) -> None:
        self.optimizers().optimizer.freeze(run)

    def diverged_at(self) -> torch.Tensor:
        """Per run, the step at which the fused step froze it as diverged, -1 for a run still training."""
        return self.optimizers().optimizer.diverged_at

    # The sums since the last measurement are part of a checkpoint: a resumed run reports the same
    # training error.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["train_sums"] = self.train_sums.cpu()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.train_sums.copy_(checkpoint["train_sums"])

    def take_train_metrics(self, run: int) -> tuple[float, float] | None:
        """(mean loss, error rate) of run `run` over the steps since the last call, then reset; None if
        none ran."""
        loss_sum, wrong, count = self.train_sums[run].tolist()
        self.train_sums[run].zero_()
        return (loss_sum / count, wrong / count) if count else None
