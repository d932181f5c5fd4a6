"""What every figure shares: reading a study's tables, the vocabulary figures are drawn with (one colour and
one name per init, each run's last value, the seed mean, the step axis, the numbers box), the look, and
atomic PDF + PNG output.

A figure selects tidy rows (`select`, `require`), draws them with one seaborn call (`sns.lineplot(rows, x=,
y=, hue="init", style=, errorbar="sd", **hue_by_init(rows))`, `sns.heatmap`, `sns.histplot`) and prints the
numbers that make its effect true in a `numbers_box` at a fixed corner. Other axes have their palette here
too: `hue_by_layer` (LAYER_PALETTE), ACTIVATION_PALETTE, or any `hue_by(rows, column, colors)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display is assumed anywhere

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from fanin.contract import OPTIONAL_TABLES, RUN_TABLES, TABLES  # noqa: E402
from fanin.io import atomic_write  # noqa: E402

# Readable names for the legends, as the papers write them.
INIT_LABELS = {
    "standard": "standard U(±1/√n)",
    "glorot_uniform": "normalized (Glorot)",
    "xavier_he_baseline": "Xavier N(0, 1/n)",
    "he_normal": "He N(0, 2/n)",
    "zeros": "zero",
    "too_small": "too small",
    "too_large": "too large",
    "standard_normal": "standard normal",
}
# Shorter names for the lines of a numbers box.
INIT_SHORT = {
    "standard": "standard", "glorot_uniform": "normalized", "xavier_he_baseline": "Xavier", "he_normal": "He",
    "zeros": "zero", "too_small": "too small", "too_large": "too large", "standard_normal": "std normal",
}

# One colour per registered init (fanin.inits.INIT_SCHEMES), the same in every figure, no two alike. The
# inits the papers compare have tab10's strong colours (He et al.'s Xavier blue and He red, as their
# captions say; the mean-field Gaussian / orthogonal pair is another blue / red, as the isometry caption
# says); the others, drawn only in the ablation's heat maps, tab20's light ones, near their family's colour.
INIT_PALETTE = {
    "xavier_he_baseline": "tab:blue",
    "he_normal": "tab:red",
    "standard": "tab:orange",
    "glorot_uniform": "tab:green",
    "standard_normal": "tab:purple",
    "zeros": "tab:gray",
    "too_small": "tab:olive",
    "too_large": "tab:brown",
    "scaled_identity": "tab:cyan",
    "lsuv": "tab:pink",
    "mean_field_normal": "royalblue",
    "mean_field_orthogonal": "firebrick",
    "orthogonal": "#393b79",
    "lecun_normal": "#aec7e8",
    "lecun_uniform": "#9edae5",
    "uniform": "#ffbb78",
    "glorot_normal": "#98df8a",
    "he_uniform": "#ff9896",
    "normal": "#c5b0d5",
    "rbm_normal": "#c49c94",
    "sparse": "#f7b6d2",
    "constant": "#c7c7c7",
    "bengio_sigmoid": "#dbdb8d",
}
OTHER_INIT_COLOR = "0.3"  # an init the palette does not know (a plugin's)
# One colour per activation (fanin.activations.ACTIVATIONS), for figures whose lines are models (activation ×
# init: colour the activation, dash the init): Dark2's, none of them the strong tab10 colours of the inits.
ACTIVATION_PALETTE = {"tanh": "#1b9e77", "softsign": "#d95f02", "sigmoid": "#7570b3", "relu": "#e7298a",
                      "leaky_relu": "#66a61e", "prelu": "#e6ab02", "linear": "#a6761d"}
# Hidden layers from the first (dark) to the top (light), as Glorot & Bengio draw them.
LAYER_PALETTE = "viridis"


@dataclass
class StudyTables:
    """A study's collected tables (results/<scale>/<study>/tables/): one column per run axis, then the
    run's columns."""

    metrics: pd.DataFrame
    layer_stats: pd.DataFrame
    histograms: pd.DataFrame
    jacobian: pd.DataFrame
    summary: pd.DataFrame
    signal: pd.DataFrame | None = None  # written by every run, empty where no run measures it
    # the optional tables (fanin.contract.OPTIONAL_TABLES): None where the study has none
    boundary: pd.DataFrame | None = None
    examples: pd.DataFrame | None = None
    cost_surface: pd.DataFrame | None = None
    spectrum: pd.DataFrame | None = None

    @classmethod
    def load(cls, tables_dir: str | Path) -> StudyTables:
        tables_dir = Path(tables_dir)
        frames = {name: pd.read_parquet(tables_dir / f"{name}.parquet") for name in TABLES}
        for name in OPTIONAL_TABLES:
            path = tables_dir / f"{name}.parquet"
            frame = pd.read_parquet(path) if path.exists() else None
            frames[name] = frame if frame is not None and len(frame) else None
        return cls(**frames, summary=pd.read_csv(tables_dir / "summary.csv"))


def select(frame: pd.DataFrame, **axes) -> pd.DataFrame:
    """Rows whose axis columns equal the given values (a list means any of them)."""
    mask = pd.Series(True, index=frame.index)
    for key, value in axes.items():
        mask &= frame[key].isin(value) if isinstance(value, (list, tuple, set)) else frame[key] == value
    return frame[mask]


def selected_runs(frame: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Rows of `frame` from runs whose learning rate the validation set selected (summary.csv's `selected`).

    Rows are matched on the axis columns the two tables share; with one learning rate per configuration
    every run is selected and `frame` comes back whole.
    """
    runs = summary[(summary.level == "run") & summary.selected.astype(bool)]
    keys = [c for c in frame.columns if c in runs.columns]
    return frame[frame.set_index(keys).index.isin(runs.set_index(keys).index)]


def require(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """A figure with nothing to draw is an error naming what was missing, never a blank picture."""
    if frame.empty:
        raise ValueError(f"no rows for {what} in the study tables; does the study's grid include these runs?")
    return frame


def run_axes(frame: pd.DataFrame, table: str) -> list[str]:
    """The run-axis columns of a study table: every column that is not one of the run's own columns. Rows
    that agree on all of them are one run's."""
    own = RUN_TABLES.get(table) or OPTIONAL_TABLES[table]
    return [c for c in frame.columns if c not in own]


def present(frame: pd.DataFrame, names: Iterable[str], column: str = "init") -> list[str]:
    """`names` that occur in `frame[column]`, in the order given (a figure's order, not the table's)."""
    have = set(frame[column])
    return [name for name in names if name in have]


# --- the numbers: each run's last value, the seed mean, a curve staying below a threshold ---------------


def last_rows(frame: pd.DataFrame, table: str = "metrics") -> pd.DataFrame:
    """Each run's row at its last step (give rows of one split or quantity). A run axis only some runs
    have (NaN in the others) still tells runs apart."""
    return frame.sort_values("step", kind="stable").groupby(run_axes(frame, table), sort=False,
                                                              dropna=False).tail(1)


def last_per_run(frame: pd.DataFrame, value: str, by: str | Sequence[str] = "init",
                 table: str = "metrics") -> pd.Series:
    """`value` at each run's last step, averaged over the runs of each `by` group (over seeds and any other
    axis that varies): a figure's "final error". Indexed by `by`."""
    return last_rows(frame, table).groupby(by, sort=False)[value].mean()


def seed_mean(frame: pd.DataFrame, values: str | Sequence[str], by: Sequence[str]) -> pd.DataFrame:
    """Mean and sd of each of `values` over the rows of each `by` group (seeds and any other varying axis):
    columns *by, <value>_mean, <value>_std (NaN for one run), runs. For the numbers; a figure's curves are
    drawn from the rows themselves (sns.lineplot(..., errorbar="sd") takes the same mean and sd)."""
    values = [values] if isinstance(values, str) else list(values)
    aggs = {f"{v}_{stat}": (v, stat) for v in values for stat in ("mean", "std")}
    return frame.groupby(list(by), sort=True).agg(**aggs, runs=(values[0], "size")).reset_index()


def first_step_staying_below(curve: pd.Series, threshold: float, or_equal: bool = False) -> float:
    """The first step (of `curve`, values indexed by step) from which the curve stays below `threshold`
    (or at it, with `or_equal`) at every later step; math.inf if its last value is not below. A dip that
    rises again does not count, so the noise of a few early minibatches is not progress; NaN (a diverged
    run) is never below."""
    curve = curve.sort_index()
    values = curve.to_numpy(float)
    below = values <= threshold if or_equal else values < threshold
    above = np.flatnonzero(~below)
    start = int(above[-1]) + 1 if len(above) else 0
    return float(curve.index[start]) if start < len(curve) else math.inf


def steps_text(step: float) -> str:
    """A step from `first_step_staying_below` for a numbers box: "step 300", or "never"."""
    return f"step {step:.0f}" if math.isfinite(step) else "never"


# --- drawing: names, colours, the step axis, the numbers box -------------------------------------------


def init_label(name: str) -> str:
    """An init's name in a legend, as the papers write it (the registry's name if they do not)."""
    return INIT_LABELS.get(name, name)


def short_label(name: str) -> str:
    """An init's name in a numbers box ("Xavier", "He")."""
    return INIT_SHORT.get(name, init_label(name))


def init_color(name: str):
    """An init's colour in every figure (INIT_PALETTE)."""
    return INIT_PALETTE.get(name, OTHER_INIT_COLOR)


def hue_by_init(rows: pd.DataFrame, order: Iterable[str] | None = None, column: str = "init",
                labels: dict[str, str] | None = None) -> dict:
    """The seaborn keywords that colour `rows` by init with INIT_PALETTE: `sns.lineplot(rows, ...,
    **hue_by_init(rows))`. `column` holds the init names (order: `order`'s, else first appearance); the
    legend shows `labels[name]` (default: `init_label`). `rows` is left as it is: the labels are a Series
    seaborn reads as the hue."""
    label = (labels or {}).get
    shown = {name: label(name) or init_label(name) for name in set(rows[column])}
    return hue_by(rows, column, INIT_PALETTE, shown, order)


def hue_by(rows: pd.DataFrame, column: str, colors: dict, labels: dict | None = None,
           order: Iterable | None = None) -> dict:
    """The seaborn keywords that colour `rows` by the values of `column` with `colors` (value: colour; one it
    lacks is OTHER_INIT_COLOR): hue_by_init for any axis (a layer, a scale). The legend shows `labels[value]`
    (default: the value); order: `order`'s, else first appearance."""
    names = present(rows, order, column) if order is not None else list(dict.fromkeys(rows[column]))
    label = (labels or {}).get
    shown = {name: label(name) or str(name) for name in names}
    return {"hue": rows[column].map(shown).rename(column), "hue_order": list(shown.values()),
            "palette": {shown[name]: colors.get(name, OTHER_INIT_COLOR) for name in names}}


def layer_colors(layers: Iterable[int]) -> dict:
    """One colour per hidden layer (LAYER_PALETTE), dark for the first, light for the top."""
    layers = sorted(set(layers))
    colours = plt.get_cmap(LAYER_PALETTE)(np.linspace(0.05, 0.85, len(layers)))
    return dict(zip(layers, map(tuple, colours), strict=True))


def hue_by_layer(rows: pd.DataFrame, column: str = "layer") -> dict:
    """The seaborn keywords that colour `rows` by hidden layer (layer_colors), labelled "layer 1", ... in
    layer order."""
    layers = sorted(set(rows[column]))
    return hue_by(rows, column, layer_colors(layers), {ell: f"layer {ell}" for ell in layers}, layers)


def spread_rows(frame: pd.DataFrame, mean: str = "mean", sd: str = "std", value: str = "value"
                ) -> pd.DataFrame:
    """`frame` three times over, with `value` = mean − sd, mean, mean + sd: rows whose mean is `mean` and
    whose sample sd is `sd` exactly. seaborn's errorbar="sd" then draws a spread the table holds as a column
    (a layer's std over units × examples, from layer_stats) rather than one over rows. Give one row per
    point."""
    return pd.concat([frame.assign(**{value: frame[mean] + k * frame[sd]}) for k in (-1, 0, 1)],
                     ignore_index=True)


def step_axis(ax: plt.Axes, log: bool = True, label: str = "training step (SGD updates)",
              linthresh: float = 1.0) -> None:
    """The x axis of a curve over training: from 0 on, on a symlog scale (linear below `linthresh`, so step
    0 is drawn; logarithmic above, so the first updates are not squeezed into the origin), or linear."""
    if log:
        ax.set_xscale("symlog", linthresh=linthresh, linscale=0.4)
        label = f"{label}, symlog scale"
    ax.set_xlim(left=0)
    ax.set_xlabel(label)


# Where a numbers box (or a legend) sits: the corners of the axes, and two places to its right.
CORNERS = {  # loc: (x, y, ha, va) in axes coordinates
    "upper left": (0.02, 0.98, "left", "top"), "upper right": (0.98, 0.98, "right", "top"),
    "lower left": (0.02, 0.02, "left", "bottom"), "lower right": (0.98, 0.02, "right", "bottom"),
    "outside upper right": (1.02, 1.0, "left", "top"), "outside lower right": (1.02, 0.0, "left", "bottom"),
}


def numbers_box(ax: plt.Axes, lines: Iterable[str], loc: str = "upper right", fontsize: float = 8):
    """The numbers that make a figure's effect true, one per line, in a boxed text at a corner of `ax`
    (CORNERS: inside, or "outside upper/lower right" beside it). An ax.text: `ax.texts` holds it."""
    x, y, ha, va = CORNERS[loc]
    return ax.text(x, y, "\n".join(lines), transform=ax.transAxes, ha=ha, va=va, fontsize=fontsize,
                   bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "0.7"})


def legend_outside(ax: plt.Axes, **kwargs) -> None:
    """The axes' legend (seaborn's, or one from the labelled artists) to its right, top-aligned: the
    "outside upper right" corner, above a numbers box at "outside lower right"."""
    place = {"loc": "upper left", "bbox_to_anchor": CORNERS["outside upper right"][:2], **kwargs}
    if ax.get_legend() is not None:
        sns.move_legend(ax, **place)
    else:
        ax.legend(**place)


def style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)


def save_figure(fig: plt.Figure, out_stem: str | Path) -> list[Path]:
    """Write `<out_stem>.pdf` and `<out_stem>.png`, each atomically, and close the figure."""
    out_stem = Path(out_stem)
    paths = []
    for suffix, kwargs in ((".pdf", {}), (".png", {"dpi": 150})):
        path = out_stem.with_suffix(suffix)
        atomic_write(path, lambda tmp, kw=kwargs, s=suffix:
                     fig.savefig(tmp, format=s[1:], bbox_inches="tight", **kw))
        paths.append(path)
    plt.close(fig)
    return paths
