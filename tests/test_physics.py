"""The papers' claims at initialization (step 0), read from the layer_stats table a run writes.

Glorot & Bengio 2010, Fig 6: with the "standard" U(+-1/sqrt(n)) init the variance of tanh activations shrinks
by about 1/3 per layer; with the "normalized" init it is nearly kept.
He et al. 2015, Sec. 2.2: in a ReLU net, std sqrt(1/n) halves the second moment of s at each layer
(2^-29 over 30 layers), std sqrt(2/n) keeps it.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from fanin.train.run import train_run
from tests.helpers import compose

STEP0 = ("trainer.max_steps=0", "data.valid_size=500", "data.test_size=500", "probe.jacobian_steps=[]")


def step0_stats(tmp_path, *overrides) -> pd.DataFrame:
    train_run(compose(*STEP0, *overrides), tmp_path)
    stats = pd.read_parquet(tmp_path / "layer_stats.parquet")
    return stats[stats.step == 0].set_index(["quantity", "layer"])


@pytest.fixture(scope="module")
def tanh_shapeset(tmp_path_factory):
    return {init: step0_stats(tmp_path_factory.mktemp(init), "data=shapeset", "model.activation=tanh",
                              "model.depth=5", "model.width=1000", f"init={init}")
            for init in ("standard", "glorot_uniform")}


def test_standard_init_shrinks_tanh_activations_layer_by_layer(tanh_shapeset):
    act_std = tanh_shapeset["standard"].loc["act", "std"]
    assert all(act_std[ell + 1] < act_std[ell] for ell in range(1, 5))
    assert act_std[5] / act_std[1] < 0.2


def test_normalized_init_keeps_tanh_activations_far_more(tanh_shapeset):
    act_std = tanh_shapeset["glorot_uniform"].loc["act", "std"]
    assert act_std[5] / act_std[1] > 0.4


def test_standard_init_backprop_gradients_shrink_toward_the_input(tanh_shapeset):
    """Glorot Fig 7: with the standard init the back-propagated gradients are smaller in lower layers."""
    standard = tanh_shapeset["standard"].loc["backprop", "std"]
    normalized = tanh_shapeset["glorot_uniform"].loc["backprop", "std"]
    assert standard[1] / standard[5] < 0.5 * normalized[1] / normalized[5]


def second_moment_log2_ratio(stats: pd.DataFrame, first: int, last: int) -> float:
    pre = stats.loc["preact"]
    moment = pre["std"] ** 2 + pre["mean"] ** 2
    return math.log2(moment[last] / moment[first])


@pytest.mark.parametrize("init, expected, tolerance", [("xavier_he_baseline", -29, 3), ("he_normal", 0, 1.5)])
def test_thirty_layer_relu_second_moment(tmp_path, init, expected, tolerance):
    stats = step0_stats(tmp_path, "data=shapeset", "model.activation=relu", "model.depth=30",
                        "model.width=1000", f"init={init}")
    assert abs(second_moment_log2_ratio(stats, 1, 30) - expected) < tolerance
