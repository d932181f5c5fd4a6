"""Collect a study: every run's tables concatenated, one column per run axis, plus summary.csv.

    python -m fanin.collect --runs-dir results/<study>/runs --out results/<study>/tables RUN_ID ...

Figures read only these tables. The axis columns come from each run's folder (its identity), so a table
row always says which run it belongs to: dataset, activation, init, depth, width, seed (and any other axis).
summary.csv also gives every run's learning rate (`lr`, an axis or the run's optim.lr) and whether it is
the one the validation set selected for its configuration (`selected`, fanin.selection).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import yaml

from fanin.contract import OPTIONAL_TABLES, TABLES
from fanin.io import atomic_write, write_parquet
from fanin.selection import LR, select_learning_rates
from fanin.studies import parse_run_id

# Column names in the study tables for the axes (a run's "data" axis is the table's "dataset").
AXIS_COLUMNS = {"data": "dataset"}
# a configuration = a run up to its seed
CONFIG_AXES = ("dataset", "activation", "init", "depth", "width", LR)


def axis_value(text: str) -> int | float | str:
    """A folder's axis value back as the study wrote it: 5 -> int, 1.5 -> float, tanh -> str."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def axis_columns(run: str) -> dict:
    return {AXIS_COLUMNS.get(k, k): axis_value(v) for k, v in parse_run_id(run).items()}


def collect_table(runs_dir: Path, runs: list[str], table: str) -> pd.DataFrame:
    frames = []
    for run in runs:
        frame = pd.read_parquet(runs_dir / run / f"{table}.parquet")
        for i, (key, value) in enumerate(axis_columns(run).items()):
            frame.insert(i, key, value)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def run_summaries(runs_dir: Path, runs: list[str]) -> pd.DataFrame:
    rows = []
    for run in runs:
        summary = json.loads((runs_dir / run / "summary.json").read_text())
        axes = axis_columns(run)
        if LR not in axes:  # a fixed learning rate is still part of what Table 1 reports
            axes[LR] = float(yaml.safe_load((runs_dir / run / "config.yaml").read_text())["optim"]["lr"])
        rows.append({**axes, "run": run, **summary})
    frame = pd.DataFrame(rows)
    frame["selected"] = select_learning_rates(frame, config_keys(frame))
    return frame


def config_keys(runs: pd.DataFrame) -> list[str]:
    return [c for c in runs.columns if c not in ("run", "seed") and c in set(CONFIG_AXES) | extra_axes(runs)]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per configuration (all axes but the seed): final test error mean and std over seeds,
    steps, divergences."""
    grouped = runs.groupby(config_keys(runs), sort=True, dropna=False)
    summary = grouped.agg(
        seeds=("seed", "count"),
        test_error_mean=("final_test_error", "mean"),
        test_error_std=("final_test_error", "std"),
        valid_error_mean=("final_valid_error", "mean"),
        steps=("steps", "max"),
        diverged=("status", lambda s: int((s == "diverged").sum())),
        selected=("selected", "all"),
    ).reset_index()
    summary.insert(0, "level", "configuration")
    return summary


def extra_axes(runs: pd.DataFrame) -> set[str]:
    known = set(CONFIG_AXES) | {"seed", "run", "status", "steps", "epochs", "final_train_loss",
                                "final_valid_error", "final_test_error", "wall_time_s", "selected"}
    return {c for c in runs.columns if c not in known}


def collect(runs_dir: str | Path, runs: list[str], out: str | Path) -> None:
    runs_dir, out = Path(runs_dir), Path(out)
    for table in TABLES:
        write_parquet(collect_table(runs_dir, runs, table), out / f"{table}.parquet")
    for table, columns in OPTIONAL_TABLES.items():
        # always written (empty when no run has it), so the pipeline can declare it as an output
        having = [run for run in runs if (runs_dir / run / f"{table}.parquet").exists()]
        frame = collect_table(runs_dir, having, table) if having else pd.DataFrame(columns=list(columns))
        write_parquet(frame, out / f"{table}.parquet")
    per_run = run_summaries(runs_dir, runs)
    per_run.insert(0, "level", "run")
    combined = pd.concat([summarize(per_run.drop(columns="level")), per_run], ignore_index=True)
    atomic_write(out / "summary.csv", lambda tmp: combined.to_csv(tmp, index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description="Concatenate a study's run tables into its study tables.")
    parser.add_argument("--runs-dir", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("runs", nargs="+", help="run folders relative to --runs-dir")
    args = parser.parse_args()
    collect(args.runs_dir, args.runs, args.out)


if __name__ == "__main__":
    main()
