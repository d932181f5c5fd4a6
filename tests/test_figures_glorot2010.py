"""Glorot & Bengio 2010's effects, asserted on study tables of real runs (the numbers the figures print)."""

from __future__ import annotations

import pytest

from fanin.collect import collect
from fanin.figures import glorot2010 as g
from fanin.figures.common import StudyTables
from fanin.run import train_run
from fanin.studies import run_id
from tests.conftest import compose

SHAPESET = ("data=shapeset", "data.valid_size=500", "data.test_size=500", "model.width=1000", "optim.lr=0.1",
            "probe.every=100")


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> StudyTables:
    """Sigmoid 4x1000 trained 300 updates (Fig 2); tanh 5x1000 standard and normalized at initialization."""
    root = tmp_path_factory.mktemp("glorot2010")
    runs = {
        ("sigmoid", "standard", 4, 300): (),
        ("tanh", "standard", 5, 0): (),
        ("tanh", "glorot_uniform", 5, 0): (),
    }
    ids = []
    for activation, init, depth, steps in runs:
        axes = {"data": "shapeset", "activation": activation, "init": init, "depth": depth, "width": 1000, "seed": 0}
        ids.append(run_id(axes))
        train_run(compose(*SHAPESET, f"model.activation={activation}", f"init={init}", f"model.depth={depth}",
                          f"trainer.max_steps={steps}"), root / "runs" / ids[-1])
    collect(root / "runs", ids, root / "tables")
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


def test_jacobian_mean_singular_value_is_about_half_standard_and_four_fifths_normalized(tables):
    # the paper: about 0.5 and 0.8; measured 0.48 and 0.76
    assert g.jacobian_mean_singular_value(tables, "standard") == pytest.approx(0.5, abs=0.1)
    assert g.jacobian_mean_singular_value(tables, "glorot_uniform") == pytest.approx(0.8, abs=0.1)
