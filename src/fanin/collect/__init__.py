"""The collection stage: a study's run tables concatenated into its study tables, which figures read.

Every run's tables concatenated, one column per run axis, plus summary.csv:

    python -m fanin.collect --runs-dir results/quick/<study>/runs \
        --run-table results/quick/<study>/run_table.json --out results/quick/<study>/tables

Figures read only these tables. The axis columns and the `block` column come from the run table
(fanin.plan.studies.run_table, written when the DAG is built): a table row always says which run it belongs
to, its grid block and its axis values as the study wrote them, each column named as its axis: data,
activation, init, depth, width, seed (and any other axis). summary.csv groups runs into configurations by
the run table's axes alone (all but the seed, with the block and the learning rate), so a new key in
summary.json is a new column, never a new configuration. It also gives every run's learning rate (`lr`, an
axis or the run's optim.lr) and whether it is the one the validation set selected for its configuration
(`selected`, fanin.collect.selection).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from fanin.collect.selection import LR, select_learning_rates
from fanin.contract import OPTIONAL_TABLES, TABLES
from fanin.io import atomic_write, write_parquet

BLOCK = "block"


def axis_columns(row: dict) -> dict:
    """A run table row's axis values, each column named as its axis, then its block."""
    axes = {k: v for k, v in row.items() if k not in ("run", BLOCK)}
    return {**axes, BLOCK: row[BLOCK]}


def collect_table(runs_dir: Path, rows: list[dict], table: str) -> pd.DataFrame:
    frames = []
    for row in rows:
        frame = pd.read_parquet(runs_dir / row["run"] / f"{table}.parquet")
        for i, (key, value) in enumerate(axis_columns(row).items()):
            frame.insert(i, key, value)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def run_summaries(runs_dir: Path, rows: list[dict]) -> tuple[pd.DataFrame, list[str]]:
    """Every run's summary.json beside its axes; and the configuration keys: the axes but the seed, the
    block, and the learning rate (an axis, or each run's optim.lr)."""
    records = []
    for row in rows:
        summary = json.loads((runs_dir / row["run"] / "summary.json").read_text())
        axes = axis_columns(row)
        if LR not in axes:  # a fixed learning rate is still part of what Table 1 reports
            config = yaml.safe_load((runs_dir / row["run"] / "config.yaml").read_text())
            axes[LR] = float(config["optim"]["lr"])
        records.append({**axes, "run": row["run"], **summary})
    frame = pd.DataFrame(records)
    keys = list(dict.fromkeys(k for row in rows for k in axis_columns(row) if k != "seed"))
    keys += [LR] if LR not in keys else []
    frame["selected"] = select_learning_rates(frame, keys)
    return frame, keys


def summarize(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per configuration (`keys`): final test error mean and std over seeds, steps, divergences."""
    grouped = runs.groupby(keys, sort=True, dropna=False)
    summary = grouped.agg(
        seeds=("seed", "count"),
        test_error_mean=("final_test_error", "mean"),
        test_error_std=("final_test_error", "std"),
        valid_error_mean=("final_valid_error", "mean"),
        steps=("steps", "max"),
        diverged=("status", lambda s: int((s == "diverged").sum())),
        selected=("selected", "all"),
        hidden_n_var_w=("hidden_n_var_w", "first"),  # the init's theory, the same for every seed
        xi_c=("xi_c", "first"),
    ).reset_index()
    summary.insert(0, "level", "configuration")
    return summary


def read_run_table(path: str | Path) -> list[dict]:
    rows = json.loads(Path(path).read_text())
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) and {"run", BLOCK} <= set(r)
                                                         for r in rows):
        raise ValueError(f"{path} is not a run table; valid: a non-empty JSON list of rows with 'run' and "
                         f"'{BLOCK}' (fanin.plan.studies.run_table)")
    return rows


def collect(runs_dir: str | Path, rows: list[dict], out: str | Path) -> None:
    """Write the study tables of the runs in the run table `rows` (fanin.plan.studies.run_table) to `out`."""
    runs_dir, out = Path(runs_dir), Path(out)
    for table in TABLES:
        write_parquet(collect_table(runs_dir, rows, table), out / f"{table}.parquet")
    for table, columns in OPTIONAL_TABLES.items():
        # always written (empty when no run has it), so the pipeline can declare it as an output
        having = [row for row in rows if (runs_dir / row["run"] / f"{table}.parquet").exists()]
        frame = collect_table(runs_dir, having, table) if having else pd.DataFrame(columns=list(columns))
        write_parquet(frame, out / f"{table}.parquet")
    per_run, keys = run_summaries(runs_dir, rows)
    per_run.insert(0, "level", "run")
    combined = pd.concat([summarize(per_run.drop(columns="level"), keys), per_run], ignore_index=True)
    atomic_write(out / "summary.csv", lambda tmp: combined.to_csv(tmp, index=False))
