"""Katanforoosh & Kunin 2019 figures: the numbers behind each effect, on synthetic tables (fast) and on
real runs of the study's own grid (slow)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fanin.contract import RUN_TABLES, STAT_COLUMNS
from fanin.figures import figure
from fanin.figures import katanforoosh2019 as kk
from fanin.figures.common import StudyTables, init_color
from fanin.plan.studies import expand_study, study_figures
from tests.helpers import REPO, STUDIES_DIR

FIGURES = ("katanforoosh2019_toy2d_cost", "katanforoosh2019_toy2d_boundaries",
           "katanforoosh2019_linear_exploding_vanishing", "katanforoosh2019_mnist_activations")
LOG2 = math.log(2)
STEPS = [0, 1, 10, 100, 1000]
# training cost per init at steps 1, 10, 100, 1000 (no training row at step 0); test cost at step 0
TRAIN_COST = {"zeros": [0.70, 0.70, 0.70, 0.70], "too_small": [0.70, 0.70, 0.69, 0.30],
              "xavier_he_baseline": [0.50, 0.20, 0.05, 0.01], "too_large": [5.0, 2.0, 0.60, 0.30]}
INIT_COST = {"zeros": LOG2, "too_small": LOG2, "xavier_he_baseline": 0.8, "too_large": 5.5}
FINAL_ERROR = {"zeros": 0.5, "too_small": 0.1, "xavier_he_baseline": 0.0, "too_large": 0.2}
SATURATED = {"zeros": 0.0, "too_small": 0.0, "xavier_he_baseline": 0.02, "too_large": 0.8}
# MNIST step 0: per-layer std of the activations (zero: all 0; uniform shrinks; Xavier kept; normal saturated)
MNIST_STD = {"zeros": [0, 0, 0, 0], "standard": [0.4, 0.22, 0.12, 0.07],
             "xavier_he_baseline": [0.56, 0.44, 0.38, 0.34], "standard_normal": [0.98, 0.96, 0.96, 0.96]}
MNIST_SAT = {"zeros": 0.0, "standard": 0.0, "xavier_he_baseline": 0.0, "standard_normal": 0.82}


def _row(axes: dict, **values) -> dict:
    return {**axes, **values}


def _stat(axes, step, layer, quantity, std, frac=0.0):
    row = dict.fromkeys(STAT_COLUMNS, 0.0)
    row.update(std=std, frac_saturated=frac)
    return {**axes, "step": step, "layer": layer, "quantity": quantity, **row}


def synthetic_tables(shapes=("circles", "moons"), seeds=(0,), linear_nan: bool = False) -> StudyTables:
    """The study's three blocks with known answers. `shapes=(None,)`: no data.shape axis (the smoke study)."""
    metrics, stats, hist, boundary = [], [], [], []
    g1, g2 = np.meshgrid(np.linspace(-2, 2, 12), np.linspace(-2, 2, 12), indexing="ij")
    for shape in shapes:
        for init in kk.TOY_INITS:
            for seed in seeds:
                axes = {"data": "toy2d", "activation": "tanh", "init": init, "depth": 2, "width": 8,
                        "seed": seed, "block": "toy2d"}
                if shape is not None:
                    axes["data.shape"] = shape
                bump = 0.01 * seed
                for i, step in enumerate(STEPS):
                    if step:
                        metrics.append(_row(axes, step=step, epoch=step / 150, split="train",
                                            loss=TRAIN_COST[init][i - 1] + bump, error=0.3))
                    error = FINAL_ERROR[init] if step == STEPS[-1] else 0.5
                    loss = INIT_COST[init] if step == 0 else TRAIN_COST[init][i - 1]
                    for split in ("valid", "test"):
                        metrics.append(_row(axes, step=step, epoch=step / 150, split=split, loss=loss + bump,
                                            error=error + bump))
                for step in (0, STEPS[-1]):
                    for layer in (1, 2, 3):
                        std = 0.0 if init == "zeros" else 0.5
                        frac = SATURATED[init] if layer < 3 else math.nan  # the softmax output: no saturation
                        stats.append(_stat(axes, step, layer, "act", std, frac))
                p1 = 1 / (1 + np.exp(-4 * g1.ravel())) if init != "zeros" else np.full(g1.size, 0.48)
                boundary.append(pd.DataFrame({**axes, "step": STEPS[-1], "kind": "grid", "x1": g1.ravel(),
                                              "x2": g2.ravel(), "p1": p1, "label": -1}))
                boundary.append(pd.DataFrame({**axes, "step": STEPS[-1], "kind": "test", "x1": [-1.0, 1.0],
                                              "x2": [0.0, 0.0], "p1": [0.1, 0.9], "label": [0, 1]}))
    for scale in ("1.5", "0.5"):  # as collect writes extra axes: strings
        for seed in seeds:
            axes = {"data": "toy2d", "activation": "linear", "init": "scaled_identity", "depth": 9,
                    "width": 2, "seed": seed, "init.scale": scale, "block": "linear"}
            for layer in range(1, 11):
                stats.append(_stat(axes, 0, layer, "preact", 0.9 * float(scale) ** layer))
            # held-out cost: 1.5 explodes then oscillates down (2 rises > 1%); 0.5 stalls at log 2
            test = [60.0, 3.0, 5.0, 1.0, 1.5, 0.3] if scale == "1.5" else [LOG2] * 6
            if linear_nan and scale == "1.5":
                test[3:] = [math.nan] * 3
            for step, loss in zip([0, 1, 2, 5, 10, 100], test, strict=True):
                if step:
                    metrics.append(_row(axes, step=step, epoch=0.0, split="train", loss=loss, error=0.3))
                metrics.append(_row(axes, step=step, epoch=0.0, split="test", loss=loss, error=0.3))
    edges = np.linspace(-1, 1, 11)
    for init in kk.MNIST_INITS:
        for seed in seeds:
            axes = {"data": "mnist", "activation": "tanh", "init": init, "depth": 4, "width": 16,
                    "seed": seed, "block": "mnist"}
            for layer in range(1, 6):
                std = MNIST_STD[init][layer - 1] if layer <= 4 else 0.1
                frac = MNIST_SAT[init] if layer > 1 else 0.9 * MNIST_SAT[init]
                stats.append(_stat(axes, 0, layer, "act", std, frac))
                counts = np.zeros(10, dtype=int)
                counts[[0, 9] if init == "standard_normal" else [4, 5]] = 50
                hist.append(pd.DataFrame({**axes, "step": 0, "layer": layer, "quantity": "act",
                                          "bin_left": edges[:-1], "bin_right": edges[1:], "count": counts}))
            metrics.append(_row(axes, step=0, epoch=0.0, split="test", loss=2.3, error=0.9))
    axis_columns = ["data", "activation", "init", "depth", "width", "seed"]
    empty = pd.DataFrame(columns=[*axis_columns, *RUN_TABLES["jacobian"]])
    return StudyTables(metrics=pd.DataFrame(metrics), layer_stats=pd.DataFrame(stats),
                       histograms=pd.concat(hist, ignore_index=True), jacobian=empty, summary=pd.DataFrame(),
                       boundary=pd.concat(boundary, ignore_index=True))


@pytest.fixture(scope="module")
def tables() -> StudyTables:
    return synthetic_tables()


# --- fast: the effect functions on tables whose answers are known ------------------------------------


def test_toy_numbers_per_shape(tables):
    assert kk.toy_shapes(tables) == ["circles", "moons"]
    for shape in ("circles", "moons"):
        assert kk.final_cost(tables, shape) == pytest.approx({k: v[-1] for k, v in TRAIN_COST.items()})
        assert kk.final_error(tables, shape) == pytest.approx(FINAL_ERROR)
        assert kk.initial_cost(tables, shape) == pytest.approx(INIT_COST)
        # below 0.9 log 2 = 0.624 for good: zero never, too small at 1000, appropriate at 1, too large at 100
        assert kk.plateau_exit(tables, shape) == {"zeros": math.inf, "too_small": 1000.0,
                                                  "xavier_he_baseline": 1.0, "too_large": 100.0}
        spread = kk.hidden_activation_std(tables, shape)
        assert spread["zeros"] == 0.0 and spread["too_large"] == 0.5
        saturated = kk.saturated_fraction(tables, "toy2d", 0, shape)
        assert saturated["too_large"] == pytest.approx({1: 0.8, 2: 0.8})


def test_toy_numbers_need_a_shape_when_there_are_several(tables):
    with pytest.raises(ValueError, match="several data.shape values"):
        kk.final_cost(tables)
    with pytest.raises(ValueError, match="no rows"):
        kk.final_cost(tables, "spirals")
    single = synthetic_tables(shapes=(None,))
    assert kk.toy_shapes(single) == [None]
    assert kk.final_error(single) == pytest.approx(FINAL_ERROR)
    with pytest.raises(ValueError, match="no data.shape axis"):
        kk.final_cost(single, "moons")


def test_seeds_are_averaged():
    two = synthetic_tables(seeds=(0, 1))
    assert kk.final_cost(two, "moons")["zeros"] == pytest.approx(0.705)
    assert kk.final_error(two, "moons")["too_large"] == pytest.approx(0.205)


def test_linear_growth_is_the_scale_exactly(tables):
    assert kk.layer_growth(tables) == pytest.approx({1.5: 1.5, 0.5: 0.5}, rel=1e-12)
    assert max(kk.theory_deviation(tables).values()) < 1e-12
    profile = kk.linear_magnitudes(tables)
    assert set(profile["layer"]) == set(range(1, 11))
    row = profile[(profile["scale"] == 0.5) & (profile["layer"] == 10)].iloc[0]
    assert row["std"] == pytest.approx(0.9 * 0.5**10) and row["theory"] == pytest.approx(0.9 * 0.5**10)


def test_linear_cost_counts_rises_and_divergence(tables):
    cost = kk.linear_cost(tables)
    assert list(cost) == [1.5, 0.5]
    assert cost[1.5]["initial"] == 60.0 and cost[1.5]["final"] == 0.3 and cost[1.5]["rises"] == 2
    assert cost[1.5]["diverged"] == 0.0
    assert cost[0.5]["rises"] == 0 and cost[0.5]["final"] == pytest.approx(LOG2)
    diverged = kk.linear_cost(synthetic_tables(linear_nan=True))
    assert diverged[1.5]["diverged"] == 1.0 and diverged[1.5]["final"] == 5.0


def test_linear_needs_the_scale_axis(tables):
    stats = tables.layer_stats.drop(columns="init.scale")
    broken = StudyTables(tables.metrics, stats, tables.histograms, tables.jacobian, tables.summary,
                         tables.boundary)
    with pytest.raises(ValueError, match="init.scale"):
        kk.layer_growth(broken)


def test_mnist_ratios_and_saturation(tables):
    ratio = kk.std_ratio(tables)
    assert math.isnan(ratio["zeros"])
    assert ratio["standard"] == pytest.approx(0.07 / 0.4)
    assert ratio["xavier_he_baseline"] == pytest.approx(0.34 / 0.56)
    assert ratio["standard_normal"] == pytest.approx(0.96 / 0.98)
    sat = kk.saturated_fraction(tables)
    assert set(sat["standard_normal"]) == {1, 2, 3, 4}  # hidden layers only
    assert sat["standard_normal"][2] == pytest.approx(0.82)


def _with_mnist_copy(tables: StudyTables, inits, depth: int) -> StudyTables:
    """Tables plus copies of some MNIST runs at another depth in another grid block (as the smoke study's
    Table-1 block runs mnist tanh `standard` at depth 5)."""
    def extend(frame):
        extra = frame[(frame["data"] == "mnist") & frame["init"].isin(inits)]
        return pd.concat([frame, extra.assign(depth=depth, block="table1_mnist")], ignore_index=True)

    return StudyTables(extend(tables.metrics), extend(tables.layer_stats), extend(tables.histograms),
                       tables.jacobian, tables.summary, tables.boundary)


def test_another_grid_block_with_the_same_inits_is_ignored(tables):
    for inits in (["standard"], list(kk.MNIST_INITS)):
        mixed = _with_mnist_copy(tables, inits, depth=5)
        assert kk.std_ratio(mixed)["standard"] == pytest.approx(0.07 / 0.4)
        assert set(kk.activation_profile(mixed)["layer"]) == {1, 2, 3, 4}
    figure("katanforoosh2019_mnist_activations")(mixed)


def test_a_study_without_the_demos_grid_block_is_refused_by_name(tables):
    renamed = StudyTables(tables.metrics, tables.layer_stats.assign(block="other"), tables.histograms,
                          tables.jacobian, tables.summary, tables.boundary)
    with pytest.raises(ValueError, match="grid block 'mnist'"):
        kk.std_ratio(renamed)


@pytest.mark.parametrize("name", FIGURES)
def test_figures_draw_non_empty_axes(tables, name):
    fig = figure(name)(tables)
    drawn = [ax for ax in fig.axes if ax.get_lines() or ax.collections or ax.patches]
    assert drawn, name
    assert any(ax.get_xlabel() for ax in drawn) and any(ax.get_ylabel() for ax in drawn)
    assert any(ax.get_title() for ax in drawn)
    if name == "katanforoosh2019_toy2d_cost":
        assert len([ax for ax in fig.axes if ax.get_lines()]) == 4  # (cost, error) × 2 shapes
        text = "\n".join(t.get_text() for ax in fig.axes for t in ax.texts)  # the numbers boxes
        assert "too small: step 1000" in text and "zero: never" in text
        drawn = {line.get_color() for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 2}
        assert drawn == {init_color(name) for name in kk.TOY_INITS}  # common.INIT_PALETTE
    if name == "katanforoosh2019_toy2d_boundaries":
        assert len([ax for ax in fig.axes if ax.collections and ax.get_title()]) == 8  # 2 shapes × 4 inits
    if name == "katanforoosh2019_linear_exploding_vanishing":
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert any("×1.5000/layer" in label for label in labels)
        assert any("×0.5000/layer" in label for label in labels)
    if name == "katanforoosh2019_mnist_activations":
        assert len([ax for ax in fig.axes if ax.patches]) == 16  # 4 inits × 4 hidden layers


def test_figures_without_a_shape_axis_draw_one_row():
    single = synthetic_tables(shapes=(None,))
    fig = figure("katanforoosh2019_toy2d_cost")(single)
    assert len([ax for ax in fig.axes if ax.get_lines()]) == 2
    fig = figure("katanforoosh2019_toy2d_boundaries")(single)
    assert len([ax for ax in fig.axes if ax.collections and ax.get_title()]) == 4


def test_missing_runs_are_clear_errors_not_blank_figures(tables):
    no_boundary = StudyTables(tables.metrics, tables.layer_stats, tables.histograms, tables.jacobian,
                              tables.summary, None)
    with pytest.raises(ValueError, match="boundary"):
        figure("katanforoosh2019_toy2d_boundaries")(no_boundary)
    no_mnist = StudyTables(tables.metrics, tables.layer_stats, tables.histograms.iloc[0:0], tables.jacobian,
                           tables.summary, tables.boundary)
    with pytest.raises(ValueError, match="no rows"):
        figure("katanforoosh2019_mnist_activations")(no_mnist)
    no_linear = StudyTables(tables.metrics[tables.metrics["activation"] != "linear"], tables.layer_stats,
                            tables.histograms, tables.jacobian, tables.summary, tables.boundary)
    with pytest.raises(ValueError, match="no rows"):
        figure("katanforoosh2019_linear_exploding_vanishing")(no_linear)
    no_toy = StudyTables(tables.metrics[tables.metrics["data"] != "toy2d"], tables.layer_stats,
                         tables.histograms, tables.jacobian, tables.summary, tables.boundary)
    with pytest.raises(ValueError, match="no rows"):
        figure("katanforoosh2019_toy2d_cost")(no_toy)


def test_study_file_expands_at_every_scale_and_names_captioned_figures():
    counts = {scale: len(expand_study(STUDIES_DIR, "katanforoosh2019", scale))
              for scale in ("smoke", "quick", "paper")}
    assert counts == {"smoke": 10, "quick": 14, "paper": 42}
    quick = expand_study(STUDIES_DIR, "katanforoosh2019", "quick")
    linear = [run for run in quick if run.axes["activation"] == "linear"]
    assert sorted(run.axes["init.scale"] for run in linear) == [0.5, 1.5]
    assert all(run.axes["depth"] == 9 and run.axes["width"] == 2 for run in linear)
    for name in study_figures(STUDIES_DIR, "katanforoosh2019"):
        assert name in FIGURES
        figure(name)
        caption = REPO / "workflow" / "report" / f"{name}.rst"
        assert caption.is_file() and caption.read_text().strip(), caption


# --- slow: the article's claims on real runs of the study's quick grid ---------------------------------

# Steps per block for the slow test: enough for each claim, less than the quick scale's budget. On moons only
# too small and appropriate need the long run (when too small leaves the plateau); MNIST's claims are at init.
REAL_STEPS = {"circles": 1000, "moons": 1500, "linear": 300, "mnist": 0}
SHORT_MOONS = {"zeros": 300, "too_large": 300}


def _block_of(run) -> str:
    if run.axes["data"] == "mnist":
        return "mnist"
    if run.axes["activation"] == "linear":
        return "linear"
    return run.axes["data.shape"]


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory) -> StudyTables:
    """The quick grid's runs, shortened per REAL_STEPS, trained with fanin.train.run.train_run and collected
    exactly as the pipeline does."""
    from fanin.collect import collect
    from fanin.plan.studies import run_table
    from fanin.train.run import train_run
    from tests.helpers import compose

    root = tmp_path_factory.mktemp("katanforoosh2019")
    runs = expand_study(STUDIES_DIR, "katanforoosh2019", "quick")
    for run in runs:
        overrides = [o for o in run.overrides if not o.startswith("trainer.max_steps=")]
        steps = REAL_STEPS[_block_of(run)]
        if _block_of(run) == "moons":
            steps = SHORT_MOONS.get(run.axes["init"], steps)
        config = compose(*overrides, f"trainer.max_steps={steps}", "threads=1")
        train_run(config, root / "runs" / run.run_id)
    collect(root / "runs", run_table(runs), root / "tables")
    return StudyTables.load(root / "tables")


@pytest.mark.slow
def test_real_zero_init_stays_at_chance_with_identical_units(real_tables):
    error = kk.final_error(real_tables, "circles")
    assert abs(error["zeros"] - 0.5) < 0.05, error
    assert kk.hidden_activation_std(real_tables, "circles")["zeros"] == 0.0
    assert kk.final_cost(real_tables, "circles")["zeros"] == pytest.approx(LOG2, abs=0.01)


@pytest.mark.slow
def test_real_appropriate_converges_and_beats_zero_and_too_small(real_tables):
    error = kk.final_error(real_tables, "circles")
    assert error["xavier_he_baseline"] < 0.05, error
    assert error["zeros"] > 0.4 and error["too_small"] > 0.4, error
    assert error["too_large"] > 2 * error["xavier_he_baseline"], error


@pytest.mark.slow
def test_real_too_small_learns_slowly(real_tables):
    exit_step = kk.plateau_exit(real_tables, "moons")
    assert exit_step["xavier_he_baseline"] <= 50, exit_step
    assert 10 * exit_step["xavier_he_baseline"] < exit_step["too_small"] <= REAL_STEPS["moons"], exit_step
    assert kk.final_error(real_tables, "moons")["too_small"] < 0.3


@pytest.mark.slow
def test_real_too_large_saturates_and_starts_far_above_chance(real_tables):
    saturated = kk.saturated_fraction(real_tables, "toy2d", 0, "circles")["too_large"]
    assert min(saturated.values()) > 0.5, saturated
    initial = kk.initial_cost(real_tables, "circles")
    assert initial["too_large"] > 3 * LOG2, initial
    final = kk.final_cost(real_tables, "circles")
    assert final["too_large"] > 3 * final["xavier_he_baseline"], final


@pytest.mark.slow
def test_real_linear_net_grows_and_shrinks_by_the_scale(real_tables):
    growth = kk.layer_growth(real_tables)
    assert growth[1.5] == pytest.approx(1.5, rel=0.01) and growth[0.5] == pytest.approx(0.5, rel=0.01), growth
    assert max(kk.theory_deviation(real_tables).values()) < 1e-4
    cost = kk.linear_cost(real_tables)
    assert cost[1.5]["initial"] > 10 * LOG2 and cost[1.5]["rises"] >= 1, cost  # explodes, oscillates
    assert cost[1.5]["final"] < 0.9 * LOG2, cost  # ... and still learns the linear part of moons
    assert cost[0.5]["initial"] == pytest.approx(LOG2, rel=0.01)  # stalls: ends where it started
    assert cost[0.5]["final"] == pytest.approx(LOG2, rel=0.01)


@pytest.mark.slow
def test_real_mnist_activations_at_init(real_tables):
    profile = kk.activation_profile(real_tables)
    assert (profile.loc[profile["init"] == "zeros", "std"] == 0).all()
    saturated = kk.saturated_fraction(real_tables)["standard_normal"]
    assert min(f for layer, f in saturated.items() if layer >= 2) > 0.5, saturated
    ratio = kk.std_ratio(real_tables)
    assert ratio["standard"] < 0.3 and ratio["xavier_he_baseline"] > 0.5, ratio


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_real_figures_draw(real_tables, name):
    fig = figure(name)(real_tables)
    assert any(ax.get_lines() or ax.patches or ax.collections for ax in fig.axes)
