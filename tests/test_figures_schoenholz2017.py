"""Schoenholz et al. (2017) at initialization, asserted on real runs collected as the pipeline does: the
measured lengths follow the mean-field length map, and χ₁ crosses 1 where the theory says."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from fanin import meanfield
from fanin.figures import figure
from fanin.figures import schoenholz2017 as sh
from fanin.figures.common import StudyTables
from fanin.plan.studies import Run

SIGMA_W2 = (1.0, 1.5, 1.761, 2.0, 3.0)
ISOMETRY = {"tanh": (1.18919, 0.001), "relu": (2.0, 0.0), "linear": (1.0, 0.0)}  # each at criticality
# The trainability block's quick budget (config/studies/schoenholz2017.yaml) on a corner of its grid: σ_w² in
# the ordered phase (6 ξ_c = 21.8 layers), at the critical point and in the chaotic phase (41.9), 10 and 40
# deep.
TRAINABILITY_SIGMA_W2 = (1.0, 1.761, 4.0)
TRAINABILITY_DEPTHS = (10, 40)
TRAINABILITY_BUDGET = ("trainer.max_steps=300", "data.batch_size=32", "optim.lr=0.01", "probe.every=100",
                       "probe.size=100", "probe.bins=20", "probe.jacobian_steps=[]")


@pytest.fixture(scope="module")
def real_tables(tmp_path_factory) -> StudyTables:
    """The signal block at width 1000, 12 layers (the study's quick scale has 30), and the isometry blocks at
    16 x 300 (quick: 30 x 1000), step 0 only; six runs of the trainability block at its quick budget."""
    from fanin.collect import collect
    from fanin.train.run import train_pack, train_run
    from tests.helpers import compose

    root = tmp_path_factory.mktemp("schoenholz2017")
    rows = []
    for sigma_w2 in SIGMA_W2:
        axes = {"data": "mnist", "activation": "tanh", "init": "mean_field_normal", "init.sigma_w2": sigma_w2,
                "init.sigma_b2": 0.05, "depth": 12, "width": 1000, "seed": 0}
        rows.append(Run("schoenholz2017", axes, (), block="signal").row())
        train_run(compose("data=mnist", "model.activation=tanh", "init=mean_field_normal",
                          f"init.sigma_w2={sigma_w2}", "init.sigma_b2=0.05", "model.depth=12",
                          "model.width=1000", "seed=0", "trainer.max_steps=0", "probe.jacobian_steps=[0]",
                          "probe.jacobian_examples=1", "threads=1"),
                  root / "runs" / rows[-1]["run"])
    for activation, (sigma_w2, sigma_b2) in ISOMETRY.items():
        for init in ("mean_field_normal", "mean_field_orthogonal"):
            axes = {"data": "mnist", "activation": activation, "init": init, "init.sigma_w2": sigma_w2,
                    "init.sigma_b2": sigma_b2, "depth": 16, "width": 300, "seed": 0}
            rows.append(Run("schoenholz2017", axes, (), block=f"isometry_{activation}").row())
            train_run(compose("data=mnist", f"model.activation={activation}", f"init={init}",
                              f"init.sigma_w2={sigma_w2}", f"init.sigma_b2={sigma_b2}", "model.depth=16",
                              "model.width=300", "seed=0", "trainer.max_steps=0", "probe.jacobian_steps=[]",
                              "probe.spectrum=true", "threads=1"),
                      root / "runs" / rows[-1]["run"])
    for depth in TRAINABILITY_DEPTHS:  # one pack per depth, as the pipeline trains them
        configs, folders = [], []
        for sigma_w2 in TRAINABILITY_SIGMA_W2:
            axes = {"data": "mnist", "activation": "tanh", "init": "mean_field_normal",
                    "init.sigma_w2": sigma_w2, "init.sigma_b2": 0.05, "depth": depth, "width": 64, "seed": 0}
            rows.append(Run("schoenholz2017", axes, (), block="trainability").row())
            configs.append(compose("data=mnist", "model.activation=tanh", "init=mean_field_normal",
                                   f"init.sigma_w2={sigma_w2}", "init.sigma_b2=0.05", f"model.depth={depth}",
                                   "model.width=64", "seed=0", *TRAINABILITY_BUDGET, "threads=1"))
            folders.append(root / "runs" / rows[-1]["run"])
        train_pack(configs, folders)
    collect(root / "runs", rows, root / "tables")
    return StudyTables.load(root / "tables")


@pytest.mark.slow
def test_measured_lengths_follow_the_length_map_within_a_few_percent(real_tables):
    # Finite width: a layer's length is a mean over its 1000 units (about 4.5% noise each). Measured median
    # |q / q_theory - 1|: 3.4% here (12 layers), 2.3% at the quick scale (30 layers, 8 values of σ_w²).
    assert sh.length_map_error(real_tables) < 0.05
    rows = sh.signal_rows(real_tables)
    assert sorted(rows.sigma_w2_axis.unique()) == list(SIGMA_W2) and rows.layer.max() == 12


@pytest.mark.slow
def test_chi_1_is_the_prediction_and_crosses_one_at_the_critical_point(real_tables):
    chi = sh.chi1_by_sigma_w2(real_tables)
    assert ((chi.chi1 / chi.chi1_theory - 1).abs() < 0.02).all()
    critical = meanfield.critical_sigma_w2(0.05, "tanh")
    assert sh.critical_sigma_w2(chi, "chi1") == pytest.approx(critical, abs=0.05)
    assert chi.chi1.iloc[0] < 0.8 and chi.chi1.iloc[-1] > 1.15  # ordered at 1, chaotic at 3


@pytest.mark.slow
def test_orthogonal_weights_give_dynamical_isometry_for_tanh_and_linear_nets_not_relu(real_tables):
    spread = sh.spectrum_spread(real_tables).set_index(["activation", "weights", "layer"])["spread"]
    last = 16
    assert spread.loc["linear", "orthogonal"].max() < 1e-10  # exactly isometric
    for activation in ISOMETRY:  # Gaussian weights widen the spectrum with depth, even at criticality
        gaussian = spread.loc[activation, "Gaussian"]
        assert gaussian.is_monotonic_increasing and gaussian.loc[last] > 4 * gaussian.iloc[0], activation
    assert spread.loc["tanh", "orthogonal", last] < 0.25 * spread.loc["tanh", "Gaussian", last]
    assert spread.loc["relu", "orthogonal", last] > 3 * spread.loc["tanh", "orthogonal", last]


@pytest.mark.slow
def test_no_net_deeper_than_six_xi_c_trains_and_the_critical_one_trains_at_forty_layers(real_tables):
    cells = sh.trainability(real_tables).set_index(["sigma_w2_axis", "depth"])
    xi = {s: meanfield.propagation(s, 0.05, "tanh").xi_c for s in TRAINABILITY_SIGMA_W2}
    assert cells["xi_c"].to_dict() == pytest.approx({(s, d): xi[s] for s, d in cells.index})
    # the paper's bound: beyond 6 ξ_c (here σ_w² = 1 at 40 layers) the net stays near chance (0.9)
    assert cells.loc[cells["beyond_bound"], "trained"].sum() == 0, cells
    assert cells.loc[(1.0, 40), "train_error"] > 0.8, cells
    # within it: every net trains at 10 layers, and at 40 the critical one does
    assert cells.loc[[(s, 10) for s in TRAINABILITY_SIGMA_W2], "trained"].all(), cells
    assert cells.loc[(1.761, 40), "trained"], cells


@pytest.mark.slow
@pytest.mark.parametrize("name", ["schoenholz2017_length_map", "schoenholz2017_chi1",
                                  "schoenholz2017_isometry", "schoenholz2017_trainability"])
def test_real_figures_draw(real_tables, name):
    fig = figure(name)(real_tables)
    assert fig.axes and fig.axes[0].get_title()
    plt.close(fig)


def test_a_study_without_signal_rows_is_a_clear_error():
    import pandas as pd

    from fanin.contract import RUN_TABLES

    empty = {t: pd.DataFrame(columns=list(c)) for t, c in RUN_TABLES.items()}
    tables = StudyTables(**empty, summary=pd.DataFrame())
    with pytest.raises(ValueError, match="no rows for the signal table"):
        sh.signal_rows(tables)
