"""He et al. 2015 figures: the numbers behind each effect, on synthetic tables (fast) and real runs (slow)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fanin.contract import RUN_TABLES, STAT_COLUMNS
from fanin.figures import figure
from fanin.figures import he2015 as he
from fanin.figures.common import StudyTables

FIGURES = ("he2015_fig2_22_layers", "he2015_fig3_30_layers", "he2015_variance_by_layer")
AXES = {"data": "digits", "activation": "relu", "width": 256}
STEPS = [0, 1, 2, 100, 200, 300, 400, 500]


def train_error(init: str, depth: int, step: int, seed: int) -> float:
    """He learns from step 100 on; Xavier learns late at 22 layers and never at 30. Seed 1 is 0.02 worse."""
    if init == "he_normal":
        value = 0.9 if step < 100 else max(0.9 - 0.2 * step / 100, 0.1)
    elif depth == 22:
        value = 0.9 if step < 400 else 0.4
    else:
        value = 0.9
    return value + 0.02 * seed


def synthetic_tables(depths=(22, 30), seeds=(0, 1), inits=he.INITS, extra_runs: bool = True) -> StudyTables:
    metrics, stats = [], []
    runs = [(init, depth, seed, "relu") for init in inits for depth in depths for seed in seeds]
    if extra_runs:  # runs the figures must ignore: another activation, another init
        runs += [("he_normal", 30, 0, "tanh"), ("glorot_uniform", 30, 0, "relu")]
    for init, depth, seed, activation in runs:
        axes = {**AXES, "activation": activation, "init": init, "depth": depth, "seed": seed}
        for step in STEPS:
            epoch = step / 120
            for split in ("train", "test"):
                if split == "train" and step == 0:
                    continue
                error = train_error(init, depth, step, seed) if activation == "relu" else 0.0
                error = error if init in he.INITS else 0.0
                error += 0.01 if split == "test" else 0.0
                metrics.append({**axes, "step": step, "epoch": epoch, "split": split, "loss": 1.0,
                                "error": error})
        # step 0: E[s^2] halves per layer for Xavier (mean^2 + std^2 = 3 * 2^-(l-1)), stays 3 for He
        for layer in range(1, depth + 2):
            m2 = 3.0 * (0.5 ** (layer - 1) if init == "xavier_he_baseline" else 1.0)
            mean = 0.5 * math.sqrt(m2)
            row = dict.fromkeys(STAT_COLUMNS, 0.0)
            row.update(mean=mean, std=math.sqrt(m2 - mean**2))
            stats.append({**axes, "step": 0, "layer": layer, "quantity": "preact", **row})
            stats.append({**axes, "step": 0, "layer": layer, "quantity": "backprop", **row})
    empty = {name: pd.DataFrame(columns=[*AXES, "init", "depth", "seed", *cols])
             for name, cols in RUN_TABLES.items()}
    # what each run's summary.json says its init gives: n Var(W) = 1 for Xavier N(0, 1/n), 2 for He N(0, 2/n)
    n_var_w = {"xavier_he_baseline": 1.0, "he_normal": 2.0, "glorot_uniform": 2 * 256 / 512}
    summary = pd.DataFrame([{"level": "run", **AXES, "activation": activation, "init": init, "depth": depth,
                             "seed": seed, "hidden_n_var_w": n_var_w[init]}
                            for init, depth, seed, activation in runs])
    return StudyTables(metrics=pd.DataFrame(metrics), layer_stats=pd.DataFrame(stats),
                       histograms=empty["histograms"], jacobian=empty["jacobian"], summary=summary)


@pytest.fixture(scope="module")
def tables() -> StudyTables:
    return synthetic_tables()


# --- fast: the effect functions on tables whose answers are known ------------------------------------


def test_final_train_error_is_the_last_training_row_mean_over_seeds(tables):
    # last step 500: He 0.1 (+0, +0.02), Xavier 22: 0.4, Xavier 30: 0.9
    assert he.final_train_error(tables, 30) == pytest.approx({"xavier_he_baseline": 0.91, "he_normal": 0.11})
    assert he.final_train_error(tables, 22) == pytest.approx({"xavier_he_baseline": 0.41, "he_normal": 0.11})
    assert he.final_test_error(tables, 30) == pytest.approx({"xavier_he_baseline": 0.92, "he_normal": 0.12})


def test_steps_to_error_is_where_the_seed_mean_error_stays_below_the_threshold(tables):
    # He: 0.9 - 0.2 s/100 + 0.01 (seed mean): 0.51 at step 200, 0.31 at 300; Xavier 22: 0.41 from step 400
    assert he.steps_to_error(tables, 22, 0.5) == {"xavier_he_baseline": 400.0, "he_normal": 300.0}
    assert he.steps_to_error(tables, 30, 0.5) == {"xavier_he_baseline": math.inf, "he_normal": 300.0}
    assert he.steps_to_error(tables, 30, 0.52) == {"xavier_he_baseline": math.inf, "he_normal": 200.0}
    assert he.steps_to_error(tables, 30, 0.05) == {"xavier_he_baseline": math.inf, "he_normal": math.inf}


def test_steps_to_error_ignores_a_noisy_early_dip():
    tables = synthetic_tables(depths=(30,), seeds=(0,), extra_runs=False)
    m = tables.metrics
    m.loc[(m.init == "xavier_he_baseline") & (m.step == 2) & (m.split == "train"), "error"] = 0.1
    assert he.steps_to_error(tables, 30, 0.5)["xavier_he_baseline"] == math.inf


def test_second_moment_slope_is_minus_one_for_xavier_and_zero_for_he(tables):
    for depth in (22, 30):
        slopes = he.second_moment_log2_slope(tables, depth)
        assert slopes["xavier_he_baseline"] == pytest.approx(-1.0)
        assert slopes["he_normal"] == pytest.approx(0.0, abs=1e-9)
    profile = he.second_moment_profile(tables, 30)
    assert set(profile.layer) == set(range(1, 32))
    assert profile.loc[(profile.init == "he_normal"), "m2"].to_numpy() == pytest.approx(3.0)


def test_theory_slope_is_log2_of_half_the_runs_own_n_var_w(tables):
    assert he.theory_log2_slope(tables.summary, "xavier_he_baseline", 256) == pytest.approx(-1.0)
    assert he.theory_log2_slope(tables.summary, "he_normal", 256) == pytest.approx(0.0)
    assert he.layer_factor(tables.summary, "xavier_he_baseline", 256) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no n Var"):
        he.layer_factor(tables.summary, "lsuv", 256)


@pytest.mark.parametrize("name", FIGURES)
def test_figures_draw_non_empty_axes(tables, name):
    fig = figure(name)(tables)
    axes = [ax for ax in fig.axes if ax.get_lines()]
    assert axes, name
    for ax in axes:
        assert ax.get_legend() is not None and ax.get_xlabel() and ax.get_ylabel()
    if name == "he2015_variance_by_layer":
        assert len(axes) == 2  # 22 and 30 layers
        labels = [t.get_text() for t in axes[1].get_legend().get_texts()]
        assert any("×0.5 per layer" in label for label in labels)
        assert any("×1 per layer" in label for label in labels)
    else:
        ax = axes[0]
        curves = [line for line in ax.get_lines() if len(line.get_xdata())]  # not the legend's handles
        assert len(curves) == 4  # 2 inits x (train, test)
        # one colour per init, as INIT_PALETTE and the caption say (Xavier blue, He red); test dashed
        assert {(line.get_color(), line.get_linestyle()) for line in curves} == {
            (c, s) for c in ("tab:blue", "tab:red") for s in ("-", "--")}
        assert ax.collections, "several seeds: a band around each mean"
        annotation = "\n".join(t.get_text() for t in ax.texts)
        assert "He: 0.110" in annotation


def test_a_missing_selection_is_a_clear_error_not_a_blank_figure():
    only_22 = synthetic_tables(depths=(22,))
    with pytest.raises(ValueError, match="30-layer ReLU"):
        figure("he2015_fig3_30_layers")(only_22)
    only_22.layer_stats = only_22.layer_stats.iloc[0:0]
    with pytest.raises(ValueError, match="no rows"):
        figure("he2015_variance_by_layer")(only_22)
    # 22 layers alone still draws the variance figure (one panel)
    fig = figure("he2015_variance_by_layer")(synthetic_tables(depths=(22,)))
    assert len([ax for ax in fig.axes if ax.get_lines()]) == 1


# --- slow: the paper's claims on real runs ------------------------------------------------------------

# Steps per depth. Measured on seeds 0, 1, 2 (width 64, lr 0.01, minibatch 10): at 30 layers He's final
# training error is 0.57 / 0.50 / 0.69 after 1000 steps (it is learning, but slowly: a 30-deep, 64-wide ReLU
# net is far from the wide limit) and 0.12 / 0.36 / 0.27 after 2000, when it first stays below 0.5 at steps
# 1200 / 1000 / 1400; Xavier is at chance (0.89 / 0.89 / 0.89) either way. At 22 layers He stays below 0.5
# from step 600 in every seed while Xavier is still at 0.90 / 0.84 / 0.84 after 1000 steps.
REAL_STEPS = {30: 2000, 22: 1000}
REAL_WIDTH = 64


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory) -> StudyTables:
    """4 real runs (digits, ReLU, width 64, 22 and 30 layers, Xavier vs He, SGD lr 0.01 on minibatches of
    10, seed 0), collected into study tables exactly as the pipeline does: about 30-60 s on one CPU core."""
    from fanin.collect import collect
    from fanin.plan.studies import Run
    from fanin.train.run import train_run
    from tests.helpers import compose

    root = tmp_path_factory.mktemp("he2015")
    rows = []
    for depth, steps in REAL_STEPS.items():
        for init in he.INITS:
            axes = {"data": "digits", "activation": "relu", "init": init, "depth": depth, "width": REAL_WIDTH,
                    "seed": 0}
            row = Run("he2015", axes, (), block=f"depth{depth}").row()
            config = compose("data=digits", "model.activation=relu", f"init={init}", f"model.depth={depth}",
                             f"model.width={REAL_WIDTH}", "seed=0", f"trainer.max_steps={steps}",
                             "optim.lr=0.01", "data.batch_size=10", "probe.every=200",
                             "probe.jacobian_steps=[]", "threads=1")
            train_run(config, root / "runs" / row["run"])
            rows.append(row)
    collect(root / "runs", rows, root / "tables")
    return StudyTables.load(root / "tables")


@pytest.mark.slow
def test_real_30_layers_xavier_stalls_and_he_trains(real_tables):
    final = he.final_train_error(real_tables, 30)
    assert final["he_normal"] < 0.5, final
    assert final["xavier_he_baseline"] > 0.8, final  # chance is 0.9 on the 10 digit classes
    reach = he.steps_to_error(real_tables, 30, 0.5)
    assert reach["xavier_he_baseline"] == math.inf and reach["he_normal"] <= REAL_STEPS[30], reach


@pytest.mark.slow
def test_real_22_layers_he_starts_reducing_the_error_earlier(real_tables):
    final = he.final_train_error(real_tables, 22)
    assert final["he_normal"] < 0.5 < final["xavier_he_baseline"], final
    reach = he.steps_to_error(real_tables, 22, 0.5)
    assert reach["he_normal"] < reach["xavier_he_baseline"], reach


@pytest.mark.slow
def test_real_second_moment_halves_per_layer_for_xavier_and_stays_for_he(real_tables):
    # measured over seeds 0-2: Xavier -0.92 .. -1.12 log2 per layer, He -0.12 .. +0.08 (the same draws scaled
    # by sqrt 2: the two slopes differ by exactly 1); the spread is the finite width (64)
    for depth in REAL_STEPS:
        slopes = he.second_moment_log2_slope(real_tables, depth)
        assert slopes["xavier_he_baseline"] == pytest.approx(-1.0, abs=0.2), slopes
        assert slopes["he_normal"] == pytest.approx(0.0, abs=0.2), slopes
        assert slopes["he_normal"] - slopes["xavier_he_baseline"] == pytest.approx(1.0, abs=0.05), slopes
        # the theory line (anchored at layer 1) ends near the measured logits: at width 64 the log2 second
        # moment wanders about 2 (1 sd) over 30 layers around it; Xavier and He end 22-30 apart
        profile = he.second_moment_profile(real_tables, depth)
        for init in he.INITS:
            curve = profile[profile.init == init].set_index("layer")["log2_m2"]
            predicted = curve[1] + depth * he.theory_log2_slope(real_tables.summary, init, REAL_WIDTH)
            assert abs(curve[depth + 1] - predicted) < 6, (init, depth, curve[depth + 1], predicted)


@pytest.mark.slow
def test_real_30_layers_at_width_1000_xavier_loses_2_to_the_29_of_the_second_moment_and_he_keeps_it(tmp_path):
    # He et al. Sec. 2.2: std sqrt(1/n) halves E[s^2] at each ReLU layer, 2^-29 from layer 1 to layer 30;
    # std sqrt(2/n) keeps it. At the paper's width (1000), at initialization, as the figure computes it.
    from fanin.collect import collect
    from fanin.plan.studies import Run
    from fanin.train.run import train_run
    from tests.helpers import compose

    rows = []
    for init in he.INITS:
        axes = {"data": "shapeset", "activation": "relu", "init": init, "depth": 30, "width": 1000, "seed": 0}
        rows.append(Run("he2015", axes, (), block="width1000").row())
        config = compose("data=shapeset", "data.valid_size=500", "data.test_size=500",
                         "model.activation=relu", "model.depth=30", "model.width=1000", f"init={init}",
                         "trainer.max_steps=0", "probe.jacobian_steps=[]")
        train_run(config, tmp_path / "runs" / rows[-1]["run"])
    collect(tmp_path / "runs", rows, tmp_path / "tables")
    profile = he.second_moment_profile(StudyTables.load(tmp_path / "tables"), 30).set_index(["init", "layer"])
    loss = {init: profile.loc[(init, 30), "log2_m2"] - profile.loc[(init, 1), "log2_m2"] for init in he.INITS}
    assert loss["xavier_he_baseline"] == pytest.approx(-29, abs=3), loss
    assert loss["he_normal"] == pytest.approx(0, abs=1.5), loss


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_real_figures_draw(real_tables, name):
    fig = figure(name)(real_tables)
    curves = [line.get_ydata() for ax in fig.axes for line in ax.get_lines() if len(line.get_xdata())]
    assert curves and np.isfinite(curves[0]).any()  # (seaborn's legend handles are empty lines)


def test_figure_modules_import_neither_snakemake_nor_hydra():
    import subprocess
    import sys

    code = ("import sys, fanin.figures.he2015, fanin.figures.ablation; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('snakemake', 'hydra')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
