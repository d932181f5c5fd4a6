"""Katanforoosh & Kunin 2019, "Initializing neural networks" (deeplearning.ai): the article's three demos.

(a) A small tanh net on 2-D data, initialized with zero, too small N(0, (0.01/√n)²), appropriate
    (Xavier N(0, 1/n)) or too large N(0, (10/√n)²) weights: its training cost and its decision boundary.
    Zero never breaks the symmetry (every hidden unit outputs exactly 0, for ever: chance error), too small
    sits on the log 2 plateau before it learns (slow learning), appropriate converges, too large starts with
    saturated units and a cost far above chance and learns slowly and noisily. A tanh net cannot blow up
    to NaN (its hidden units are bounded), so "divergence" shows as saturation, a huge initial cost and a
    slow, oscillating descent.
(b) The 10-layer linear net with W = 1.5 I or 0.5 I: a^l = scale^l x exactly, so its activations grow or
    shrink geometrically with depth; the first cost explodes and oscillates, the second stalls at log 2.
(c) The 5-layer MNIST net (4 tanh hidden layers + softmax, the article's A[1]..A[4]): per-layer activation
    histograms at initialization for zero, uniform U(±1/√n), Xavier N(0, 1/n) and standard normal weights.

The numbers that make each effect true are small pure functions of the study tables (`final_cost`,
`final_error`, `initial_cost`, `plateau_exit`, `hidden_activation_std`, `layer_growth`, `theory_deviation`,
`linear_cost`, `std_ratio`, `saturated_fraction`); the figures print them, and the tests assert them.
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
    hue_by,
    hue_by_init,
    init_color,
    init_label,
    last_per_run,
    legend_outside,
    numbers_box,
    present,
    require,
    run_axes,
    seed_mean,
    select,
    short_label,
    step_axis,
    steps_text,
)

TOY_INITS = ("zeros", "too_small", "xavier_he_baseline", "too_large")
MNIST_INITS = ("zeros", "standard", "xavier_he_baseline", "standard_normal")
SHAPE_AXIS = "data.shape"  # optional run axis of the toy2d block (circles, moons, ...)
SCALE_AXIS = "init.scale"  # run axis of the linear block (scaled_identity's scale)
CHANCE_COST = math.log(2)  # the cost of predicting p = 1/2 on a two-class problem

# The article's names where they are not the papers' (common.INIT_LABELS / INIT_SHORT): its toy demo's
# "appropriate" init and its MNIST demo's "uniform" one. Colours: common.INIT_PALETTE.
TOY_LABELS = {"zeros": "zero", "too_small": "too small",
              "xavier_he_baseline": "appropriate (Xavier N(0, 1/n))", "too_large": "too large"}
SHORT_LABELS = {"xavier_he_baseline": "appropriate", "standard": "uniform"}
SCALE_COLORS = {1.5: "tab:red", 0.5: "tab:blue"}  # the linear net's W = scale·I: exploding, vanishing
# The demos by their grid blocks (config/studies/katanforoosh2019.yaml), each with the inits it compares.
BLOCKS = {"toy2d": TOY_INITS, "mnist": MNIST_INITS}


def _short(name: str) -> str:
    """An init's name in a numbers box, as the article says it."""
    return SHORT_LABELS.get(name, short_label(name))


# --- selections ---------------------------------------------------------------------------------------


_ANY = object()  # `shape` for "every shape" (toy_shapes itself)


def _block(frame: pd.DataFrame, block: str, table: str, shape: str | None = None) -> pd.DataFrame:
    """The rows of one of the article's demos: the study's grid block `block` ('toy2d' or 'mnist', as
    config/studies/katanforoosh2019.yaml names them); for toy2d, of one data.shape."""
    inits = BLOCKS[block]
    what = f"{table} of grid block {block!r} with init in {', '.join(inits)}"
    rows = require(select(frame, block=block, init=list(inits)), what)
    return _one_shape(rows, shape, what) if block == "toy2d" else rows


def toy_shapes(tables: StudyTables) -> list[str | None]:
    """The data.shape values of the toy2d runs, in a fixed order; [None] when the study has no such axis."""
    rows = _block(tables.metrics, "toy2d", "metrics", shape=_ANY)
    if SHAPE_AXIS not in rows or rows[SHAPE_AXIS].isna().all():
        return [None]
    return sorted(rows[SHAPE_AXIS].dropna().unique())


def _one_shape(rows: pd.DataFrame, shape, what: str) -> pd.DataFrame:
    if shape is _ANY:
        return rows
    has_axis = SHAPE_AXIS in rows and rows[SHAPE_AXIS].notna().any()
    if shape is None:
        if has_axis and rows[SHAPE_AXIS].nunique() > 1:
            shapes = ", ".join(sorted(rows[SHAPE_AXIS].dropna().unique()))
            raise ValueError(f"{what}: several {SHAPE_AXIS} values ({shapes}); pass shape=")
        return rows
    if not has_axis:
        raise ValueError(f"{what}: no {SHAPE_AXIS} axis in the tables, so no runs of shape {shape!r}")
    return require(rows[rows[SHAPE_AXIS] == shape], f"{what} and {SHAPE_AXIS}={shape}")


def _split(tables: StudyTables, split: str, shape: str | None) -> pd.DataFrame:
    """The toy2d metrics rows of one split (and shape)."""
    rows = _block(tables.metrics, "toy2d", "metrics", shape)
    return require(rows[rows["split"] == split], f"{split} rows of the toy2d runs")


def _per_init(values: pd.Series, inits=TOY_INITS) -> dict[str, float]:
    """A Series indexed by init as {init: float}, in the demo's order."""
    return {name: float(values[name]) for name in inits if name in values.index}


def _shape_title(shape: str | None) -> str:
    return f"toy2d {shape}" if shape else "toy2d"


# --- (a) the toy demo: cost, error, saturation ---------------------------------------------------------


def curves(tables: StudyTables, split: str = "train", shape: str | None = None) -> pd.DataFrame:
    """Cost and error vs step per init on one split, mean and std over seeds.

    Columns: init, step, loss_mean, loss_std, error_mean, error_std, runs. Training rows are the means over
    the minibatches since the previous measurement (none at step 0); valid/test rows are exact at each step.
    """
    return seed_mean(_split(tables, split, shape), ["loss", "error"], by=["init", "step"])


def final_cost(tables: StudyTables, shape: str | None = None) -> dict[str, float]:
    """Per init: the training cost of each run's last measurement, averaged over seeds."""
    return _per_init(last_per_run(_split(tables, "train", shape), "loss"))


def final_error(tables: StudyTables, shape: str | None = None, split: str = "test") -> dict[str, float]:
    """Per init: the `split` error at each run's last measurement, averaged over seeds (chance ≈ 0.5)."""
    return _per_init(last_per_run(_split(tables, split, shape), "error"))


def initial_cost(tables: StudyTables, shape: str | None = None, split: str = "test") -> dict[str, float]:
    """Per init: the cost at initialization (step 0) on the held-out `split`, averaged over seeds; chance
    is log 2 ≈ 0.693. (No training cost exists at step 0: training rows average the steps before them.)"""
    rows = _block(tables.metrics, "toy2d", "metrics", shape)
    rows = require(rows[(rows["split"] == split) & (rows["step"] == 0)],
                   f"step-0 {split} rows of the toy2d runs")
    return _per_init(rows.groupby("init")["loss"].mean())


def plateau_exit(tables: StudyTables, shape: str | None = None, fraction: float = 0.9) -> dict[str, float]:
    """Per init: the first measured step from which the seed-mean training cost stays below `fraction` ×
    log 2 at every later measurement (math.inf if it never does): when the net leaves the chance plateau
    for good. Zero init never does; too small does late; appropriate does early. (NaN, a diverged run,
    counts as above.)"""
    cost = curves(tables, "train", shape).set_index("step")
    threshold = fraction * CHANCE_COST
    return {name: first_step_staying_below(cost.loc[cost["init"] == name, "loss_mean"], threshold)
            for name in present(cost, TOY_INITS)}


def hidden_activation_std(tables: StudyTables, shape: str | None = None,
                          step: int | None = None) -> dict[str, float]:
    """Per init: the largest std of any hidden layer's activations (over probe examples × units) at `step`
    (default: each run's last probe), max over seeds. 0 means every hidden unit outputs the same constant
    for every example: the zero init's symmetry is never broken, however long it trains."""
    rows = _block(tables.layer_stats, "toy2d", "layer_stats", shape)
    rows = rows[(rows["quantity"] == "act") & (rows["layer"] <= rows["depth"])]
    if step is None:
        last = rows.groupby(run_axes(rows, "layer_stats"), dropna=False)["step"].transform("max")
        rows = rows[rows["step"] == last]
    else:
        rows = rows[rows["step"] == step]
    rows = require(rows, f"hidden-layer activation statistics of the toy2d runs at step {step}")
    return _per_init(rows.groupby("init")["std"].max())


# --- (c) per-layer activations (MNIST; also the toy net) ------------------------------------------------


def activation_profile(tables: StudyTables, block: str = "mnist", step: int = 0,
                       shape: str | None = None) -> pd.DataFrame:
    """Per init and hidden layer at `step`: the activations' mean, std, abs_p98 and frac_saturated, averaged
    over seeds. Columns: init, layer, mean, std, abs_p98, frac_saturated. Layers 1..depth (the
    hidden ones)."""
    rows = _block(tables.layer_stats, block, "layer_stats", shape)
    rows = rows[(rows["quantity"] == "act") & (rows["step"] == step) & (rows["layer"] <= rows["depth"])]
    rows = require(rows, f"step-{step} hidden activation statistics of the {block} runs")
    columns = ["mean", "std", "abs_p98", "frac_saturated"]
    return rows.groupby(["init", "layer"], sort=True)[columns].mean().reset_index()


def std_ratio(tables: StudyTables, block: str = "mnist", step: int = 0,
              shape: str | None = None) -> dict[str, float]:
    """Per init: std of the last hidden layer's activations / std of layer 1's, at `step` (NaN for zero
    init, whose activations are all 0). < 1: the signal shrinks layer by layer; ≈ 1: it is kept."""
    profile = activation_profile(tables, block, step, shape)
    result = {}
    for name in present(profile, BLOCKS[block]):
        curve = profile[profile["init"] == name].set_index("layer")["std"]
        first, last = curve.loc[curve.index.min()], curve.loc[curve.index.max()]
        result[name] = float(last / first) if first > 0 else math.nan
    return result


def saturated_fraction(tables: StudyTables, block: str = "mnist", step: int = 0,
                       shape: str | None = None) -> dict[str, dict[int, float]]:
    """Per init and hidden layer: the fraction of units whose tanh slope is below 5% of its maximum
    (|a| > ~0.975) at `step`, averaged over seeds."""
    profile = activation_profile(tables, block, step, shape)
    result = {}
    for name in present(profile, BLOCKS[block]):
        curve = profile[profile["init"] == name]
        result[name] = {int(layer): float(frac)
                        for layer, frac in zip(curve["layer"], curve["frac_saturated"], strict=True)}
    return result


# --- (b) the linear net ---------------------------------------------------------------------------------


def _linear(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    what = f"{table} of grid block 'linear' (init scaled_identity with an {SCALE_AXIS} axis)"
    rows = require(select(frame, block="linear", init="scaled_identity"), what)
    if SCALE_AXIS not in rows or rows[SCALE_AXIS].isna().all():
        raise ValueError(f"no {SCALE_AXIS} column in the {table} of the linear runs; the study's grid must "
                         f"make {SCALE_AXIS} an axis ({SCALE_AXIS}: [1.5, 0.5])")
    rows = rows[rows[SCALE_AXIS].notna()]
    return rows.assign(scale=pd.to_numeric(rows[SCALE_AXIS]).astype(float))


def linear_magnitudes(tables: StudyTables) -> pd.DataFrame:
    """At initialization, per scale and layer l = 1..depth+1: the std of z^l = W^l a^{l-1} (the article's
    a^l, since g is the identity; layer depth+1 is the output ŷ before the softmax), geometric mean over
    seeds, and the exact theory std(z^1) × scale^(l-1). Columns: scale, layer, std, theory."""
    rows = _linear(tables.layer_stats, "layer_stats")
    rows = rows[(rows["quantity"] == "preact") & (rows["step"] == 0)]
    rows = require(rows, "step-0 pre-activations of the linear runs")
    with np.errstate(divide="ignore"):
        rows = rows.assign(log_std=np.log(rows["std"].to_numpy(float)))
    out = rows.groupby(["scale", "layer"], sort=True)["log_std"].mean().reset_index()
    out["std"] = np.exp(out.pop("log_std"))
    first = out[out["layer"] == 1].set_index("scale")["std"]
    out["theory"] = out["scale"].map(first) * out["scale"] ** (out["layer"] - 1.0)
    return out


def layer_growth(tables: StudyTables) -> dict[float, float]:
    """Per scale: the fitted per-layer factor of the activations' std at init, exp of the least-squares
    slope of log std(z^l) against l. Theory: exactly the scale (1.5 explodes, 0.5 vanishes)."""
    profile = linear_magnitudes(tables)
    result = {}
    for scale, curve in profile.groupby("scale", sort=False):
        ok = curve[np.isfinite(np.log(curve["std"].to_numpy(float)))]
        slope = np.polyfit(ok["layer"], np.log(ok["std"]), 1)[0] if len(ok) >= 2 else math.nan
        result[float(scale)] = float(np.exp(slope))
    return dict(sorted(result.items(), reverse=True))


def theory_deviation(tables: StudyTables) -> dict[float, float]:
    """Per scale: the largest relative deviation |measured / theory - 1| over the layers."""
    profile = linear_magnitudes(tables)
    dev = (profile["std"] / profile["theory"] - 1).abs()
    return {float(s): float(d.max()) for s, d in dev.groupby(profile["scale"], sort=False)}


def linear_cost(tables: StudyTables, split: str = "test") -> dict[float, dict[str, float]]:
    """Per scale, from the cost on the held-out `split` (exact at every measured step, step 0 included):
    initial, final, peak after step 0, `rises` (how often the cost went up by more than 1% between
    consecutive measurements: oscillation), `diverged` (1 if any cost was NaN/inf), and the final training
    cost. Means over seeds (rises, diverged: max)."""
    rows = _linear(tables.metrics, "metrics")
    result = {}
    for scale, per_scale in rows.groupby("scale", sort=False):
        runs = []
        for _, run in per_scale.groupby(run_axes(per_scale.drop(columns="scale"), "metrics"), dropna=False):
            held = run[run["split"] == split].sort_values("step")
            train = run[run["split"] == "train"].sort_values("step")
            loss = held["loss"].to_numpy(float)
            finite = np.isfinite(loss)
            rel = loss[1:] / loss[:-1]
            runs.append({
                "initial": loss[0] if len(loss) else math.nan,
                "final": loss[finite][-1] if finite.any() else math.nan,
                "peak": np.nanmax(np.where(finite, loss, np.nan)[1:]) if finite[1:].any() else math.nan,
                "rises": float(np.sum(np.isfinite(rel) & (rel > 1.01))),
                "diverged": float((~finite).any() or (~np.isfinite(train["loss"].to_numpy(float))).any()),
                "final_train": train["loss"].to_numpy(float)[-1] if len(train) else math.nan,
            })
        frame = pd.DataFrame(runs)
        summary = frame.mean().to_dict()
        summary["rises"], summary["diverged"] = float(frame["rises"].max()), float(frame["diverged"].max())
        result[float(scale)] = {k: float(v) for k, v in summary.items()}
    return dict(sorted(result.items(), reverse=True))


# --- figures ------------------------------------------------------------------------------------------------


def _toy_numbers(tables: StudyTables, shape: str | None) -> list[str]:
    """The toy demo's numbers for one data shape, a numbers box's lines."""
    final_c, final_e = final_cost(tables, shape), final_error(tables, shape)
    init_c, exit_step = initial_cost(tables, shape), plateau_exit(tables, shape)
    spread, saturated = hidden_activation_std(tables, shape), saturated_fraction(tables, "toy2d", 0, shape)
    lines = [f"{_shape_title(shape)}", "cost at init (test) → final (train):"]
    lines += [f"  {_short(n)}: {init_c[n]:.3g} → {final_c[n]:.3g}" for n in final_c]
    lines += ["final test error (chance 0.5):"] + [f"  {_short(n)}: {final_e[n]:.3f}" for n in final_e]
    lines += ["cost < 0.9 log 2 for good from:"]
    lines += [f"  {_short(n)}: {steps_text(step)}" for n, step in exit_step.items()]
    if "zeros" in spread:
        lines.append(f"zero: hidden activations' std at the end: {spread['zeros']:.2g}")
    if "too_large" in saturated:
        lines.append("too large: units saturated at init: "
                     + ", ".join(f"{100 * f:.0f}%" for f in saturated["too_large"].values()))
    return lines


def _toy_lines(ax: plt.Axes, rows: pd.DataFrame, value: str, legend: bool) -> None:
    """`value` against steps per init, seed mean ± sd; zero dashed and on top (zero and too small can lie
    on top of each other, both at chance)."""
    hue = hue_by_init(rows, TOY_INITS, labels=TOY_LABELS)
    zero = TOY_LABELS["zeros"]
    dashes = {name: (4, 2) if name == zero else "" for name in hue["hue_order"]}
    widths = {name: 2.0 if name == zero else 1.7 for name in hue["hue_order"]}
    sns.lineplot(rows, x="step", y=value, **hue, style=hue["hue"], dashes=dashes, size=hue["hue"],
                 sizes=widths, errorbar="sd", legend=legend, ax=ax)
    for line in ax.get_lines():
        if line.get_color() == init_color("zeros"):
            line.set_zorder(4)
    step_axis(ax)


@register("katanforoosh2019_toy2d_cost")
def draw_toy2d_cost(tables: StudyTables) -> plt.Figure:
    """Per data shape (rows): training cost and test error vs steps for the four inits, and their numbers."""
    shapes = toy_shapes(tables)
    fig, axes = plt.subplots(len(shapes), 2, figsize=(13.0, 5.0 * len(shapes) + 0.4), squeeze=False)
    for (ax_cost, ax_err), shape in zip(axes, shapes, strict=True):
        config = _block(tables.metrics, "toy2d", "metrics", shape).iloc[0]
        where = f"{_shape_title(shape)}, tanh MLP {config['depth']} hidden × {config['width']}"
        _toy_lines(ax_cost, _split(tables, "train", shape), "loss", legend=False)
        _toy_lines(ax_err, _split(tables, "test", shape), "error", legend=ax_err is axes[0, 1])
        ax_cost.axhline(CHANCE_COST, color="0.3", ls=":", lw=1)
        ax_err.axhline(0.5, color="0.3", ls=":", lw=1, label="chance (cost log 2, p = 1/2)")
        ax_cost.set(yscale="log", ylabel="training cost (NLL, log scale)", title=f"{where}: training cost")
        ax_err.set(ylabel="test error", ylim=(-0.02, 1.0), title=f"{where}: test error")
        numbers_box(ax_err, _toy_numbers(tables, shape), loc="outside lower right", fontsize=7.5)
    axes[0, 1].get_legend().remove()  # seaborn's, without the chance line: build it anew from every line
    legend_outside(axes[0, 1], fontsize=8)
    fig.suptitle("Katanforoosh & Kunin 2019: zero init never learns, too small learns slowly, appropriate "
                 "converges, too large saturates (high cost, slow and noisy)", fontsize=10)
    fig.tight_layout()
    return fig


@register("katanforoosh2019_toy2d_boundaries")
def draw_toy2d_boundaries(tables: StudyTables) -> plt.Figure:
    """One panel per init (rows: data shapes): the net's class-1 probability on a grid, its 0.5 contour
    (the decision boundary) and the test points coloured by their label, at the end of training."""
    if tables.boundary is None:
        raise ValueError("no boundary table (boundary.parquet) in the study tables: the toy2d runs write one "
                         "at their last step; does the study's grid include runs with data=toy2d?")
    shapes = toy_shapes(tables)
    inits = present(_block(tables.boundary, "toy2d", "boundary", _ANY), TOY_INITS)
    fig, axes = plt.subplots(len(shapes), len(inits), figsize=(3.3 * len(inits), 3.3 * len(shapes)),
                             squeeze=False)
    levels = np.linspace(0, 1, 11)
    filled = None
    for row, shape in enumerate(shapes):
        frame = _block(tables.boundary, "toy2d", "boundary", shape)
        errors = final_error(tables, shape)
        for col, name in enumerate(inits):
            ax = axes[row, col]
            rows = require(frame[frame["init"] == name], f"boundary of init {name} ({_shape_title(shape)})")
            rows = rows[rows["seed"] == rows["seed"].min()]
            grid = rows[rows["kind"] == "grid"].pivot_table(index="x2", columns="x1", values="p1")
            x1, x2 = np.meshgrid(grid.columns.to_numpy(float), grid.index.to_numpy(float))
            p1 = np.ma.masked_invalid(grid.to_numpy(float))
            filled = ax.contourf(x1, x2, p1, levels=levels, cmap="RdBu_r", alpha=0.55, vmin=0, vmax=1)
            if p1.count() and p1.min() < 0.5 < p1.max():
                ax.contour(x1, x2, p1, levels=[0.5], colors="k", linewidths=1.4)
            test = rows[rows["kind"] == "test"]
            for label, color in ((0, "tab:blue"), (1, "tab:red")):
                pts = test[test["label"] == label]
                ax.scatter(pts["x1"], pts["x2"], s=7, c=color, edgecolors="white", linewidths=0.3,
                           label=f"class {label}")
            step = int(rows["step"].max())
            error = errors.get(name, math.nan)
            ax.set_title(f"{TOY_LABELS[name]}\ntest error {error:.3f} (step {step})", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            if col == 0:
                ax.set_ylabel(f"{_shape_title(shape)}\nx₂ (normalized)")
            if row == len(shapes) - 1:
                ax.set_xlabel("x₁ (normalized)")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8)
    if filled is not None:
        fig.colorbar(filled, ax=axes.ravel().tolist(), shrink=0.8, label="p(class 1)  (black line: 0.5)")
    fig.suptitle("Katanforoosh & Kunin 2019: decision boundaries after training, "
                 "one panel per initialization", fontsize=10)
    return fig


COSTS = {"train": "training cost", "test": "test cost"}  # the linear net's splits: solid, dashed


def _diverged_at(rows: pd.DataFrame) -> tuple[float, float, int] | None:
    """Where the seed-mean cost of `rows` (one scale's test rows) stops being finite: (step, cost) of its
    last finite value and the first non-finite step; None if it stays finite."""
    cost = rows.groupby("step")["loss"].mean()
    bad, good = cost[~np.isfinite(cost)], cost[np.isfinite(cost)]
    return (good.index[-1], good.iloc[-1], int(bad.index[0])) if len(bad) and len(good) else None


@register("katanforoosh2019_linear_exploding_vanishing")
def draw_linear(tables: StudyTables) -> plt.Figure:
    """Left: std of each layer's z^l at init for W = 1.5 I and 0.5 I, with the exact theory scale^(l-1);
    right: the cost of both runs during training (held-out cost dashed, training cost solid)."""
    profile, growth, deviation = linear_magnitudes(tables), layer_growth(tables), theory_deviation(tables)
    cost = linear_cost(tables)
    metrics = _linear(tables.metrics, "metrics")
    depth = int(metrics["depth"].max())
    scales = sorted(profile["scale"].unique(), reverse=True)
    fig, (ax_mag, ax_cost) = plt.subplots(1, 2, figsize=(12.4, 4.8))
    measured = {s: f"W = {s:g} I: measured (fit ×{growth[s]:.4f}/layer)" for s in scales}
    theory = {s: f"theory: std(z¹) × {s:g}^(l-1)  (max dev. {deviation[s]:.1e})" for s in scales}
    sns.scatterplot(profile, x="layer", y="std", s=45, lw=0, ax=ax_mag,
                    **hue_by(profile, "scale", SCALE_COLORS, measured, scales))
    sns.lineplot(profile, x="layer", y="theory", lw=1.2, alpha=0.8, ax=ax_mag,
                 **hue_by(profile, "scale", SCALE_COLORS, theory, scales))
    ax_mag.set(yscale="log", xlabel=f"layer l (1..{depth} hidden, {depth + 1} = output ŷ before softmax)",
               ylabel="std of zˡ = Wˡaˡ⁻¹ at init (log scale)",
               title=f"linear net, {depth + 1} weight layers of width 2: aˡ = scaleˡ x")
    ax_mag.legend(fontsize=7.5, loc="best")

    rows = metrics[metrics["split"].isin(list(COSTS))]
    split = rows["split"].map(COSTS).rename("cost")
    ax_cost.axhline(CHANCE_COST, color="0.3", ls=":", lw=1, label="log 2 (p = 1/2)")
    sns.lineplot(rows.assign(loss=rows["loss"].where(np.isfinite(rows["loss"]))), x="step", y="loss",
                 **hue_by(rows, "scale", SCALE_COLORS, {s: f"W = {s:g} I" for s in scales}, scales),
                 style=split, style_order=list(COSTS.values()), dashes=["", (4, 2)], size=split,
                 size_order=list(COSTS.values()), sizes=[1.7, 1.1], errorbar="sd", ax=ax_cost)
    for scale in scales:
        diverged = _diverged_at(rows[(rows["scale"] == scale) & (rows["split"] == "test")])
        if diverged:
            step, last, bad = diverged
            color = SCALE_COLORS.get(scale, "0.3")
            ax_cost.plot(step, last, "x", color=color, ms=10, mew=2)
            ax_cost.annotate(f"diverged (NaN) at step {bad}", (step, last), fontsize=8, color=color,
                             xytext=(5, 5), textcoords="offset points")
    ax_cost.set(yscale="log", ylabel="cost (NLL, log scale)",
                title="cost: exploding (1.5 I) oscillates, vanishing (0.5 I) stalls")
    step_axis(ax_cost)
    numbers_box(ax_cost, [f"W = {s:g} I: test cost {c['initial']:.3g} at init → {c['final']:.3g}; "
                          f"{c['rises']:.0f} rises{' ; DIVERGED' if c['diverged'] else ''}"
                          for s, c in cost.items()], loc="lower left", fontsize=7.5)
    sns.move_legend(ax_cost, "upper right", fontsize=7.5, title=None)
    fig.suptitle("Katanforoosh & Kunin 2019: with W = scale·I every layer multiplies the signal by the "
                 "scale — exploding (1.5) and vanishing (0.5) activations", fontsize=10)
    fig.tight_layout()
    return fig


@register("katanforoosh2019_mnist_activations")
def draw_mnist_activations(tables: StudyTables) -> plt.Figure:
    """Rows: the four inits; columns: hidden layers A[1]..A[depth]; each panel the normalized histogram of
    that layer's tanh activations on the probe batch at initialization (step 0)."""
    hist = _block(tables.histograms, "mnist", "histograms")
    hist = require(hist[(hist["quantity"] == "act") & (hist["step"] == 0) & (hist["layer"] <= hist["depth"])],
                   "step-0 activation histograms of the mnist tanh runs")
    hist = hist[hist["seed"] == hist.groupby("init")["seed"].transform("min")]
    hist = hist.assign(centre=(hist["bin_left"] + hist["bin_right"]) / 2)
    stats = activation_profile(tables, "mnist").set_index(["init", "layer"])
    ratios = std_ratio(tables, "mnist")
    inits = present(hist, MNIST_INITS)
    layers = sorted(int(ell) for ell in hist["layer"].unique())
    config = hist.iloc[0]
    fig, axes = plt.subplots(len(inits), len(layers), figsize=(2.7 * len(layers) + 0.8, 2.1 * len(inits)),
                             sharex=True, sharey="row", squeeze=False)
    for (name, layer), part in hist.groupby(["init", "layer"]):
        ax = axes[inits.index(name), layers.index(int(layer))]
        edges = [*sorted(part["bin_left"]), part["bin_right"].max()]  # a list (seaborn compares it to "auto")
        sns.histplot(part, x="centre", weights="count", bins=edges, stat="probability",
                     color=init_color(name), alpha=0.75, lw=0, ax=ax)
        if (name, layer) in stats.index:
            s = stats.loc[(name, layer)]
            numbers_box(ax, [f"std {s['std']:.3g}", f"sat. {100 * s['frac_saturated']:.0f}%"],
                        loc="upper left", fontsize=7)
        ax.set(xlim=(-1.05, 1.05), xlabel="", ylabel="")
        ax.margins(y=0.3)  # room above the bars for the box
    for ax, layer in zip(axes[0], layers, strict=True):
        ax.set_title(f"A[{layer}]")
    for ax in axes[-1]:
        ax.set_xlabel("activation tanh(z)")
    for ax, name in zip(axes[:, 0], inits, strict=True):
        ratio = ratios.get(name, math.nan)
        ratio_text = f"\nstd A[{layers[-1]}]/A[{layers[0]}] = {ratio:.2f}" if math.isfinite(ratio) else ""
        ax.set_ylabel(f"{init_label(name)}{ratio_text}\nfraction of units", fontsize=8)
    fig.suptitle(f"Katanforoosh & Kunin 2019: MNIST, tanh, {config['depth']} hidden layers × "
                 f"{config['width']}, activations at initialization per layer", fontsize=10)
    fig.tight_layout()
    return fig
