"""Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward neural networks".

Shapeset-3x2, 5 hidden layers of 1000 units, minibatch SGD; "standard" init U(±1/√n) against "normalized"
U(±√6/√(n_j + n_{j+1})) (`glorot_uniform`). Every function here reads a study's tables only. The small
functions without `draw` compute the numbers that make each figure's effect true; the tests assert them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import pyplot as plt

from fanin.contract import STAT_COLUMNS
from fanin.figures import register
from fanin.figures.common import (
    ACTIVATION_PALETTE,
    StudyTables,
    hue_by,
    hue_by_init,
    hue_by_layer,
    init_color,
    init_label,
    present,
    require,
    run_axes,
    select,
    selected_runs,
    spread_rows,
    step_axis,
)

INITS = ("standard", "glorot_uniform")
# Table 1 of the paper: test error (%) on Shapeset, MNIST, CIFAR-10, Small-ImageNet.
PAPER_TABLE1 = pd.DataFrame(
    {"shapeset": [16.27, 16.06, 27.15, 15.60, 82.61], "mnist": [1.64, 1.72, 1.76, 1.64, 2.21],
     "cifar10": [55.78, 53.8, 55.9, 52.92, 57.28], "small_imagenet": [69.14, 68.13, 70.58, 68.57, 70.66]},
    index=pd.Index(["Softsign", "Softsign N", "Tanh", "Tanh N", "Sigmoid"], name="model"),
)
MODEL_NAMES = {("softsign", "standard"): "Softsign", ("softsign", "glorot_uniform"): "Softsign N",
               ("tanh", "standard"): "Tanh", ("tanh", "glorot_uniform"): "Tanh N",
               ("sigmoid", "standard"): "Sigmoid", ("sigmoid", "glorot_uniform"): "Sigmoid N"}
MODEL_KEYS = {name: key for key, name in MODEL_NAMES.items()}  # "Tanh N": ("tanh", "glorot_uniform")
PAPER_JACOBIAN = {"standard": 0.5, "glorot_uniform": 0.8}
# The grid blocks the figures read (config/studies/glorot2010.yaml; the smoke study names its blocks alike):
# one per Shapeset model of Table 1 and Fig 11, Fig 2's 4-layer sigmoid net, and Table 1's MNIST / CIFAR-10
# rows.
MODEL_BLOCKS = {("tanh", "standard"): "tanh", ("tanh", "glorot_uniform"): "tanh_n",
                ("softsign", "standard"): "softsign", ("softsign", "glorot_uniform"): "softsign_n",
                ("sigmoid", "standard"): "sigmoid"}
FIG2_BLOCK = "fig2_sigmoid"
TABLE1_BLOCKS = (*MODEL_BLOCKS.values(), "table1_mnist", "table1_mnist_sigmoid")


# --- selections --------------------------------------------------------------------------------------

def model_block(activation: str, init: str) -> str:
    """The grid block of the Shapeset model (activation, init): its 5-layer nets of Table 1 and Fig 11."""
    if (activation, init) not in MODEL_BLOCKS:
        valid = ", ".join(f"{a}/{i}" for a, i in MODEL_BLOCKS)
        raise ValueError(f"no Shapeset model {activation}/{init} in Glorot & Bengio's grid; valid: {valid}")
    return MODEL_BLOCKS[(activation, init)]


def layer_curves(tables: StudyTables, activation: str, init: str, quantity: str, block: str | None = None
                 ) -> pd.DataFrame:
    """Per (step, hidden layer): the probe statistics of `quantity`, averaged over seeds, of the model's
    block (or of `block`)."""
    block = block or model_block(activation, init)
    rows = select(tables.layer_stats, block=block, activation=activation, init=init, quantity=quantity)
    rows = require(rows[rows.layer <= rows.depth], f"{quantity} statistics of grid block {block!r}")
    return rows.groupby(["step", "layer"], as_index=False)[list(STAT_COLUMNS)].mean()


def histogram(tables: StudyTables, activation: str, init: str, quantity: str, step: str | int
              ) -> pd.DataFrame:
    """Normalised histograms per hidden layer at `step` (0, or 'last') of the first seed: bin centre, density.

    Seeds have bins of their own (each run's range), so they are not pooled."""
    block = model_block(activation, init)
    rows = select(tables.histograms, block=block, quantity=quantity)
    rows = require(rows[rows.layer <= rows.depth], f"{quantity} histograms of grid block {block!r}")
    if step == "last":
        last = rows.groupby("seed").step.transform("max")
        rows = rows[rows.step == last]
    else:
        rows = rows[rows.step == step]
    rows = require(rows, f"Shapeset {activation} {init} {quantity} histograms at step {step}")
    first = rows[rows.seed == rows.seed.min()]
    out = first.groupby(["layer", "bin_left", "bin_right"], as_index=False)["count"].sum()
    out["centre"] = (out.bin_left + out.bin_right) / 2
    out["density"] = (out["count"] / out.groupby("layer")["count"].transform("sum")
                      / (out.bin_right - out.bin_left))
    return out


# --- the numbers behind the figures ------------------------------------------------------------------

def activation_std_ratio(tables: StudyTables, init: str, activation: str = "tanh") -> float:
    """Std of the top hidden layer's activations over layer 1's, at initialization (Fig 6)."""
    curves = layer_curves(tables, activation, init, "act")
    at0 = curves[curves.step == 0].set_index("layer")["std"]
    return float(at0.iloc[-1] / at0.iloc[0])


def backprop_std_ratio(tables: StudyTables, init: str, activation: str = "tanh") -> float:
    """Std of back-propagated gradients at layer 1 over the top hidden layer, at initialization (Fig 7)."""
    curves = layer_curves(tables, activation, init, "backprop")
    at0 = curves[curves.step == 0].set_index("layer")["std"]
    return float(at0.iloc[0] / at0.iloc[-1])


def weight_grad_std_spread(tables: StudyTables, init: str, activation: str = "tanh") -> float:
    """Largest over smallest per-layer std of weight gradients at initialization (Fig 8: about 1
    either way)."""
    curves = layer_curves(tables, activation, init, "weight_grad")
    at0 = curves[curves.step == 0]["std"]
    return float(at0.max() / at0.min())


def weight_grad_std_fall(tables: StudyTables, init: str, activation: str = "tanh") -> float:
    """Std of layer 1's weight gradients over the top hidden layer's at the last probe step (Fig 9: with the
    standard init the lower layers' gradients grow apart from the upper ones' as training goes on)."""
    curves = layer_curves(tables, activation, init, "weight_grad")
    last = curves[curves.step == curves.step.max()].set_index("layer")["std"]
    return float(last.iloc[0] / last.iloc[-1])


def top_layer_saturation(tables: StudyTables) -> dict[str, float]:
    """Fig 2's sigmoid net: the top hidden layer's mean activation at initialization and its minimum during
    training, against the lower layers' means, which stay near 0.5."""
    curves = layer_curves(tables, "sigmoid", "standard", "act", FIG2_BLOCK)
    top = curves.layer.max()
    top_mean = curves[curves.layer == top].set_index("step")["mean"]
    lower = curves[(curves.layer < top) & (curves.step == curves.step.max())]["mean"]
    return {"top_initial": float(top_mean.iloc[0]), "top_min": float(top_mean.min()),
            "top_final": float(top_mean.iloc[-1]), "lower_final_mean": float(lower.mean())}


def saturation_onset(tables: StudyTables, activation: str, init: str) -> dict[int, float]:
    """Per hidden layer, the first probe step at which more than 5% of its units are saturated
    (inf: never)."""
    curves = layer_curves(tables, activation, init, "act")
    onset = {}
    for layer, rows in curves.groupby("layer"):
        hit = rows[rows.frac_saturated > 0.05]
        onset[int(layer)] = float(hit.step.min()) if len(hit) else float("inf")
    return onset


def final_saturation(tables: StudyTables, activation: str, init: str) -> dict[int, float]:
    curves = layer_curves(tables, activation, init, "act")
    last = curves[curves.step == curves.step.max()]
    return dict(zip(last.layer.astype(int), last.frac_saturated, strict=True))


def jacobian_mean_singular_value(tables: StudyTables, init: str, activation: str = "tanh") -> float:
    """Mean singular value of the hidden-to-hidden Jacobians at initialization (paper: 0.5 standard,
    0.8 N)."""
    rows = select(tables.jacobian, block=model_block(activation, init), step=0)
    return float(require(rows, f"Jacobians of Shapeset {activation} {init} at step 0").sv_mean.mean())


def table1(tables: StudyTables) -> pd.DataFrame:
    """Final test error (%) per model (activation × init) and data set: mean and std over seeds of the runs
    at the learning rate the validation set selected (`lr`)."""
    runs = tables.summary[(tables.summary.level == "run") & tables.summary.selected.astype(bool)]
    runs = runs[runs.block.isin(TABLE1_BLOCKS)]
    runs = require(runs, f"runs of the grid blocks {', '.join(TABLE1_BLOCKS)}")
    runs = runs.assign(model=[MODEL_NAMES[(a, i)] for a, i in zip(runs.activation, runs.init, strict=True)],
                       error=100 * runs.final_test_error)
    stats = runs.groupby(["model", "data"]).agg(mean=("error", "mean"), std=("error", "std"),
                                                   count=("error", "count"), lr=("lr", "first")).reset_index()
    return stats


# --- drawing helpers -----------------------------------------------------------------------------------

def draw_saturation(ax, tables: StudyTables, activation: str, init: str) -> None:
    """Fig 3's panel: 98th percentile (markers) and standard deviation (lines) of each layer's activations."""
    curves = layer_curves(tables, activation, init, "act")
    sns.scatterplot(curves, x="step", y="abs_p98", s=20, lw=0, ax=ax, **hue_by_layer(curves))
    sns.lineplot(curves, x="step", y="std", lw=1.3, errorbar=None, legend=False, ax=ax,
                 **hue_by_layer(curves))
    step_axis(ax, linthresh=10, label="updates")
    ax.set(ylim=(0, 1.05), ylabel="activation value")
    onset = saturation_onset(tables, activation, init)
    onsets = ", ".join(f"L{ell}: {'never' if np.isinf(s) else int(s)}" for ell, s in onset.items())
    ax.set_title(f"{activation}, {init_label(init)} — markers: 98th pct of |z|, lines: std\n"
                 f">5% units saturated from step {onsets}", fontsize=9)
    sns.move_legend(ax, "lower right", fontsize=7, ncol=2, title=None)


def draw_histogram(ax, hist: pd.DataFrame, title: str, xlabel: str) -> None:
    """One panel of Figs 4 and 6-8: each layer's normalized histogram (`histogram`'s rows) as a line."""
    sns.lineplot(hist, x="centre", y="density", lw=1.3, errorbar=None, ax=ax, **hue_by_layer(hist))
    ax.set_title(title, fontsize=10)
    ax.set(xlabel=xlabel, ylabel="normalized density")
    sns.move_legend(ax, "best", fontsize=7, title=None)


# --- the figures ---------------------------------------------------------------------------------------

@register("glorot2010_fig2_sigmoid_activations")
def fig2(tables: StudyTables) -> plt.Figure:
    curves = layer_curves(tables, "sigmoid", "standard", "act", FIG2_BLOCK)
    # each layer's points a little to the right of the one below (2% on the symlog axis), so the bars show
    order = {ell: i for i, ell in enumerate(sorted(curves.layer.unique()))}
    points = spread_rows(curves.assign(x=curves.step * (1 + 0.02 * curves.layer.map(order))))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    sns.lineplot(points, x="x", y="value", marker="o", ms=4, mew=0, lw=1.2, errorbar="sd", err_style="bars",
                 err_kws={"capsize": 2}, ax=ax, **hue_by_layer(points))
    numbers = top_layer_saturation(tables)
    step_axis(ax, linthresh=10, label="updates")
    ax.set_ylabel("activation value (mean ± std over units × examples)")
    ax.set_title(f"Sigmoid, {curves.layer.max()} hidden layers, standard init (Glorot & Bengio Fig 2)\n"
                 f"top layer mean: {numbers['top_initial']:.2f} at init → min {numbers['top_min']:.2f}; "
                 f"lower layers end at {numbers['lower_final_mean']:.2f}", fontsize=9)
    sns.move_legend(ax, "best", fontsize=8, title=None)
    return fig


@register("glorot2010_fig3_saturation")
def fig3(tables: StudyTables) -> plt.Figure:
    fig, axes = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True)
    draw_saturation(axes[0], tables, "tanh", "standard")
    draw_saturation(axes[1], tables, "softsign", "standard")
    fig.suptitle("Glorot & Bengio Fig 3: saturation during training, standard init", fontsize=11)
    fig.tight_layout()
    return fig


@register("glorot2010_fig10_tanh_normalized_saturation")
def fig10(tables: StudyTables) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    draw_saturation(ax, tables, "tanh", "glorot_uniform")
    fig.suptitle("Glorot & Bengio Fig 10: tanh with normalized initialization", fontsize=11)
    fig.tight_layout()
    return fig


@register("glorot2010_fig4_activation_hist_end")
def fig4(tables: StudyTables) -> plt.Figure:
    fig, axes = plt.subplots(2, 1, figsize=(7, 7))
    for ax, activation in zip(axes, ("tanh", "softsign"), strict=True):
        sat = final_saturation(tables, activation, "standard")
        draw_histogram(ax, histogram(tables, activation, "standard", "act", "last"),
                       f"{activation}, standard init, end of training — saturated units per layer: "
                       + ", ".join(f"{v:.0%}" for v in sat.values()), "activation value")
        ax.title.set_fontsize(9)
        ax.set_yscale("log")
    fig.suptitle("Glorot & Bengio Fig 4: activation histograms at the end of learning", fontsize=11)
    fig.tight_layout()
    return fig


def init_histogram_figure(tables: StudyTables, quantity: str, xlabel: str, title: str, number,
                          number_label: str) -> plt.Figure:
    """Figs 6-8: histograms at initialization, standard init on top, normalized below; `number(tables, init)`
    is the effect's number for each init, printed in the title."""
    values = ", ".join(f"{init_label(i)} {number(tables, i):.2f}" for i in INITS)
    fig, axes = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    for ax, init in zip(axes, INITS, strict=True):
        draw_histogram(ax, histogram(tables, "tanh", init, quantity, 0), f"tanh, {init_label(init)}", xlabel)
    fig.suptitle(f"{title}\n{number_label}: {values}", fontsize=10)
    fig.tight_layout()
    return fig


@register("glorot2010_fig6_activation_hist")
def fig6(tables: StudyTables) -> plt.Figure:
    return init_histogram_figure(tables, "act", "activation value",
                                 "Glorot & Bengio Fig 6: activations at initialization (tanh)",
                                 activation_std_ratio, "std(top layer) / std(layer 1)")


@register("glorot2010_fig7_backprop_hist")
def fig7(tables: StudyTables) -> plt.Figure:
    return init_histogram_figure(tables, "backprop", "back-propagated gradient ∂C/∂s",
                                 "Glorot & Bengio Fig 7: back-propagated gradients at initialization (tanh)",
                                 backprop_std_ratio, "std(layer 1) / std(top layer)")


@register("glorot2010_fig8_weight_grad_hist")
def fig8(tables: StudyTables) -> plt.Figure:
    return init_histogram_figure(tables, "weight_grad", "weight gradient ∂C/∂W",
                                 "Glorot & Bengio Fig 8: weight gradients at initialization (tanh)",
                                 weight_grad_std_spread, "max/min of per-layer std")


@register("glorot2010_fig9_weight_grad_spread")
def fig9(tables: StudyTables) -> plt.Figure:
    fig, axes = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    for ax, init in zip(axes, INITS, strict=True):
        points = spread_rows(layer_curves(tables, "tanh", init, "weight_grad"))
        # one category per probe step, the layers side by side: mean ± std over units × examples
        sns.pointplot(points, x="step", y="value", dodge=0.6, errorbar="sd", capsize=0.03, linestyle="none",
                      marker="o", markersize=2.5, err_kws={"linewidth": 1.2}, ax=ax, **hue_by_layer(points))
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.set(xlabel="", ylabel="weight gradient (mean ± std)")
        ax.set_title(f"tanh, {init_label(init)}", fontsize=10)
        sns.move_legend(ax, "best", fontsize=7, ncol=3, title=None)
    axes[1].set_xlabel("updates (probe steps)")
    fig.suptitle("Glorot & Bengio Fig 9: spread of the weight gradients per layer during training",
                 fontsize=11)
    fig.tight_layout()
    return fig


def _test_error_rows(tables: StudyTables, dataset: str) -> pd.DataFrame:
    """The test-error rows (error in %) of the runs at the selected learning rate, with their model."""
    metrics = select(tables.metrics, data=dataset, split="test", block=list(TABLE1_BLOCKS))
    metrics = require(selected_runs(metrics, tables.summary), f"{dataset} test error")
    models = [MODEL_NAMES[key] for key in zip(metrics.activation, metrics.init, strict=True)]
    return metrics.assign(model=models, error=100 * metrics.error)


def test_error_curves(tables: StudyTables, dataset: str) -> pd.DataFrame:
    """Test error (%) per model and update, mean over seeds, of the runs at the selected learning rate."""
    metrics = select(tables.metrics, data=dataset, split="test", block=list(TABLE1_BLOCKS))
    metrics = require(selected_runs(metrics, tables.summary), f"{dataset} test error")
    curves = metrics.groupby(["activation", "init", "step"], as_index=False).error.mean()
    curves["model"] = [MODEL_NAMES[(a, i)] for a, i in zip(curves.activation, curves.init, strict=True)]
    curves["error"] *= 100
    return curves


def final_errors(curves: pd.DataFrame) -> pd.Series:
    """Each model's test error (%) at its last step, highest first (the paper's legend order)."""
    return curves.sort_values("step").groupby("model").error.last().sort_values(ascending=False)


def draw_test_error(ax, tables: StudyTables, dataset: str, digits: int) -> None:
    """Test error against updates, one line per model, seed mean ± sd: colour the activation
    (ACTIVATION_PALETTE), solid the normalized init, dashed the standard one; legend by final error."""
    rows = _test_error_rows(tables, dataset)
    final = final_errors(test_error_curves(tables, dataset))
    labels = {m: f"{m} ({final[m]:.{digits}f}%)" for m in final.index}
    hue = hue_by(rows, "model", {m: ACTIVATION_PALETTE.get(MODEL_KEYS[m][0]) for m in final.index}, labels,
                 final.index)
    dashes = {labels[m]: "" if MODEL_KEYS[m][1] == "glorot_uniform" else (4, 2) for m in final.index}
    sns.lineplot(rows, x="step", y="error", style=hue["hue"], dashes=dashes, marker="o", ms=3, mew=0,
                 lw=1.3, errorbar="sd", ax=ax, **hue)
    step_axis(ax, linthresh=1, label="number of updates")
    ax.set_ylabel("test error (%)")
    sns.move_legend(ax, "best", fontsize=7, title=None)


@register("glorot2010_fig11_test_error")
def fig11(tables: StudyTables) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw_test_error(ax, tables, "shapeset", digits=1)
    ax.set_title("Glorot & Bengio Fig 11: test error during online training on Shapeset-3x2", fontsize=10)
    return fig


@register("glorot2010_fig12_test_error_mnist_cifar10")
def fig12(tables: StudyTables) -> plt.Figure:
    """Fig 12: test error during training on MNIST (and CIFAR-10 where the study has it)."""
    datasets = [d for d in ("mnist", "cifar10") if d in set(tables.metrics["data"])]
    require(pd.DataFrame({"d": datasets}), "MNIST or CIFAR-10 runs")
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.3), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        draw_test_error(ax, tables, dataset, digits=2)
        ax.set_title(dataset, fontsize=10)
    fig.suptitle("Glorot & Bengio Fig 12: test error during training (legend: decreasing final error)",
                 fontsize=10)
    fig.tight_layout()
    return fig


@register("glorot2010_fig1_shapeset_examples")
def fig1(tables: StudyTables) -> plt.Figure:
    """Fig 1: Shapeset-3x2 images with their labels, from a run's examples table."""
    if tables.examples is None:
        raise ValueError("no examples table (examples.parquet) in the study tables: give a Shapeset block "
                         "probe.examples=2")
    examples = select(tables.examples, data="shapeset")
    axes_of_run = run_axes(examples, "examples")
    first = require(examples, "Shapeset examples").iloc[0]
    # every run shows the same images
    run = examples[(examples[axes_of_run] == first[axes_of_run]).all(axis=1)]
    ids = sorted(run.example.unique())
    cols = 6
    fig, axes = plt.subplots(-(-len(ids) // cols), cols, figsize=(1.6 * cols, 1.8 * -(-len(ids) // cols)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, example in zip(axes.flat, ids, strict=False):
        image = run[run.example == example].pivot(index="row", columns="col", values="value")
        ax.imshow(image.to_numpy(), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(run[run.example == example].class_name.iloc[0].replace("+", "\n+ "), fontsize=7)
    fig.suptitle("Glorot & Bengio Fig 1: Shapeset-3x2 test images and their labels", fontsize=10)
    fig.tight_layout()
    return fig


def cost_flatness(tables: StudyTables, threshold: float = 0.02) -> dict[str, dict[str, float]]:
    """Fig 5's numbers, per cost: its range over the grid and the share of the grid where its gradient norm
    (central differences) is below `threshold` (a plateau)."""
    if tables.cost_surface is None:
        raise ValueError("no cost_surface table in the study tables: give a one-hidden-layer Shapeset block "
                         "probe.cost_surface=true")
    frame = tables.cost_surface
    first = frame[frame.seed == frame.seed.min()]
    out = {}
    for cost, rows in first.groupby("cost"):
        grid = rows.pivot_table(index="w1", columns="w2", values="value")
        h1, h2 = np.diff(grid.index.to_numpy()).mean(), np.diff(grid.columns.to_numpy()).mean()
        g1, g2 = np.gradient(grid.to_numpy(), h1, h2)
        out[cost] = {"range": float(grid.to_numpy().max() - grid.to_numpy().min()),
                     "plateau": float((np.hypot(g1, g2) < threshold).mean())}
    return out


@register("glorot2010_fig5_cost_surfaces")
def fig5(tables: StudyTables) -> plt.Figure:
    """Fig 5: cross-entropy (black) and quadratic (red) cost over one weight of each layer of a trained
    one-hidden-layer tanh net, on the probe batch."""
    numbers = cost_flatness(tables)
    frame = tables.cost_surface
    frame = frame[frame.seed == frame.seed.min()]
    fig = plt.figure(figsize=(7.5, 6))
    ax = fig.add_subplot(projection="3d")
    for cost, color in (("cross_entropy", "black"), ("quadratic", "red")):
        grid = frame[frame.cost == cost].pivot_table(index="w1", columns="w2", values="value")
        w1, w2 = np.meshgrid(grid.index.to_numpy(), grid.columns.to_numpy(), indexing="ij")
        ax.plot_wireframe(w1, w2, grid.to_numpy(), color=color, lw=0.5, rstride=2, cstride=2,
                          label=f"{cost.replace('_', ' ')}: range {numbers[cost]['range']:.2f}, "
                                f"{numbers[cost]['plateau']:.0%} of the grid flat")
    ax.set_xlabel("W1 (first layer)")
    ax.set_ylabel("W2 (output layer)")
    ax.set_zlabel("cost")
    ax.legend(fontsize=7, loc="upper left")
    row = frame.iloc[0]
    ax.set_title(f"Glorot & Bengio Fig 5: cost over two weights of a 1-hidden-layer tanh net, "
                 f"step {int(row.step)}\n"
                 f"(unit {int(row.unit)}: input {int(row.input)} and output {int(row.output_class)}; "
                 f"trained values {row.w1_now:.2f}, {row.w2_now:.2f}; "
                 "flat: gradient norm < 0.02)", fontsize=9)
    return fig


@register("glorot2010_table1_test_error")
def table1_figure(tables: StudyTables) -> tuple[plt.Figure, pd.DataFrame]:
    ours = table1(tables)
    datasets = [d for d in ("shapeset", "mnist", "digits", "cifar10") if d in set(ours["data"])]
    wide = pd.DataFrame(index=PAPER_TABLE1.index.union(pd.Index(ours.model.unique()), sort=False))
    for dataset in datasets:
        rows = ours[ours["data"] == dataset].set_index("model")
        wide[f"{dataset} (fanin)"] = [
            (f"{rows.loc[m, 'mean']:.2f}"
             + (f" ± {rows.loc[m, 'std']:.2f}" if rows.loc[m, "count"] > 1 else ""))
            if m in rows.index else "" for m in wide.index]
        wide[f"{dataset} lr"] = [f"{rows.loc[m, 'lr']:g}" if m in rows.index else "" for m in wide.index]
        if dataset in PAPER_TABLE1:
            wide[f"{dataset} (paper)"] = [f"{PAPER_TABLE1.loc[m, dataset]:.2f}"
                                          if m in PAPER_TABLE1.index else "" for m in wide.index]
    wide.index.name = "model"
    fig, ax = plt.subplots(figsize=(1.9 * (len(wide.columns) + 1), 0.45 * (len(wide) + 2)))
    ax.axis("off")
    table = ax.table(cellText=wide.values, rowLabels=wide.index, colLabels=list(wide.columns), loc="center",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.4)
    ax.set_title("Glorot & Bengio Table 1: test error (%) — ours (mean ± std over seeds, "
                 "at the learning rate selected on validation) beside the paper's", fontsize=10)
    return fig, wide.reset_index()


@register("glorot2010_jacobian_ratio")
def jacobian_figure(tables: StudyTables) -> plt.Figure:
    rows = select(tables.jacobian, block=[model_block("tanh", init) for init in INITS])
    rows = require(rows, "Jacobian singular values of tanh Shapeset runs")
    steps = sorted(rows.step.unique())
    fig, axes = plt.subplots(1, len(steps), figsize=(4.2 * len(steps), 3.8), sharey=True, squeeze=False)
    for ax, step in zip(axes[0], steps, strict=True):
        at = rows[rows.step == step]
        mean = at.groupby(["init", "layer"]).sv_mean.mean().groupby("init").mean()  # over layers, seed means
        labels = {init: f"{init_label(init)}: mean {mean[init]:.2f}" for init in mean.index}
        sns.lineplot(at, x="layer", y="sv_mean", marker="o", errorbar="sd", ax=ax,
                     **hue_by_init(at, INITS, labels=labels))
        for init in present(at, INITS):
            ax.axhline(PAPER_JACOBIAN[init], color=init_color(init), ls=":", lw=1)
        ax.set_xticks(sorted(at.layer.unique()))
        ax.set(xlabel="layer l (Jacobian ∂z$^{l+1}$/∂z$^l$)", ylabel="mean singular value")
        ax.set_title(f"step {step}" + (" (initialization)" if step == 0 else ""), fontsize=10)
        sns.move_legend(ax, "best", fontsize=7, title=None)
    ratio = (jacobian_mean_singular_value(tables, "glorot_uniform")
             / jacobian_mean_singular_value(tables, "standard"))
    fig.suptitle(f"Glorot & Bengio §4.2.2: layer-to-layer Jacobians, tanh (dotted: paper's 0.8 and 0.5); "
                 f"normalized / standard = {ratio:.2f}", fontsize=10)
    fig.tight_layout()
    return fig


def variance_recurrence(tables: StudyTables, activation: str, init: str) -> pd.DataFrame:
    """Per layer at initialization, the measured second moment of s^l and the recurrence's prediction
    n Var(W) E[(z^{l-1})^2], with n Var(W) the run's own (summary.csv's `hidden_n_var_w`). The prediction
    starts at layer 2: layer 1's input moments are the data's, not a hidden layer's."""
    pre = layer_curves(tables, activation, init, "preact")
    act = layer_curves(tables, activation, init, "act")
    pre0, act0 = pre[pre.step == 0].set_index("layer"), act[act.step == 0].set_index("layer")
    runs = select(tables.summary, block=model_block(activation, init))
    n_var_w = float(require(runs, f"summary.csv rows of {activation} / {init} on shapeset")
                    .hidden_n_var_w.iloc[0])
    z2 = act0["mean"] ** 2 + act0["std"] ** 2
    measured = pre0["std"] ** 2 + pre0["mean"] ** 2
    predicted = (n_var_w * z2.shift(1)).reindex(measured.index)
    return pd.DataFrame({"measured": measured, "predicted": predicted})


THEORY = "n Var(W) E[z²] (theory)"  # the variance figure's predicted line


@register("glorot2010_variance_by_layer")
def variance_figure(tables: StudyTables) -> plt.Figure:
    """Measured Var(s^l) at initialization against n Var(W) E[(z^{l-1})^2], the variance recurrence."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, activation in zip(axes, ("tanh", "softsign"), strict=True):
        moments = pd.concat([variance_recurrence(tables, activation, init).rename_axis("layer").reset_index()
                             .assign(init=init) for init in INITS], ignore_index=True)
        moments = moments.melt(["layer", "init"], ["measured", "predicted"], var_name="kind", value_name="m2")
        kind = moments["kind"].map({"measured": "measured", "predicted": THEORY})
        sns.lineplot(moments, x="layer", y="m2", style=kind, markers={"measured": "o", THEORY: "X"},
                     dashes={"measured": "", THEORY: (4, 2)}, errorbar=None, ax=ax,
                     **hue_by_init(moments, INITS))
        ax.set_yscale("log")
        ax.set_xticks(sorted(moments.layer.unique()))
        ax.set(xlabel="layer", ylabel="Var(s) of pre-activations")
        ax.set_title(f"{activation}, Shapeset, at initialization", fontsize=10)
        sns.move_legend(ax, "best", fontsize=7, title=None)
    fig.suptitle("Variance recurrence Var(s$^l$) = n Var(W) E[(z$^{l-1}$)²] against the measured variance",
                 fontsize=10)
    fig.tight_layout()
    return fig
