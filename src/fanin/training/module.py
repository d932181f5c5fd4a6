"""The LightningModule: plain minibatch SGD on the softmax NLL, as in Glorot & Bengio 2010.

Lightning's manual optimization runs fanin's fused step (fanin.training.fused_sgd): each layer is updated
in place during the backward pass, so no dC/dW is formed. Training loss and error are summed on
the device and read by the measurement callback at its schedule, so a training step never waits for a host
sync.
"""

from __future__ import annotations

import lightning as L
import torch

from fanin.model import MLP
from fanin.training.fused_sgd import FusedSGD


class InitStudyModule(L.LightningModule):
    def __init__(self, model: MLP, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__()
        if not 0.0 < lr <= 10.0:
            raise ValueError(f"optim.lr={lr} is out of range; valid: 0 < lr <= 10")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"optim.momentum={momentum} is out of range; valid: 0 <= momentum < 1")
        self.model = model
        self.automatic_optimization = False
        self.lr, self.momentum, self.weight_decay, self.nesterov = lr, momentum, weight_decay, nesterov
        # Running sums since the last measurement: loss, misclassified examples, examples.
        self.register_buffer("train_sums", torch.zeros(3), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        logits, loss = self.optimizers().step(batch=(x, y))
        with torch.no_grad():
            wrong = (logits.argmax(1) != y).sum()
            self.train_sums += torch.stack([loss * len(y), wrong.to(loss.dtype), loss.new_tensor(len(y))])

    def configure_optimizers(self) -> FusedSGD:
        return FusedSGD(self.model, lr=self.lr, momentum=self.momentum,
                        weight_decay=self.weight_decay, nesterov=self.nesterov)

    # The sums since the last measurement are part of a checkpoint: a resumed run reports the same training error.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["train_sums"] = self.train_sums.cpu()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.train_sums.copy_(checkpoint["train_sums"])

    def take_train_metrics(self) -> tuple[float, float] | None:
        """(mean loss, error rate) over the steps since the last call, then reset; None if no step ran."""
        loss_sum, wrong, count = self.train_sums.tolist()
        self.train_sums.zero_()
        return (loss_sum / count, wrong / count) if count else None
