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
import seaborn as sns

from fanin.figures import register
from fanin.figures.common import (
    StudyTables,
    first_step_staying_below,
    hue_by_init,
    init_label,
    last_per_run,
    legend_outside,
    numbers_box,
    present,
    require,
    seed_mean,
    select,
    short_label,
    step_axis,
    steps_text,
)

INITS = ("xavier_he_baseline", "he_normal")  # INIT_PALETTE: Xavier blue, He red, as the captions say
ACTIVATION = "relu"
ERROR_THRESHOLD = 0.5  # "starts reducing the error": the first measured step with training error below this
SPLITS = {"train": "training error", "test": "test error"}  # drawn solid and dashed


# --- selections ---------------------------------------------------------------------------------------


def _runs(frame: pd.DataFrame, depth: int, table: str) -> pd.DataFrame:
    rows = select(frame, activation=ACTIVATION, depth=depth, init=list(INITS))
    return require(rows, f"{table} of {depth}-layer ReLU runs with init in {', '.join(INITS)}")


def _inits(frame: pd.DataFrame) -> list[str]:
    return present(frame, INITS)


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
    return seed_mean(rows[rows["split"].isin(list(SPLITS))], "error", by=["init", "split", "step", "epoch"])


def _final_error(tables: StudyTables, depth: int, split: str) -> dict[str, float]:
    rows = _runs(tables.metrics, depth, "metrics")
    rows = require(rows[rows["split"] == split], f"{SPLITS[split]} rows of the {depth}-layer runs")
    final = last_per_run(rows, "error")
    return {name: float(final[name]) for name in _inits(rows)}


def final_train_error(tables: StudyTables, depth: int) -> dict[str, float]:
    """Per init: the training error of each run's last measurement (the mean over the minibatches since
    the previous one), averaged over seeds."""
    return _final_error(tables, depth, "train")


def final_test_error(tables: StudyTables, depth: int) -> dict[str, float]:
    """Per init: the test error at each run's last measurement, averaged over seeds."""
    return _final_error(tables, depth, "test")


def steps_to_error(tables: StudyTables, depth: int, threshold: float = ERROR_THRESHOLD,
                   split: str = "train") -> dict[str, float]:
    """Per init: the first measured step from which the seed-mean `split` error stays at or below
    `threshold` at every later measurement (math.inf if it never does): how early each init starts
    reducing the error. "Stays" keeps the noise of the first few minibatches (a training row at step 2
    is the error on 10 examples) from counting as progress."""
    curves = error_curves(tables, depth)
    curves = curves[curves["split"] == split].set_index("step")
    return {name: first_step_staying_below(curves.loc[curves["init"] == name, "error_mean"], threshold,
                                           or_equal=True) for name in _inits(curves)}


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
    profile = seed_mean(rows.assign(log2_m2=log2_m2), "log2_m2", by=["init", "layer"])
    profile = profile.rename(columns={"log2_m2_mean": "log2_m2"})
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
        return steps_text(step)
    return f"{steps_text(step)} (epoch {_epoch_of_step(tables, depth, step):.2g})"


def _error_figure(tables: StudyTables, depth: int, paper: str) -> plt.Figure:
    """Training (solid) and test (dashed) error against epochs per init, seed mean ± sd, and the numbers."""
    metrics = _runs(tables.metrics, depth, "metrics")
    rows = metrics[metrics["split"].isin(list(SPLITS))]
    final, final_test = final_train_error(tables, depth), final_test_error(tables, depth)
    reach = steps_to_error(tables, depth)
    seeds = metrics["seed"].nunique() if "seed" in metrics else 1
    widths = ", ".join(str(w) for w in sorted(metrics["width"].unique()))
    datasets = ", ".join(sorted(map(str, metrics["data"].unique()))) if "data" in metrics else "?"

    fig, ax = plt.subplots(figsize=(8.6, 4.4))
    sns.lineplot(rows, x="epoch", y="error", **hue_by_init(rows, INITS), style=rows["split"].map(SPLITS),
                 style_order=list(SPLITS.values()), dashes={"training error": "", "test error": (4, 2)},
                 size=rows["split"].map(SPLITS), size_order=list(SPLITS.values()),
                 sizes={"training error": 1.8, "test error": 1.3},
                 errorbar="sd", ax=ax)
    lines = ["final training error:"] + [f"  {short_label(n)}: {final[n]:.3f}" for n in final]
    lines += ["final test error:"] + [f"  {short_label(n)}: {final_test[n]:.3f}" for n in final_test]
    lines += [f"training error ≤ {ERROR_THRESHOLD:g} from:"]
    lines += [f"  {short_label(n)}: {_fmt_steps(tables, depth, reach[n])}" for n in reach]
    numbers_box(ax, lines, loc="outside lower right")
    step_axis(ax, log=False, label="epoch")
    ax.set(ylabel="error", ylim=(0, 1.02))
    band = f"mean ± std over {seeds} seeds" if seeds > 1 else "1 seed"
    ax.set_title(f"{depth}-layer ReLU MLP ({datasets}, width {widths}; {band})\n{paper}")
    legend_outside(ax, fontsize=8, title=None)
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
        profile = profile[np.isfinite(profile["log2_m2"])]
        factor = {name: layer_factor(tables.summary, name, width) for name in _inits(profile)}
        anchor = profile[profile["layer"] == 1].set_index("init")["m2"]  # the theory starts at layer 1
        init = profile["init"]
        profile = profile.assign(theory=init.map(anchor) * init.map(factor) ** (profile["layer"] - 1.0))
        fit = {n: f"{init_label(n)}: measured (fit {slopes[n]:+.2f} log2/layer)" for n in factor}
        law = {n: f"theory: ×{f:g} per layer (n Var(W)/2, {math.log2(f):+.0f} log2)"
               for n, f in factor.items()}
        sns.scatterplot(profile, x="layer", y="m2", s=20, lw=0, ax=ax,
                        **hue_by_init(profile, INITS, labels=fit))
        sns.lineplot(profile, x="layer", y="theory", lw=1.2, alpha=0.8, ax=ax,
                     **hue_by_init(profile, INITS, labels=law))
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
