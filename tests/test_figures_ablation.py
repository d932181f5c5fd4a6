"""Ablation heat maps: the numbers per cell on synthetic tables, NaN-safe statistics, the study's grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fanin.contract import RUN_TABLES, STAT_COLUMNS
from fanin.figures import FIGURES, ablation, figure
from fanin.figures.common import StudyTables
from fanin.inits import INIT_SCHEMES
from fanin.plan.studies import expand_study, study_figures
from tests.helpers import REPO, STUDIES_DIR

NAMES = ("ablation_heatmap_error", "ablation_heatmap_gradient_ratio")
INITS = ("zeros", "glorot_uniform", "he_normal")
ACTIVATIONS = ("relu", "tanh")
DEPTHS = (3, 5)
DECADES_PER_LAYER = {"glorot_uniform": -0.5, "he_normal": 0.25}  # log10 std(dC/ds) grows by this per layer


def final_error(init: str, activation: str, depth: int, seed: int, dataset: str) -> float:
    base = {"zeros": 0.9, "glorot_uniform": 0.2, "he_normal": 0.1}[init]
    offset = (0.1 if activation == "tanh" else 0.0) + (0.04 if dataset == "b" else 0.0)
    return base + 0.01 * depth + 0.02 * seed + offset


def synthetic_tables(seeds=(0, 1), datasets=("a", "b"), inits=INITS,
                     diverged=(("he_normal", "tanh", 5, 1, "b"),), extra_axis: bool = False) -> StudyTables:
    """Runs of every init x activation x depth x seed x dataset; `diverged` lists the runs whose training
    loss turns NaN at the last step. std(dC/ds) at layer l is 10^(DECADES_PER_LAYER * l), zero for zeros."""
    metrics, stats = [], []
    for init in inits:
        for activation in ACTIVATIONS:
            for depth in DEPTHS:
                for seed in seeds:
                    for dataset in datasets:
                        axes = {"data": dataset, "activation": activation, "init": init, "depth": depth,
                                "width": 16, "seed": seed}
                        if extra_axis:  # like the smoke study's init.scale: only some runs have the axis
                            axes["init.scale"] = 1.5 if init == "glorot_uniform" else np.nan
                        bad = (init, activation, depth, seed, dataset) in diverged
                        error = final_error(init, activation, depth, seed, dataset)
                        for step in (0, 10, 20):
                            for split in ("train", "valid", "test"):
                                if split == "train" and step == 0:
                                    continue
                                loss = math.nan if bad and step == 20 and split == "train" else 1.0
                                value = 0.9 if bad and step == 20 else (error if step == 20 else 0.9)
                                metrics.append({**axes, "step": step, "epoch": step / 100, "split": split,
                                                "loss": loss, "error": value})
                        for layer in range(1, depth + 2):
                            row = dict.fromkeys(STAT_COLUMNS, 0.0)
                            if init != "zeros":  # zero weights: zero back-propagated gradients
                                row["std"] = 10.0 ** (DECADES_PER_LAYER[init] * layer)
                            stats.append({**axes, "step": 0, "layer": layer, "quantity": "backprop", **row})
                            stats.append({**axes, "step": 0, "layer": layer, "quantity": "preact", **row})
    axis_names = list(metrics[0])[: -len(RUN_TABLES["metrics"])]
    empty = {name: pd.DataFrame(columns=[*axis_names, *cols]) for name, cols in RUN_TABLES.items()}
    return StudyTables(metrics=pd.DataFrame(metrics), layer_stats=pd.DataFrame(stats),
                       histograms=empty["histograms"], jacobian=empty["jacobian"], summary=pd.DataFrame())


@pytest.fixture(scope="module")
def tables() -> StudyTables:
    return synthetic_tables()


def test_error_cells_average_the_seeds_and_other_axes_and_count_divergences(tables):
    error, diverged, runs = ablation.error_matrix(tables)
    assert list(error.index) == ["zeros", "glorot_uniform", "he_normal"]  # the registry's order
    assert list(error.columns) == [("tanh", 3), ("tanh", 5), ("relu", 3), ("relu", 5)]
    # mean over seeds 0, 1 (+0.01) and datasets a, b (+0.02)
    assert error.loc["glorot_uniform", ("relu", 5)] == pytest.approx(0.2 + 0.05 + 0.01 + 0.02)
    assert (runs.to_numpy() == 4).all()
    assert diverged.loc["he_normal", ("tanh", 5)] == 1 and diverged.to_numpy().sum() == 1
    # the diverged run is left out of the mean: seeds 0/1 x datasets a/b minus (seed 1, b)
    kept = [final_error("he_normal", "tanh", 5, s, d) for s, d in ((0, "a"), (0, "b"), (1, "a"))]
    assert error.loc["he_normal", ("tanh", 5)] == pytest.approx(np.mean(kept))


def test_gradient_ratio_is_log10_layer1_over_last_hidden_and_nan_for_zero_gradients(tables):
    ratio, missing, runs = ablation.gradient_ratio_matrix(tables)
    for init, per_layer in DECADES_PER_LAYER.items():
        for depth in DEPTHS:
            # log10(std_1 / std_depth) = per_layer * (1 - depth): vanishing toward the input < 0 < exploding
            assert ratio.loc[init, ("relu", depth)] == pytest.approx(per_layer * (1 - depth))
    assert ratio.loc["glorot_uniform", ("tanh", 5)] == pytest.approx(2.0)
    assert ratio.loc["he_normal", ("tanh", 5)] == pytest.approx(-1.0)
    assert ratio.loc["zeros"].isna().all() and (missing.loc["zeros"] == 4).all()


def test_averaged_axes_are_named_in_the_title(tables):
    assert ablation.averaged_axes(tables.metrics, "metrics") == {"seed": [0, 1], "data": ["a", "b"]}
    for name in NAMES:
        title = figure(name)(tables)._suptitle.get_text().replace("\n", " ")
        assert "mean over" in title and "seed (0, 1)" in title and "data (a, b)" in title


def cell_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_error_heatmap_annotates_values_and_divergences(tables):
    fig = figure("ablation_heatmap_error")(tables)
    texts = cell_texts(fig)
    assert len(texts) == 12 and f"{0.2 + 0.05 + 0.01 + 0.02:.2f}" in texts
    assert any("1/4 div" in t for t in texts)
    all_diverged = synthetic_tables(seeds=(0,), datasets=("a",), diverged=(("zeros", "relu", 3, 0, "a"),))
    assert "div" in cell_texts(figure("ablation_heatmap_error")(all_diverged))


def test_gradient_heatmap_marks_non_finite_cells_and_centres_the_colormap_at_zero(tables):
    fig = figure("ablation_heatmap_gradient_ratio")(tables)
    texts = cell_texts(fig)
    assert texts.count("n/a") == 4 and "-1.0" in texts and "+2.0" in texts
    norm = fig.axes[0].collections[0].norm
    assert norm.vmin == pytest.approx(-norm.vmax)


def test_only_non_finite_statistics_still_draw():
    zeros_only = synthetic_tables(inits=("zeros",), diverged=())
    fig = figure("ablation_heatmap_gradient_ratio")(zeros_only)
    assert set(cell_texts(fig)) == {"n/a"}


def test_a_run_axis_only_some_runs_have_is_averaged_not_dropped():
    tables = synthetic_tables(seeds=(0,), datasets=("a",), extra_axis=True, diverged=())
    error, _, runs = ablation.error_matrix(tables)
    assert (runs.to_numpy() == 1).all()  # runs without init.scale (NaN) are kept
    assert error.notna().all().all()
    figure("ablation_heatmap_error")(tables)


def test_missing_tables_are_a_clear_error():
    tables = synthetic_tables(seeds=(0,), datasets=("a",), diverged=())
    tables.layer_stats = tables.layer_stats[tables.layer_stats.quantity == "preact"]
    with pytest.raises(ValueError, match="no rows"):
        figure("ablation_heatmap_gradient_ratio")(tables)


# --- the study ----------------------------------------------------------------------------------------


def test_the_ablation_study_covers_every_registered_init():
    counts = {scale: len(expand_study(STUDIES_DIR, "ablation", scale))
              for scale in ("smoke", "quick", "paper")}
    n = len(INIT_SCHEMES)
    assert counts == {"smoke": 3 * 2 * 1, "quick": n * 2 * 2, "paper": n * 3 * 4 * 3}
    quick = expand_study(STUDIES_DIR, "ablation", "quick")
    assert {run.axes["init"] for run in quick} == set(INIT_SCHEMES)
    assert {run.axes["depth"] for run in quick} == {5, 22}
    paper = expand_study(STUDIES_DIR, "ablation", "paper")
    assert {run.axes["depth"] for run in paper} == {5, 10, 15, 22}
    assert "trainer.max_steps=5000" in paper[0].overrides


def test_every_figure_is_registered_and_has_a_caption():
    names = [*study_figures(STUDIES_DIR, "ablation"),
             "he2015_fig2_22_layers", "he2015_fig3_30_layers", "he2015_variance_by_layer"]
    for name in names:
        assert figure(name) is FIGURES[name]  # imports its module by prefix; an unknown name raises
        caption = REPO / "workflow" / "report" / f"{name}.rst"
        assert caption.is_file() and caption.read_text().strip(), caption


@pytest.mark.slow
def test_smoke_ablation_runs_and_draws(tmp_path):
    """The smoke grid for real (zero init included): train, collect, draw both heat maps."""
    from fanin.collect import collect
    from fanin.plan.studies import run_table
    from fanin.train.run import train_run
    from tests.helpers import compose

    runs = expand_study(STUDIES_DIR, "ablation", "smoke")
    for run in runs:
        train_run(compose(*run.overrides, "threads=1"), tmp_path / "runs" / run.run_id)
    collect(tmp_path / "runs", run_table(runs), tmp_path / "tables")
    tables = StudyTables.load(tmp_path / "tables")
    ratio, _, _ = ablation.gradient_ratio_matrix(tables)
    assert ratio.loc["zeros"].isna().all()  # zero weights: 0/0
    assert np.isfinite(ratio.loc[["glorot_uniform", "lsuv"]].to_numpy()).all()
    for name in NAMES:
        assert cell_texts(figure(name)(tables))
