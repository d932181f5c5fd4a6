"""Where a run's measurements go besides its parquet tables (which are always written): W&B, or nowhere.

A sink receives every measurement as it is taken: the metrics rows, the per-layer statistics and the
histograms of one probe step. `WandbSink` imports wandb only when used; with WANDB_MODE=disabled the run
gets the null sink and pays nothing, not even the import.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from fanin.config import group_arguments
from fanin.contract import STAT_COLUMNS


class NullSink:
    run_id: str | None = None  # the logger's own id of the run, kept in checkpoints to resume logging to it

    def log_measurement(self, step: int, metrics: list[dict], stats: pd.DataFrame | None,
                        histograms: pd.DataFrame | None) -> None:
        pass

    def finish(self, summary: dict) -> None:
        pass


class WandbSink(NullSink):
    """One W&B run per fanin run: project from the config, group = study, name = the run's id, config = the
    resolved run config, tags = its axes. Offline unless WANDB_MODE says otherwise (`wandb sync` uploads)."""

    def __init__(self, *, project: str, entity: str | None, mode: str, group: str, name: str, tags: list[str],
                 config: dict, out_dir: Path, run_id: str | None = None) -> None:
        import wandb

        self.wandb = wandb
        self.run = wandb.init(project=project, entity=entity, group=group, name=name, tags=tags,
                              config=config, dir=str(out_dir), mode=os.environ.get("WANDB_MODE") or mode,
                              reinit="create_new", id=run_id, resume="allow" if run_id else None)
        self.run_id = self.run.id

    def log_measurement(self, step, metrics, stats, histograms) -> None:
        record: dict = {}
        for row in metrics:
            record[f"{row['split']}/loss"] = row["loss"]
            record[f"{row['split']}/error"] = row["error"]
            record["epoch"] = row["epoch"]
        if stats is not None:
            for row in stats.itertuples(index=False):
                for stat in STAT_COLUMNS:
                    value = getattr(row, stat)
                    if np.isfinite(value):
                        record[f"layers/{row.quantity}/{stat}/layer_{row.layer}"] = value
        if histograms is not None:
            for (quantity, layer), rows in histograms.groupby(["quantity", "layer"]):
                edges = np.append(rows.bin_left.to_numpy(), rows.bin_right.to_numpy()[-1])
                record[f"histograms/{quantity}/layer_{layer}"] = self.wandb.Histogram(
                    np_histogram=(rows["count"].to_numpy(), edges))
        self.run.log(record, step=step)

    def finish(self, summary: dict) -> None:
        for key, value in summary.items():
            self.run.summary[key] = value
        self.run.finish()


# WandbSink's arguments that are the run's, not the logger group's.
RUN_ARGUMENTS = ("group", "name", "tags", "config", "out_dir", "run_id")


def wandb_arguments(config: dict) -> dict:
    """The logger group (conf/logger/wandb.yaml) as WandbSink's keyword arguments: project, entity and mode,
    all of them and no other key; its `name` says which logger, not the W&B run's name."""
    return group_arguments("logger", config["logger"], WandbSink, passed=RUN_ARGUMENTS, other=("name",),
                           where="logger=wandb")


def make_sink(config: dict, out_dir: Path, run_id: str | None = None) -> NullSink:
    """The run's sink; `run_id` continues the logger's run of an interrupted attempt."""
    logger = config["logger"]
    if logger["name"] == "none" or os.environ.get("WANDB_MODE") == "disabled":
        return NullSink()
    if logger["name"] != "wandb":
        raise ValueError(f"unknown logger {logger['name']!r}; valid: none, wandb")
    # The run's name is its id (conf/train.yaml's run_name: the pipeline passes the run table's), and its
    # tags the axes the id spells (data=digits, activation=tanh, ...), so W&B groups and filters by axis.
    name = config["run_name"]
    return WandbSink(**wandb_arguments(config), group=config["study_name"], name=name,
                     tags=name.split("/"), config=config, out_dir=out_dir,
                     run_id=run_id)
