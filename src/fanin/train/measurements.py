"""What measures a run: errors on every split and probes of every layer, on a schedule.

`Measurements` records one run: at step 0 (before any update) and at each scheduled step the training
loss/error accumulated since the last measurement, the valid and test loss/error, and a probe of every layer
on the fixed probe batch. `PackMeasurements` is the Lightning callback that measures every run of a pack at
their shared schedule. A run whose training loss turns NaN/inf is frozen by the step itself, on the device
(fanin.train.fused_sgd); at the next scheduled step the host reads which runs diverged and when, and
measures each at the step it diverged (its weights have not changed since), marked diverged: divergence is
a result; the pack's other runs go on, and training stops when no run is left. Between scheduled steps
nothing is read back from the device.
"""

from __future__ import annotations

import logging
import math

import lightning as L
import numpy as np
import pandas as pd
import torch

from fanin.contract import QUANTITIES, RUN_TABLES, STAT_COLUMNS
from fanin.data import DataSplits
from fanin.model import MLP
from fanin.probes.jacobian import jacobian_singular_values
from fanin.probes.probe import probe
from fanin.probes.signal import signal_propagation
from fanin.train.evaluate import evaluate
from fanin.train.module import InitStudyModule
from fanin.train.sinks import NullSink

log = logging.getLogger("fanin")


class Measurements:
    """The measurements of one run, taken when `measure` is called."""

    def __init__(self, splits: DataSplits, probe_size: int, steps: list[int], bins: int, batch_size: int,
                 jacobian_steps: set[int], jacobian_examples: int, sink: NullSink | None = None) -> None:
        self.splits = splits
        self.sink = sink or NullSink()
        self.probe_x, self.probe_y = splits.test[0][:probe_size], splits.test[1][:probe_size]
        self.steps = set(steps)
        self.bins, self.batch_size = bins, batch_size
        self.jacobian_steps, self.jacobian_examples = jacobian_steps, jacobian_examples
        self.metrics: list[dict] = []
        self.stats: list[pd.DataFrame] = []
        self.histograms: list[pd.DataFrame] = []
        self.jacobians: list[pd.DataFrame] = []
        self.signals: list[pd.DataFrame] = []
        self.status = "completed"
        self.last_measured = -1

    # -- measuring -------------------------------------------------------------------------------------
    def epoch(self, step: int) -> float:
        return step * self.batch_size / self.splits.train.epoch_size

    def measure(self, step: int, model: MLP, train: tuple[float, float] | None) -> None:
        """Measure `model` at `step`; `train` is the (loss, error) since the last measurement, if any
        step ran."""
        self.last_measured = step
        epoch = self.epoch(step)
        rows = []
        if train is not None:
            rows.append({"step": step, "epoch": epoch, "split": "train", "loss": train[0], "error": train[1]})
            if not math.isfinite(train[0]):
                self.status = "diverged"
        for split, (x, y) in (("valid", self.splits.valid), ("test", self.splits.test)):
            loss, error = evaluate(model, x, y)
            rows.append({"step": step, "epoch": epoch, "split": split, "loss": loss, "error": error})
        self.metrics.extend(rows)
        log.info("step %d (epoch %.2f): %s", step, epoch,
                 ", ".join(f"{r['split']} loss {r['loss']:.4f} error {r['error']:.4f}" for r in rows))
        if self.status == "diverged":  # the statistics of a network full of NaN/inf say nothing more
            self.sink.log_measurement(step, rows, None, None)
            return
        device = next(model.parameters()).device
        stats, histograms = self.record_probe(step, model, self.probe_x.to(device), self.probe_y.to(device))
        self.sink.log_measurement(step, rows, stats, histograms)
        if step in self.jacobian_steps or "last" in self.jacobian_steps and step == max(self.steps):
            self.record_jacobian(step, model, self.probe_x[: self.jacobian_examples].to(device))
            self.record_signal(step, model, self.probe_x.to(device))

    def record_probe(self, step: int, model: MLP, x: torch.Tensor, y: torch.Tensor
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Probe every layer; keep the rows and return this step's statistics and histograms."""
        result = probe(model, x, y, self.bins)
        layers = np.arange(1, model.depth + 2)
        stats, histograms = [], []
        for quantity in QUANTITIES:
            frame = pd.DataFrame(result.stats[quantity].double().numpy(), columns=list(STAT_COLUMNS))
            frame.insert(0, "quantity", quantity)
            frame.insert(0, "layer", layers)
            frame.insert(0, "step", step)
            stats.append(frame)
            counts, edges = result.counts[quantity].numpy(), result.edges[quantity].double().numpy()
            n_layers, bins = counts.shape
            histograms.append(pd.DataFrame({
                "step": step, "layer": np.repeat(layers, bins), "quantity": quantity,
                "bin_left": edges[:, :-1].reshape(-1), "bin_right": edges[:, 1:].reshape(-1),
                "count": counts.reshape(-1).astype(np.int64),
            }))
        self.stats.extend(stats)
        self.histograms.extend(histograms)
        return pd.concat(stats, ignore_index=True), pd.concat(histograms, ignore_index=True)

    def record_jacobian(self, step: int, model: MLP, x: torch.Tensor) -> None:
        sv = jacobian_singular_values(model, x).cpu().double().numpy()
        frame = pd.DataFrame(sv, columns=["sv_mean", "sv_min", "sv_max"])
        frame.insert(0, "layer", np.arange(1, len(sv) + 1))
        frame.insert(0, "step", step)
        self.jacobians.append(frame)

    def record_signal(self, step: int, model: MLP, x: torch.Tensor) -> None:
        frame = pd.DataFrame(signal_propagation(model, x))
        frame.insert(0, "step", step)
        self.signals.append(frame)

    # -- checkpoints: the measurements taken so far, as plain lists (a checkpoint loads with weights_only) --
    def state_dict(self) -> dict:
        tables = self.tables()
        return {"tables": {name: frame.to_dict("list") for name, frame in tables.items()},
                "status": self.status, "last_measured": self.last_measured}

    def load_state_dict(self, state: dict) -> None:
        tables = {name: pd.DataFrame(columns) for name, columns in state["tables"].items()}
        # no empty, untyped frames
        kept = {name: [frame] if len(frame) else [] for name, frame in tables.items()}
        self.metrics = tables["metrics"].to_dict("records")
        self.stats, self.histograms, self.jacobians = (kept["layer_stats"], kept["histograms"],
                                                       kept["jacobian"])
        self.signals = kept["signal"]
        self.status, self.last_measured = state["status"], state["last_measured"]

    # -- tables ----------------------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """The run's tables per the data contract, sorted so that identical runs give identical files."""
        def concat(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
            return (pd.concat(frames, ignore_index=True) if frames
                    else pd.DataFrame(columns=list(RUN_TABLES[table])))

        split_order = {"train": 0, "valid": 1, "test": 2}
        metrics = pd.DataFrame(self.metrics, columns=list(RUN_TABLES["metrics"]))
        metrics = metrics.sort_values(["step", "split"],
                                      key=lambda c: c.map(split_order) if c.name == "split" else c)
        return {
            "metrics": metrics.reset_index(drop=True),
            "layer_stats": concat(self.stats, "layer_stats"),
            "histograms": concat(self.histograms, "histograms"),
            "jacobian": concat(self.jacobians, "jacobian"),
            "signal": concat(self.signals, "signal"),
        }


class PackMeasurements(L.Callback):
    """Measures each run of a pack (one `Measurements` per run) at their shared schedule."""

    def __init__(self, runs: list[Measurements]) -> None:
        self.runs = runs
        self.steps = runs[0].steps

    def live(self) -> list[int]:
        return [k for k, run in enumerate(self.runs) if run.status != "diverged"]

    def measure(self, step: int, module: InitStudyModule, runs: list[int] | None = None) -> None:
        for k in self.live() if runs is None else runs:
            self.runs[k].measure(step, module.network(k), module.take_train_metrics(k))
            if self.runs[k].status == "diverged":
                module.freeze(k)

    def on_train_start(self, trainer: L.Trainer, module: InitStudyModule) -> None:
        if trainer.global_step == 0:  # a resumed pack measured its start before it was interrupted
            self.measure(0, module)
        for k, run in enumerate(self.runs):  # a resumed pack's diverged runs stay frozen
            if run.status == "diverged":
                module.freeze(k)

    def on_train_batch_end(self, trainer: L.Trainer, module: InitStudyModule, outputs, batch,
                           batch_idx) -> None:
        step = trainer.global_step
        if step in self.steps:
            self.measure_diverged(module)
            self.measure(step, module)
        if not self.live():
            trainer.should_stop = True

    def on_train_end(self, trainer: L.Trainer, module: InitStudyModule) -> None:
        self.measure_diverged(module)
        self.measure(trainer.global_step, module,
                     [k for k in self.live() if self.runs[k].last_measured != trainer.global_step])

    def measure_diverged(self, module: InitStudyModule) -> None:
        """Measure, at the step it diverged, each run the step has frozen since the last read (one
        host read)."""
        diverged_at = module.diverged_at().tolist()
        for k in self.live():
            if diverged_at[k] >= 0:
                self.runs[k].status = "diverged"
                self.measure(diverged_at[k], module, [k])

    # -- checkpoints: every run's measurements so far ---------------------------------------------------
    def state_dict(self) -> dict:
        return {"runs": [run.state_dict() for run in self.runs]}

    def load_state_dict(self, state: dict) -> None:
        for run, saved in zip(self.runs, state["runs"], strict=True):
            run.load_state_dict(saved)
