"""What makes two runs the same run, and when a run folder holds the run the run table asks for.

A run is its config; some keys say only where and how it executes and never change its numbers. Two
questions use them: may a checkpoint be resumed (fanin.train.checkpoint: not if anything that changes
the results differs), and is a finished folder the run asked for now (the pipeline: not if any override
but placement differs, so that asking for W&B logs, `logger=wandb`, trains the runs again with them).
Light on purpose (no torch): the Snakefile asks `is_complete` of every run when it builds the DAG.
"""

from __future__ import annotations

import json
from pathlib import Path

from fanin.contract import TABLES

# Where a run executes: threads, device, checkpoint folder and period, the study it is filed under, its name.
PLACEMENT_KEYS = frozenset({"threads", "study_name", "run_name", "trainer.accelerator", "trainer.devices",
                            "trainer.checkpoint_dir", "trainer.checkpoint_every_s",
                            "trainer.checkpoint_every_steps"})
# ... and where it logs besides its tables: the results are the same under any logger.
EXECUTION_KEYS = PLACEMENT_KEYS | {"logger"}


def results_config(config: dict) -> dict:
    """`config` without EXECUTION_KEYS (dotted keys reach one level down): what determines the results."""
    kept = {k: v for k, v in config.items() if k not in EXECUTION_KEYS}
    for key in EXECUTION_KEYS:
        group, _, sub = key.partition(".")
        if sub and isinstance(kept.get(group), dict):
            kept[group] = {k: v for k, v in kept[group].items() if k != sub}
    return kept


def override_key(override: str) -> str:
    return override.lstrip("+~").partition("=")[0]


def identity_overrides(overrides: list[str]) -> list[str]:
    """The overrides that say which run this is (sorted): all but placement and Hydra's own."""
    return sorted(o for o in overrides
                  if override_key(o) not in PLACEMENT_KEYS and not override_key(o).startswith("hydra."))


def is_complete(folder: str | Path, overrides: list[str]) -> bool:
    """True when `folder` holds a finished run (summary.json, written last) trained with these overrides
    (provenance.json records them), so a study edit that changes a run's overrides trains it again, and
    every table of the data contract (a run from before a table was added to it trains again)."""
    folder = Path(folder)
    if not (folder / "summary.json").is_file():
        return False
    if not all((folder / f"{table}.parquet").is_file() for table in TABLES):
        return False
    try:
        recorded = json.loads((folder / "provenance.json").read_text()).get("overrides")
    except (OSError, ValueError, AttributeError):
        return False
    return recorded == identity_overrides(overrides)
