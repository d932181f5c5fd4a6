"""Schoenholz et al. 2017 ("Deep information propagation"): signal propagation at initialization against the
mean-field theory, for tanh MLPs with weights N(0, σ_w²/n) and biases N(0, σ_b²) (`mean_field_normal`).

The signal figures read the `signal` table (fanin.probes.signal), which holds each layer's measured length q
and layer-Jacobian χ₁ beside what the theory predicts from the layer's own weights: the figures compute
nothing the tables do not hold, and import no theory.

- `schoenholz2017_length_map`: q^l against depth for several σ_w², the measured lengths (markers) on the
  length map's trajectory (lines), each settling at its fixed point q*.
- `schoenholz2017_chi1`: χ₁ against σ_w², measured (mean ± sd over the deep layers) and predicted, crossing 1
  at the critical point: vanishing gradients below it (the ordered phase), exploding above (chaotic).
- `schoenholz2017_trainability`: the final training accuracy over (σ_w², depth) after a fixed budget, with
  6 ξ_c, the paper's bound on the trainable depth (ξ_c from summary.csv: the runs record it).
- `schoenholz2017_isometry`: Pennington et al.'s dynamical isometry (the `spectrum` table).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import NullLocator, ScalarFormatter

from fanin.figures import register
from fanin.figures.common import StudyTables, init_color, require

SIGMA_W2 = "init.sigma_w2"
SIGMA_B2 = "init.sigma_b2"
BLOCK = "signal"
DEEP_FROM = 5  # χ₁ is averaged over layers >= this: by then q^l has settled near q*


def signal_rows(tables: StudyTables) -> pd.DataFrame:
    """The signal block's rows at initialization (step 0), with its σ_w² as a plain column."""
    frame = tables.signal
    if frame is None or frame.empty:
        raise ValueError("no rows for the signal table in the study tables; does the study's grid measure "
                         "probe.jacobian_steps=[0]?")
    rows = require(frame[(frame["block"] == BLOCK) & (frame["step"] == 0)],
                   f"step-0 signal rows of block {BLOCK}")
    return rows.rename(columns={SIGMA_W2: "sigma_w2_axis"})


def chi1_by_sigma_w2(tables: StudyTables) -> pd.DataFrame:
    """Per σ_w² (the axis): measured and predicted χ₁, mean and sd over the runs' layers >= DEEP_FROM."""
    rows = signal_rows(tables)
    deep = rows[rows["layer"] >= DEEP_FROM]
    out = deep.groupby("sigma_w2_axis").agg(chi1=("chi1", "mean"), chi1_sd=("chi1", "std"),
                                              chi1_theory=("chi1_theory", "mean"))
    return out.reset_index().sort_values("sigma_w2_axis")


def critical_sigma_w2(chi: pd.DataFrame, column: str) -> float:
    """Where `column` crosses 1, by linear interpolation between the grid's σ_w² (NaN if it does not)."""
    x, y = chi["sigma_w2_axis"].to_numpy(float), chi[column].to_numpy(float) - 1.0
    for i in range(len(x) - 1):
        if y[i] <= 0 < y[i + 1]:
            return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
    return float("nan")


def length_map_error(tables: StudyTables) -> float:
    """The median over runs and layers of |q / q_theory − 1|: how far measurement is from the trajectory."""
    rows = signal_rows(tables)
    return float(np.median(np.abs(rows["q"] / rows["q_theory"] - 1.0)))


@register("schoenholz2017_length_map")
def length_map(tables: StudyTables) -> plt.Figure:
    rows = signal_rows(tables)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    palette = sns.color_palette("viridis", rows["sigma_w2_axis"].nunique())
    sns.lineplot(rows, x="layer", y="q_theory", hue="sigma_w2_axis", palette=palette, errorbar=None, ax=ax,
                 legend=False)
    sns.scatterplot(rows, x="layer", y="q", hue="sigma_w2_axis", palette=palette, ax=ax, s=18)
    error = length_map_error(tables)
    ax.set(xlabel="layer l", ylabel="pre-activation length $q^l$", yscale="log",
           title="Schoenholz et al. (2017): lengths at initialization follow the length map\n"
                 f"markers: measured, lines: theory; median |q / q_theory − 1| = {error:.1%}")
    ax.legend(title="$\\sigma_w^2$", fontsize=8, ncols=2)
    return fig


@register("schoenholz2017_chi1")
def chi1(tables: StudyTables) -> plt.Figure:
    rows = signal_rows(tables)
    deep = rows[rows["layer"] >= DEEP_FROM]
    chi = chi1_by_sigma_w2(tables)
    measured, predicted = critical_sigma_w2(chi, "chi1"), critical_sigma_w2(chi, "chi1_theory")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    sns.lineplot(deep, x="sigma_w2_axis", y="chi1_theory", errorbar=None, color="black", lw=1.2, ax=ax,
                 label="mean-field $\\chi_1$")
    sns.lineplot(deep, x="sigma_w2_axis", y="chi1", errorbar="sd", err_style="bars", linestyle="", marker="o",
                 color="tab:red", ms=6, mew=0, err_kws={"capsize": 3}, ax=ax,
                 label=f"measured (layers ≥ {DEEP_FROM}, mean ± sd)")
    ax.axhline(1.0, color="grey", ls="--", lw=0.8)
    ax.axvline(predicted, color="grey", ls=":", lw=0.8)
    ax.set(xlabel="$\\sigma_w^2$",
           ylabel="$\\chi_1$: mean squared singular value of $\\partial s^l/\\partial s^{l-1}$",
           title=f"Schoenholz et al. (2017): χ₁ = 1 at σ_w² = {predicted:.3f} (theory), {measured:.3f} "
                 "(measured)\nordered (vanishing gradients) below, chaotic (exploding) above")
    ax.legend(fontsize=8)
    return fig


# --- dynamical isometry (Pennington et al. 2017) ---------------------------------------------------------

ISOMETRY_BLOCKS = ("isometry_tanh", "isometry_relu", "isometry_linear")
WEIGHTS = {"mean_field_normal": "Gaussian", "mean_field_orthogonal": "orthogonal"}
WEIGHT_COLORS = {weights: init_color(init) for init, weights in WEIGHTS.items()}  # blue, red (INIT_PALETTE)


def spectrum_spread(tables: StudyTables) -> pd.DataFrame:
    """Per activation, weights and layer of the isometry blocks (step 0): var(λ)/mean(λ)² of the squared
    singular values λ of ∂s^l/∂s^1 over the probe examples (0 for an isometry), and mean(λ)."""
    frame = tables.spectrum
    if frame is None or frame.empty:
        raise ValueError("no rows for the spectrum table in the study tables; does the study's grid measure "
                         "probe.spectrum=true?")
    rows = require(frame[frame["block"].isin(ISOMETRY_BLOCKS) & (frame["step"] == 0)],
                   f"step-0 spectrum rows of blocks {', '.join(ISOMETRY_BLOCKS)}")
    rows = rows.assign(squared=rows["singular_value"] ** 2, weights=rows["init"].map(WEIGHTS))
    grouped = rows.groupby(["activation", "weights", "layer"])["squared"]
    out = grouped.agg(mean_squared="mean", variance="var").reset_index()
    return out.assign(spread=out["variance"] / out["mean_squared"] ** 2)


@register("schoenholz2017_isometry")
def isometry(tables: StudyTables) -> plt.Figure:
    spread = spectrum_spread(tables)
    activations = [a for a in ("tanh", "relu", "linear") if a in set(spread["activation"])]
    grid = sns.relplot(spread, x="layer", y="spread", hue="weights", palette=WEIGHT_COLORS, col="activation",
                       col_order=activations, kind="line", marker="o", height=3.8, aspect=4.0 / 3.8,
                       facet_kws={"sharex": False, "sharey": False})
    for activation, ax in grid.axes_dict.items():
        rows = spread[spread["activation"] == activation]
        last = rows[rows["layer"] == rows["layer"].max()].set_index("weights")["spread"]
        numbers = ", ".join(f"{w} {v:.3g}" for w, v in last.items())
        ax.set(xscale="log", yscale="symlog", xlabel="layer l", ylabel="var(λ) / mean(λ)²",
               title=f"{activation}, at criticality\nlayer {rows['layer'].max()}: {numbers}")
        ax.set_xticks(sorted(rows["layer"].unique()))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
    grid.legend.set_title(None)
    grid.figure.suptitle("Pennington et al. (2017): the spread of the squared singular values λ of "
                         "∂s$^l$/∂s$^1$ (0: dynamical isometry)", fontsize=10)
    grid.tight_layout()
    return grid.figure


# --- trainability (Schoenholz et al. 2017) ----------------------------------------------------------------

TRAINABILITY_BLOCK = "trainability"
XI_C_MULTIPLE = 6  # the paper's bound: a network deeper than about 6 ξ_c does not train
TRAINABLE_ERROR = 0.5  # trained: below this training error (chance is 0.9 with ten classes)


def trainability_runs(tables: StudyTables) -> pd.DataFrame:
    """The trainability block's run rows of summary.csv."""
    summary = tables.summary
    return require(summary[(summary["level"] == "run") & (summary["block"] == TRAINABILITY_BLOCK)],
                   f"runs of block {TRAINABILITY_BLOCK} in summary.csv")


def trainability(tables: StudyTables) -> pd.DataFrame:
    """Per (σ_w², depth) of the trainability block: final training error (over the last updates before the
    end, mean over seeds; NaN where every seed diverged), the runs' ξ_c (summary.csv, from fanin.meanfield
    in the run; infinite at the critical point) and whether the depth is beyond XI_C_MULTIPLE ξ_c."""
    out = (trainability_runs(tables).groupby([SIGMA_W2, "depth"])
           .agg(train_error=("final_train_error", "mean"), xi_c=("xi_c", "first"), seeds=("seed", "count"))
           .reset_index().rename(columns={SIGMA_W2: "sigma_w2_axis"}))
    out["xi_c"] = out["xi_c"].astype(float).fillna(np.inf)
    out["beyond_bound"] = out["depth"] > XI_C_MULTIPLE * out["xi_c"]
    out["trained"] = out["train_error"] < TRAINABLE_ERROR
    return out


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around sorted grid values: the midpoints, and half a step beyond each end."""
    if len(values) == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    mid = (values[1:] + values[:-1]) / 2
    return np.concatenate([[2 * values[0] - mid[0]], mid, [2 * values[-1] - mid[-1]]])


@register("schoenholz2017_trainability")
def trainability_map(tables: StudyTables) -> plt.Figure:
    cells = trainability(tables)
    grid = cells.pivot(index="depth", columns="sigma_w2_axis", values="train_error")
    sigma, depth = grid.columns.to_numpy(float), grid.index.to_numpy(float)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    mesh = ax.pcolormesh(_edges(sigma), _edges(depth), 1.0 - grid.to_numpy(float), cmap="viridis",
                         vmin=0.0, vmax=1.0)
    fig.colorbar(mesh, ax=ax, label="training accuracy (last updates)")
    bound = cells.drop_duplicates("sigma_w2_axis").sort_values("sigma_w2_axis")
    ax.plot(bound["sigma_w2_axis"], XI_C_MULTIPLE * bound["xi_c"], "w--", lw=1.5,
            label=f"{XI_C_MULTIPLE} ξ$_c$ (mean field)")
    ax.set_ylim(_edges(depth)[[0, -1]])
    ax.set_xlim(_edges(sigma)[[0, -1]])
    beyond, within = cells[cells["beyond_bound"]], cells[~cells["beyond_bound"]]
    ax.set(xlabel="σ$_w^2$", ylabel="depth (hidden layers)",
           title=f"trained (error < {TRAINABLE_ERROR}) beyond {XI_C_MULTIPLE} ξ$_c$: "
                 f"{int(beyond['trained'].sum())} of {len(beyond)} cells; within: "
                 f"{int(within['trained'].sum())} of {len(within)}")
    ax.legend(loc="upper right", fontsize=8)
    runs = trainability_runs(tables)
    sigma_b2 = ", ".join(f"{v:g}" for v in runs[SIGMA_B2].unique())
    fig.suptitle(f"Schoenholz et al. (2017): tanh nets are trainable only within a few ξ$_c$ of depth "
                 f"({int(runs['steps'].max())} updates, σ$_b^2$ = {sigma_b2})", fontsize=10)
    fig.tight_layout()
    return fig

