"""The ablation: every registered init x activation x depth, as two heat maps (rows = init, columns =
activation x depth).

- `ablation_heatmap_error`: the final test error, mean over seeds; diverged runs are marked 'div'.
- `ablation_heatmap_gradient_ratio`: at initialization, log10 of std(dC/ds) at layer 1 over std(dC/ds) at
  the last hidden layer: < 0 where back-propagated gradients vanish toward the input, > 0 where they explode.

Both work on any study's tables: whatever varies besides init, activation and depth (seed, data,
width, extra axes such as init.scale) is averaged over, and the title says so. A statistic that is not
finite (e.g. zero weights give zero gradients, and log10(0/0)) is an 'n/a' cell, never a crash.
"""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from fanin.figures import register
from fanin.figures.common import StudyTables, init_label, last_rows, require, run_axes

ROW = "init"
COLUMNS = ("activation", "depth")
ACTIVATION_ORDER = ("tanh", "sigmoid", "relu", "softsign", "leaky_relu", "prelu", "linear")
DIVERGED = "div"
NOT_AVAILABLE = "n/a"
COLOR_LIMIT = 6.0  # decades: the gradient-ratio colours span at most +-COLOR_LIMIT


# --- runs and their axes ------------------------------------------------------------------------------


def averaged_axes(frame: pd.DataFrame, table: str) -> dict[str, list]:
    """The run axes other than init/activation/depth that take more than one value: what a cell averages."""
    out = {}
    for axis in run_axes(frame, table):
        if axis in (ROW, *COLUMNS):
            continue
        values = sorted(frame[axis].dropna().unique(), key=str)
        if len(values) > 1:
            out[axis] = values
    return out


def averaged_note(averaged: dict[str, list]) -> str:
    if not averaged:
        return "one run per cell"
    parts = []
    for axis, values in averaged.items():
        shown = ", ".join(map(str, values[:4])) + (", …" if len(values) > 4 else "")
        parts.append(f"{axis} ({shown})")
    return "mean over " + "; ".join(parts)


def final_test_errors(tables: StudyTables) -> pd.DataFrame:
    """One row per run: its axes, the test error of its last measurement, and whether it diverged
    (a non-finite training loss: the run's own divergence criterion, read from the metrics table)."""
    metrics = require(tables.metrics, "metrics")
    axes = run_axes(metrics, "metrics")
    bad = metrics.assign(diverged=(metrics["split"] == "train") & ~np.isfinite(metrics["loss"].astype(float)))
    runs = bad.groupby(axes, sort=False, dropna=False)["diverged"].any().reset_index()
    final = last_rows(metrics[metrics["split"] == "test"], "metrics")
    final = final[[*axes, "error"]].rename(columns={"error": "final_test_error"})
    return runs.merge(final, on=axes, how="left")[[*axes, "final_test_error", "diverged"]]


def gradient_ratios(tables: StudyTables) -> pd.DataFrame:
    """One row per run: log10(std of dC/ds at layer 1 / std at layer `depth`, the last hidden layer) at
    step 0, NaN where that is not finite (zero or non-finite gradient statistics)."""
    stats = tables.layer_stats
    stats = require(stats[(stats["step"] == 0) & (stats["quantity"] == "backprop")],
                    "step-0 back-propagated gradient statistics (layer_stats, quantity backprop)")
    axes = run_axes(stats, "layer_stats")
    rows = []
    for key, run in stats.groupby(axes, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        point = dict(zip(axes, key, strict=True))
        std = run.set_index("layer")["std"]
        first, last = std.get(1, math.nan), std.get(int(point["depth"]), math.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log10(np.float64(first) / np.float64(last))
        rows.append({**point, "std_layer1": float(first), "std_last_hidden": float(last),
                     "log10_ratio": float(ratio) if np.isfinite(ratio) else math.nan})
    return pd.DataFrame(rows)


# --- cells --------------------------------------------------------------------------------------------


def _column_order(pairs) -> list[tuple[str, int]]:
    order = list(ACTIVATION_ORDER)
    return sorted(set(pairs), key=lambda p: (order.index(p[0]) if p[0] in order else len(order), p[0], p[1]))


def _cells(per_run: pd.DataFrame):
    return per_run.groupby([ROW, *COLUMNS], sort=False)


def error_matrix(tables: StudyTables) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(mean final test error over the runs that did not diverge, diverged-run counts, run counts), each
    indexed by init and with (activation, depth) columns. A cell whose runs all diverged has a NaN error."""
    per_run = final_test_errors(tables)
    per_run["kept_error"] = per_run["final_test_error"].where(~per_run["diverged"])
    grouped = _cells(per_run).agg(error=("kept_error", "mean"), diverged=("diverged", "sum"),
                                  runs=("diverged", "size"))
    return tuple(_pivot(grouped[c]) for c in ("error", "diverged", "runs"))


def gradient_ratio_matrix(tables: StudyTables) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(mean log10 gradient ratio over the runs where it is finite, count of runs where it is not, run
    counts), indexed by init with (activation, depth) columns; NaN where no run gives a finite ratio."""
    per_run = gradient_ratios(tables)
    per_run["missing"] = ~np.isfinite(per_run["log10_ratio"])
    grouped = _cells(per_run).agg(ratio=("log10_ratio", "mean"), missing=("missing", "sum"),
                                  runs=("missing", "size"))
    return tuple(_pivot(grouped[c]) for c in ("ratio", "missing", "runs"))


def _pivot(series: pd.Series) -> pd.DataFrame:
    frame = series.unstack(list(COLUMNS))
    # the inits in the order the study lists them (the run table's order, which the tables and an unsorted
    # groupby keep)
    rows = list(dict.fromkeys(series.index.get_level_values(ROW)))
    columns = _column_order(frame.columns)
    frame = frame.reindex(index=rows, columns=pd.MultiIndex.from_tuples(columns, names=list(COLUMNS)))
    return frame


# --- drawing ------------------------------------------------------------------------------------------


def _heatmap(values: pd.DataFrame, labels: np.ndarray, title: str, cbar_label: str, extend: str = "neither",
             **heatmap_kwargs) -> plt.Figure:
    """sns.heatmap of `values` (init rows, (activation, depth) columns), each cell annotated with its label;
    a cell with no finite value shows the background and its label, if any ('div', 'n/a'), in colour."""
    n_rows, n_cols = values.shape
    width = max(6.0, 3.2 + 0.78 * n_cols)
    fig, ax = plt.subplots(figsize=(width, 2.2 + 0.36 * n_rows))
    ax.set_facecolor("0.92")  # empty and n/a cells show the background
    ax.grid(False)
    data = values.to_numpy(float)
    empty = ~np.isfinite(data)
    sns.heatmap(data, mask=empty, ax=ax, annot=labels, fmt="", annot_kws={"fontsize": 7}, linewidths=0.5,
                linecolor="white", cbar_kws={"label": cbar_label, "shrink": 0.8, "extend": extend},
                yticklabels=[init_label(name) for name in values.index],
                xticklabels=[f"{act}\n{depth}" for act, depth in values.columns], **heatmap_kwargs)
    for i, j in zip(*np.nonzero(empty & (labels != "")), strict=True):  # seaborn annotates the others
        ax.text(j + 0.5, i + 0.5, labels[i, j], ha="center", va="center", fontsize=7,
                color="tab:red" if labels[i, j].startswith(DIVERGED) else "0.35")
    ax.tick_params(axis="both", rotation=0)
    ax.set(xlabel="activation / depth (hidden layers)", ylabel="init")
    activations = [act for act, _ in values.columns]
    for j in range(1, n_cols):
        if activations[j] != activations[j - 1]:
            ax.axvline(j, color="0.2", lw=1.2)
    chars = int(width * 15)
    fig.suptitle("\n".join(textwrap.fill(line, chars) for line in title.split("\n")), fontsize=9)
    fig.tight_layout()
    return fig


def _cell_labels(label, *matrices: pd.DataFrame) -> np.ndarray:
    """`label(runs, k, value)` per cell of the (runs, count, value) matrices: the text each cell shows."""
    with np.errstate(invalid="ignore"):  # NaN: a cell without runs or values
        return np.vectorize(label, otypes=[object])(*(m.to_numpy(float) for m in matrices))


def _error_label(n: float, k: float, value: float) -> str:
    if not n > 0:
        return ""  # no run in this cell
    if k == n:
        return DIVERGED
    if k > 0:
        return f"{value:.2f}\n({k:.0f}/{n:.0f} {DIVERGED})"
    return f"{value:.2f}" if np.isfinite(value) else NOT_AVAILABLE


def _ratio_label(n: float, k: float, value: float) -> str:
    if not n > 0:
        return ""
    if not np.isfinite(value):
        return NOT_AVAILABLE
    return f"{value:+.1f}" + (f"\n({k:.0f} n/a)" if k > 0 else "")


@register("ablation_heatmap_error")
def draw_error(tables: StudyTables) -> plt.Figure:
    """Final test error per init x (activation, depth); diverged runs marked."""
    error, diverged, runs = error_matrix(tables)
    note = averaged_note(averaged_axes(tables.metrics, "metrics"))
    title = (f"Final test error per init × activation × depth ({note})\n"
             f"'{DIVERGED}': every run diverged (non-finite training loss); '(k/n {DIVERGED})': k of n runs "
             "diverged, mean over the others; blank: no run")
    return _heatmap(error, _cell_labels(_error_label, runs, diverged, error), title, "final test error",
                    cmap="mako_r", vmin=0.0, vmax=1.0)


@register("ablation_heatmap_gradient_ratio")
def draw_gradient_ratio(tables: StudyTables) -> plt.Figure:
    """log10 std(dC/ds) layer 1 / last hidden layer at init: vanishing (< 0) or exploding (> 0) gradients."""
    ratio, missing, runs = gradient_ratio_matrix(tables)
    finite = ratio.to_numpy(float)
    finite = finite[np.isfinite(finite)]
    largest = float(np.abs(finite).max()) if len(finite) else 1.0
    limit = min(max(1.0, largest), COLOR_LIMIT)  # beyond it the colour saturates; the cell text is exact
    note = averaged_note(averaged_axes(tables.layer_stats, "layer_stats"))
    title = ("Back-propagated gradients at init: log₁₀ std(∂C/∂s) at layer 1 ÷ at the last hidden layer "
             f"({note})\n"
             "< 0: vanishing toward the input, > 0: exploding; "
             f"'{NOT_AVAILABLE}': not finite (zero gradients give 0/0; "
             "a gradient below float32's range gives 0/x); blank: no run")
    return _heatmap(ratio, _cell_labels(_ratio_label, runs, missing, ratio), title, "log₁₀ std ratio",
                    cmap="RdBu_r", center=0.0, vmin=-limit, vmax=limit,
                    extend="both" if largest > limit else "neither")
