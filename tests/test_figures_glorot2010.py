"""Glorot & Bengio 2010's effects, asserted on study tables of real runs (the numbers the figures print)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.collections import LineCollection

from fanin.collect import collect
from fanin.figures import glorot2010 as g
from fanin.figures.common import StudyTables
from fanin.plan.studies import Run
from fanin.train.run import train_run
from tests.helpers import compose

COMMON = ("model.width=1000", "optim.lr=0.1", "probe.every=100")
DATA = {"shapeset": ("data=shapeset", "data.valid_size=500", "data.test_size=500"),
        "mnist": ("data=mnist", "data.subset_valid_size=300", "data.subset_test_size=300")}


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> StudyTables:
    """Sigmoid 4x1000 trained 300 updates (Fig 2); tanh 5x1000 standard and normalized at initialization;
    a one-hidden-layer tanh net trained 1000 updates with the Fig 1 and Fig 5 tables; MNIST 5x1000 tanh nets,
    both inits, 300 updates (Fig 12)."""
    root = tmp_path_factory.mktemp("glorot2010")
    fig1_fig5 = ("probe.examples=2", "probe.cost_surface=true", "probe.jacobian_steps=[]")
    mnist = ("probe.jacobian_steps=[]",)
    runs = {  # grid block, data, activation, init, depth, updates: the study's block names
        ("fig2_sigmoid", "shapeset", "sigmoid", "standard", 4, 300): (),
        ("tanh", "shapeset", "tanh", "standard", 5, 0): (),
        ("tanh_n", "shapeset", "tanh", "glorot_uniform", 5, 0): (),
        ("fig1_fig5", "shapeset", "tanh", "standard", 1, 1000): fig1_fig5,
        ("table1_mnist", "mnist", "tanh", "standard", 5, 300): mnist,
        ("table1_mnist", "mnist", "tanh", "glorot_uniform", 5, 300): mnist,
    }
    rows = []
    for (block, data, activation, init, depth, steps), extra in runs.items():
        axes = {"data": data, "activation": activation, "init": init, "depth": depth, "width": 1000,
                "seed": 0}
        rows.append(Run("glorot2010", axes, (), block=block).row())
        train_run(compose(*DATA[data], *COMMON, f"model.activation={activation}", f"init={init}",
                          f"model.depth={depth}", f"trainer.max_steps={steps}", *extra),
                  root / "runs" / rows[-1]["run"])
    collect(root / "runs", rows, root / "tables")
    return StudyTables.load(root / "tables")


pytestmark = pytest.mark.slow


def test_fig2_the_sigmoid_top_hidden_layer_is_driven_to_zero_while_lower_layers_stay_near_half(tables):
    numbers = g.top_layer_saturation(tables)
    assert numbers["top_initial"] == pytest.approx(0.5, abs=0.02)
    assert numbers["top_min"] < 0.15
    assert 0.4 < numbers["lower_final_mean"] < 0.8


def test_fig6_standard_init_shrinks_tanh_activations_and_normalized_keeps_them(tables):
    assert g.activation_std_ratio(tables, "standard") < 0.2
    assert g.activation_std_ratio(tables, "glorot_uniform") > 0.4


def test_fig7_standard_init_backprop_gradients_shrink_toward_the_input(tables):
    standard = g.backprop_std_ratio(tables, "standard")
    normalized = g.backprop_std_ratio(tables, "glorot_uniform")
    assert standard < 0.5 * normalized


def test_fig8_weight_gradients_are_about_equal_across_layers_with_either_init(tables):
    # measured: 1.05 (standard) and 1.08 (normalized), max/min of the per-layer std at initialization
    assert g.weight_grad_std_spread(tables, "standard") < 1.5
    assert g.weight_grad_std_spread(tables, "glorot_uniform") < 1.5


def test_the_variance_recurrence_predicts_each_layers_preactivation_second_moment_at_initialization(tables):
    # Var(s^l) = n Var(W) E[(z^{l-1})^2] (the paper's eq. 5 before it assumes unit variance), with the
    # scheme's n Var(W) from summary.csv: 1/3 standard, 1 normalized. It holds in expectation over W; for one
    # draw, when Shapeset's z^{l-1} is close to one direction u, E[s^2] ~ |W u|^2 / 1000 is a chi-square
    # mean over the 1000 units, sd sqrt(2/1000) = 4.5%: within 3 sd (measured 0.955-1.052, layers 2-5)
    for init, n_var_w in (("standard", 1 / 3), ("glorot_uniform", 1.0)):
        assert g.variance_recurrence(tables, "tanh", init).index.tolist() == [1, 2, 3, 4, 5]
        runs = tables.summary[(tables.summary.init == init) & (tables.summary["data"] == "shapeset")]
        assert runs.hidden_n_var_w.tolist() == pytest.approx([n_var_w] * len(runs))
        moments = g.variance_recurrence(tables, "tanh", init).dropna()
        ratio = (moments.measured / moments.predicted).to_numpy()
        assert ratio == pytest.approx(1.0, abs=3 * (2 / 1000) ** 0.5), moments


def test_jacobian_mean_singular_value_is_about_half_standard_and_four_fifths_normalized(tables):
    # the paper: about 0.5 and 0.8; measured 0.48 and 0.76
    assert g.jacobian_mean_singular_value(tables, "standard") == pytest.approx(0.5, abs=0.1)
    assert g.jacobian_mean_singular_value(tables, "glorot_uniform") == pytest.approx(0.8, abs=0.1)


def test_fig1_shows_two_test_images_of_each_class_with_their_label(tables):
    examples = tables.examples
    per_class = examples.groupby("class_name").example.nunique()
    assert len(per_class) == 9 and (per_class == 2).all()
    pixels = examples.groupby("example").value
    assert (pixels.count() == 32 * 32).all()
    assert ((examples.value >= -1) & (examples.value <= 1)).all()  # raw pixels, as Glorot's code feeds them
    assert (pixels.nunique() >= 2).all()  # a background and at least one object


def test_fig5_the_quadratic_cost_is_flat_where_the_cross_entropy_is_not(tables):
    numbers = g.cost_flatness(tables)
    assert numbers["quadratic"]["range"] < 0.5 * numbers["cross_entropy"]["range"]
    assert numbers["quadratic"]["plateau"] > 2 * numbers["cross_entropy"]["plateau"]
    assert numbers["quadratic"]["plateau"] > 0.1


def test_fig12_mnist_test_error_falls_during_training_for_both_inits(tables):
    curves = g.test_error_curves(tables, "mnist")
    for model, rows in curves.groupby("model"):
        rows = rows.sort_values("step")
        assert rows.error.iloc[-1] < 0.5 * rows.error.iloc[0], model
    assert set(curves.model) == {"Tanh", "Tanh N"}


def test_table1_reports_each_models_learning_rate(tables):
    rows = g.table1(tables)
    assert set(rows["data"]) == {"shapeset", "mnist"}
    assert (rows.lr == 0.1).all()  # no grid here: the one learning rate is the selected one


# --- what the figures draw --------------------------------------------------------------------------------


def test_fig2_draws_each_layers_std_over_units_and_examples_as_its_error_bars(tables):
    curves = g.layer_curves(tables, "sigmoid", "standard", "act", g.FIG2_BLOCK)
    fig = g.fig2(tables)
    bars = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    spans = sorted(seg[1][1] - seg[0][1] for c in bars for seg in c.get_segments())
    assert spans == pytest.approx(sorted(2 * curves["std"]))  # mean ± std of the table, not over rows
    plt.close(fig)


def test_fig12_draws_normalized_solid_and_standard_dashed_with_the_legend_by_final_error(tables):
    final = g.final_errors(g.test_error_curves(tables, "mnist"))
    fig = g.fig12(tables)
    legend = fig.axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [f"{model} ({final[model]:.2f}%)" for model in final.index]
    styles = {label.split(" (")[0]: h.get_linestyle() for label, h in zip(labels, legend.legend_handles,
                                                                          strict=True)}
    assert styles == {"Tanh N": "-", "Tanh": "--"}
    plt.close(fig)
