"""He et al. 2015, Figs 2-3 and the variance argument behind them, for deep ReLU MLPs.

He et al. compare the "Xavier" init N(0, 1/n) (`xavier_he_baseline`) with theirs, N(0, 2/n) (`he_normal`).
For ReLU, Var(s^l) = (n Var(W) / 2) Var(s^{l-1}) (strictly: the second moment E[s^2], which is what the
rectifier halves), so Xavier halves the signal at every layer (2^-29 over a 30-layer net) and He keeps it.
At 22 layers both converge and He starts reducing the error earlier (Fig 2); at 30 layers Xavier stalls
and He converges (Fig 3).

The numbers that make each effect true are small pure functions of the study tables (`final_train_error`,
`steps_to_error`, `second_moment_log2_slope`, `theory_log2_slope`); the figures print them in their
annotations, and the tests assert them.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fanin.contract import RUN_TABLES
from fanin.figures import register
from fanin.figures.common import StudyTables, init_label, require, select

INITS = ("xavier_he_baseline", "he_normal")
ACTIVATION = "relu"
COLORS = {"xavier_he_baseline": "tab:blue", "he_normal": "tab:red"}  # as the paper: ours red, Xavier blue
SHORT = {"xavier_he_baseline": "Xavier", "he_normal": "He"}
ERROR_THRESHOLD = 0.5  # "starts reducing the error": the first measured step with training error below this


# --- selections ---------------------------------------------------------------------------------------


def run_axes(frame: pd.DataFrame, table: str) -> list[str]:
    """The run-axis columns of a study table: every column that is not one of the run's own columns."""
    return [c for c in frame.columns if c not in RUN_TABLES[table]]


def _runs(frame: pd.DataFrame, depth: int, table: str) -> pd.DataFrame:
    rows = select(frame, activation=ACTIVATION, depth=depth, init=list(INITS))
    return require(rows, f"{table} of {depth}-layer ReLU runs with init in {', '.join(INITS)}")


def _inits(frame: pd.DataFrame) -> list[str]:
    present = set(frame["init"])
    return [name for name in INITS if name in present]


def _width(frame: pd.DataFrame, width: int | None) -> int:
    """The width to use: the given one, else the largest in the selection (a study has one per depth)."""
    widths = sorted(int(w) for w in frame["width"].unique())
    if width is None:
        return widths[-1]
    if width not in widths:
        raise ValueError(f"no runs of width {width}; the selection has widths {widths}")
    return width


# --- the numbers behind Figs 2-3 ----------------------------------------------------------------------


def error_curves(tables: StudyTables, depth: int) -> pd.DataFrame:
    """Error vs training per (init, split, step): mean and std over seeds (and any other varying axis).

    Columns: init, split, step, epoch, error_mean, error_std, runs.
    """
    rows = _runs(tables.metrics, depth, "metrics")
    rows = rows[rows["split"].isin(["train", "test"])]
    curves = rows.groupby(["init", "split", "step"], sort=True).agg(
        epoch=("epoch", "mean"), error_mean=("error", "mean"), error_std=("error", "std"),
        runs=("error", "size"))
    return curves.reset_index()


def final_train_error(tables: StudyTables, depth: int) -> dict[str, float]:
    """Per init: the training error of each run's last measurement (the mean over the minibatches since
    the previous one), averaged over seeds."""
    rows = _runs(tables.metrics, depth, "metrics")
    train = require(rows[rows["split"] == "train"], f"training-error rows of the {depth}-layer runs")
    axes = run_axes(train, "metrics")
    last = train.sort_values("step").groupby(axes, sort=False).tail(1)
    return {name: float(last.loc[last["init"] == name, "error"].mean()) for name in _inits(last)}


def final_test_error(tables: StudyTables, depth: int) -> dict[str, float]:
    """Per init: the test error at each run's last measurement, averaged over seeds."""
    rows = _runs(tables.metrics, depth, "metrics")
    test = require(rows[rows["split"] == "test"], f"test-error rows of the {depth}-layer runs")
    last = test.sort_values("step").groupby(run_axes(test, "metrics"), sort=False).tail(1)
    return {name: float(last.loc[last["init"] == name, "error"].mean()) for name in _inits(last)}


def steps_to_error(tables: StudyTables, depth: int, threshold: float = ERROR_THRESHOLD,
                   split: str = "train") -> dict[str, float]:
    """Per init: the first measured step from which the seed-mean `split` error stays at or below
    `threshold` at every later measurement (math.inf if it never does): how early each init starts
    reducing the error. "Stays" keeps the noise of the first few minibatches (a training row at step 2
    is the error on 10 examples) from counting as progress."""
    curves = error_curves(tables, depth)
    curves = curves[curves["split"] == split]
    result = {}
    for name in _inits(curves):
        curve = curves[curves["init"] == name].sort_values("step")
        above = curve["error_mean"].to_numpy() > threshold
        # the measurements after the last one above the threshold
        last_above = int(np.flatnonzero(above)[-1]) if above.any() else -1
        steps = curve["step"].to_numpy()
        result[name] = float(steps[last_above + 1]) if last_above + 1 < len(steps) else math.inf
    return result


def _epoch_of_step(tables: StudyTables, depth: int, step: float) -> float:
    if not math.isfinite(step):
        return math.inf
    rows = _runs(tables.metrics, depth, "metrics")
    return float(rows.loc[rows["step"] == step, "epoch"].mean())


# --- the numbers behind the variance argument ---------------------------------------------------------


def second_moment_profile(tables: StudyTables, depth: int, width: int | None = None) -> pd.DataFrame:
    """At initialization (step 0), the measured second moment E[s^2] = mean^2 + std^2 of every layer's
    pre-activations, per init and layer: log2 of it averaged over seeds (a geometric mean), and E[s^2].

    Columns: init, layer, log2_m2, log2_m2_std, m2, runs. Layers 1..depth+1 (depth+1 = the logits).
    """
    rows = _runs(tables.layer_stats, depth, "layer_stats")
    rows = rows[(rows["step"] == 0) & (rows["quantity"] == "preact")]
    rows = require(rows, f"step-0 pre-activation statistics of the {depth}-layer runs")
    rows = rows[rows["width"] == _width(rows, width)]
    with np.errstate(divide="ignore", invalid="ignore"):
        log2_m2 = np.log2(rows["mean"].to_numpy(float) ** 2 + rows["std"].to_numpy(float) ** 2)
    rows = rows.assign(log2_m2=log2_m2)
    profile = rows.groupby(["init", "layer"], sort=True).agg(
        log2_m2=("log2_m2", "mean"), log2_m2_std=("log2_m2", "std"), runs=("log2_m2", "size")).reset_index()
    profile["m2"] = np.exp2(profile["log2_m2"])
    return profile


def second_moment_log2_slope(tables: StudyTables, depth: int, width: int | None = None) -> dict[str, float]:
    """Per init: the least-squares slope of log2 E[s^l^2] against the layer l at initialization, over all
    layers 1..depth+1: the measured log2 of the per-layer factor (theory: `theory_log2_slope`)."""
    profile = second_moment_profile(tables, depth, width)
    result = {}
    for name in _inits(profile):
        curve = profile[(profile["init"] == name) & np.isfinite(profile["log2_m2"])]
        fit = np.polyfit(curve["layer"], curve["log2_m2"], 1)[0] if len(curve) >= 2 else math.nan
        result[name] = float(fit)
    return result


def layer_factor(summary: pd.DataFrame, init: str, width: int) -> float:
    """The ReLU theory's per-layer factor of the second moment, n Var(W) / 2 (n = width = fan_in), from the
    runs' own n Var(W) (summary.csv's `hidden_n_var_w`, which the run takes from the init registry)."""
    n_var_w = select(summary, init=init, width=width)["hidden_n_var_w"].dropna()
    if not len(n_var_w):
        raise ValueError(f"no n Var(W) in summary.csv for init {init!r} at width {width} (a scheme that "
                         "fixes none, such as lsuv, has no theory line)")
    return float(n_var_w.iloc[0]) / 2


def theory_log2_slope(summary: pd.DataFrame, init: str, width: int) -> float:
    """log2(n Var(W) / 2): -1 per layer for Xavier N(0, 1/n), 0 for He N(0, 2/n)."""
    return math.log2(layer_factor(summary, init, width))


# --- figures ------------------------------------------------------------------------------------------


def _fmt_steps(tables: StudyTables, depth: int, step: float) -> str:
    if not math.isfinite(step):
        return "never"
    return f"step {step:.0f} (epoch {_epoch_of_step(tables, depth, step):.2g})"


def _error_figure(tables: StudyTables, depth: int, paper: str) -> plt.Figure:
    curves = error_curves(tables, depth)
    final = final_train_error(tables, depth)
    final_test = final_test_error(tables, depth)
    reach = steps_to_error(tables, depth)
    metrics = _runs(tables.metrics, depth, "metrics")
    seeds = metrics["seed"].nunique() if "seed" in metrics else 1
    widths = ", ".join(str(w) for w in sorted(metrics["width"].unique()))
    datasets = ", ".join(sorted(map(str, metrics["data"].unique()))) if "data" in metrics else "?"

    fig, ax = plt.subplots(figsize=(8.6, 4.4))
    for name in _inits(curves):
        for split, dashes, label in (("train", "-", "training error"), ("test", "--", "test error")):
            curve = curves[(curves["init"] == name) & (curves["split"] == split)].sort_values("step")
            if curve.empty:
                continue
            x, y = curve["epoch"].to_numpy(), curve["error_mean"].to_numpy()
            ax.plot(x, y, dashes, color=COLORS[name], lw=1.8 if split == "train" else 1.3,
                    label=f"{init_label(name)}: {label}")
            if curve["runs"].max() > 1:
                spread = curve["error_std"].fillna(0).to_numpy()
                ax.fill_between(x, np.clip(y - spread, 0, 1), np.clip(y + spread, 0, 1), color=COLORS[name],
                                alpha=0.18 if split == "train" else 0.08, lw=0)
    lines = ["final training error:"] + [f"  {SHORT[n]}: {final[n]:.3f}" for n in final]
    lines += ["final test error:"] + [f"  {SHORT[n]}: {final_test[n]:.3f}" for n in final_test]
    lines += [f"training error ≤ {ERROR_THRESHOLD:g} from:"]
    lines += [f"  {SHORT[n]}: {_fmt_steps(tables, depth, reach[n])}" for n in reach]
    ax.text(1.03, 0.42, "\n".join(lines), transform=ax.transAxes, ha="left", va="top", fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "0.7"})
    ax.set_xlabel("epoch")
    ax.set_ylabel("error")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    band = f"mean ± std over {seeds} seeds" if seeds > 1 else "1 seed"
    ax.set_title(f"{depth}-layer ReLU MLP ({datasets}, width {widths}; {band})\n{paper}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=True)
    fig.tight_layout()
    return fig


@register("he2015_fig2_22_layers")
def draw_fig2(tables: StudyTables) -> plt.Figure:
    """22 layers: both inits converge; He starts reducing the error earlier."""
    return _error_figure(tables, 22, "like He et al. 2015 Fig 2: He starts reducing the error earlier "
                                     "(both converge in the paper)")


@register("he2015_fig3_30_layers")
def draw_fig3(tables: StudyTables) -> plt.Figure:
    """30 layers: Xavier stalls, He converges."""
    return _error_figure(tables, 30, "like He et al. 2015 Fig 3: Xavier stalls, He converges")


@register("he2015_variance_by_layer")
def draw_variance_by_layer(tables: StudyTables) -> plt.Figure:
    """Step-0 second moment of the pre-activations per layer (log2 y), measured against the ReLU theory."""
    stats = select(tables.layer_stats, activation=ACTIVATION, init=list(INITS))
    depths = [d for d in (22, 30) if d in set(stats["depth"])]
    if not depths:
        require(stats.iloc[0:0], "layer_stats of 22- or 30-layer ReLU runs with init in " + ", ".join(INITS))
    fig, axes = plt.subplots(1, len(depths), figsize=(6.0 * len(depths), 4.6), squeeze=False)
    for ax, depth in zip(axes[0], depths, strict=True):
        profile = second_moment_profile(tables, depth)
        width = _width(_runs(tables.layer_stats, depth, "layer_stats"), None)
        slopes = second_moment_log2_slope(tables, depth)
        seeds = int(profile["runs"].max())
        for name in _inits(profile):
            curve = profile[profile["init"] == name].sort_values("layer")
            curve = curve[np.isfinite(curve["log2_m2"])]
            layers, m2 = curve["layer"].to_numpy(), curve["m2"].to_numpy()
            ax.plot(layers, m2, "o", ms=4, color=COLORS[name],
                    label=f"{init_label(name)}: measured (fit {slopes[name]:+.2f} log2/layer)")
            factor = layer_factor(tables.summary, name, width)
            anchor = curve.loc[curve["layer"] == 1, "m2"]
            if len(anchor):
                theory = anchor.iloc[0] * factor ** (layers - 1.0)
                label = f"theory: ×{factor:g} per layer (n Var(W)/2, {math.log2(factor):+.0f} log2)"
                ax.plot(layers, theory, "-", color=COLORS[name], lw=1.2, alpha=0.8, label=label)
        ax.axvline(depth + 0.5, color="0.6", lw=0.8, ls=":")
        ax.set_yscale("log", base=2)
        ax.set_xlabel(f"layer (1..{depth} hidden, {depth + 1} = output logits)")
        ax.set_ylabel("E[s²] of pre-activations at init (log₂ scale)")
        mean = f"; geometric mean over {seeds} runs" if seeds > 1 else ""
        ax.set_title(f"{depth}-layer ReLU MLP, width {width}, step 0{mean}")
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle("He et al. 2015: Var(sˡ) = (n Var(W)/2) Var(sˡ⁻¹) for ReLU — Xavier halves the signal "
                 "at every layer, He keeps it", fontsize=10)
    fig.tight_layout()
    return fig
