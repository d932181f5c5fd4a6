"""Where fanin's init conventions meet the peers' (torch, Keras, Lasagne): the opt-in Keras truncated normal,
the one-line refusal of empty layers, and the sparse init's per-unit (not per-column) sparsity.

Keras' glorot_normal / he_normal / lecun_normal (keras/src/initializers/random_initializers.py,
VarianceScaling(distribution="truncated_normal")) draw N(0, s^2), s = sqrt(scale / n) / 0.87962566103423978,
truncated at ±2 s. The constants below are written out from that, not taken from inits.py. Statistical
checks use a (500, 800) weight and 6 standard errors, as tests/test_inits.py.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from torch import nn

from fanin.inits import INIT_SCHEMES, initialize, scheme_variance
from fanin.model import MLP

CONF = Path(__file__).resolve().parents[1] / "conf"
FAN_OUT, FAN_IN = 500, 800
N = FAN_OUT * FAN_IN
FAN_SUM = FAN_IN + FAN_OUT
KERAS = 0.87962566103423978  # the std of N(0, 1) truncated to [-2, 2]
Z = math.erf(math.sqrt(2))  # P(|N(0, 1)| < 2)
INNER = math.erf(1 / math.sqrt(2)) / Z  # P(|w| < s) under the truncated law: 0.7153

# name, params, target std (Var(W) = std^2, both with and without truncation)
TRUNCATABLE = [
    ("glorot_normal", {}, math.sqrt(2 / FAN_SUM)),
    ("glorot_normal", {"gain": 2.0}, 2.0 * math.sqrt(2 / FAN_SUM)),
    ("he_normal", {}, math.sqrt(2 / FAN_IN)),
    ("he_normal", {"mode": "fan_out", "a": 0.25}, math.sqrt(2 / (1.0625 * FAN_OUT))),
    ("lecun_normal", {}, 1 / math.sqrt(FAN_IN)),
    ("xavier_he_baseline", {}, 1 / math.sqrt(FAN_IN)),  # lecun_normal under another name
]
NAMES = sorted({name for name, _, _ in TRUNCATABLE})
ids = [f"{name}{params or ''}" for name, params, _ in TRUNCATABLE]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def draw(name: str, params: dict | None = None, shape=(FAN_OUT, FAN_IN)) -> torch.Tensor:
    weight = torch.empty(shape)
    INIT_SCHEMES[name](weight, **(params or {}))
    return weight


# --- truncated: Keras' truncated normal, opt-in ----------------------------------------------------


@pytest.mark.parametrize("name, params, std", TRUNCATABLE, ids=ids)
def test_truncated_draw_keeps_the_target_variance_and_stays_within_2_underlying_stds(name, params, std):
    w = draw(name, {**params, "truncated": True})
    s = std / KERAS  # the underlying normal's std
    assert w.var().item() == pytest.approx(std**2, rel=0.02)
    assert abs(w.mean().item()) < 6 * std / math.sqrt(N)
    assert w.abs().max().item() <= 2 * s * (1 + 1e-6)
    assert w.abs().max().item() > 1.99 * s  # ~450 of the draws fall in (1.99 s, 2 s]
    assert scheme_variance(name, FAN_IN, FAN_OUT, {**params, "truncated": True}) == pytest.approx(std**2)


@pytest.mark.parametrize("name, params, std", TRUNCATABLE, ids=ids)
def test_truncated_draw_has_the_truncated_normal_shape(name, params, std):
    w = draw(name, {**params, "truncated": True})
    inner = (w.abs() < std / KERAS).float().mean().item()
    assert inner == pytest.approx(INNER, abs=6 * math.sqrt(INNER * (1 - INNER) / N))


@pytest.mark.parametrize("name, params, std", TRUNCATABLE, ids=ids)
def test_default_is_bitwise_the_papers_untruncated_gaussian(name, params, std):
    torch.manual_seed(5)
    default = draw(name, params)
    torch.manual_seed(5)
    explicit = draw(name, {**params, "truncated": False})
    torch.manual_seed(5)
    old = torch.empty(FAN_OUT, FAN_IN).normal_(0.0, std)  # the draw before `truncated` existed
    assert torch.equal(default, explicit)
    assert torch.equal(default, old)
    assert (default.abs() > 2 * std / KERAS).float().mean().item() > 0.02  # its tails pass the cut (2.3%)


@pytest.mark.parametrize("name, params, std", TRUNCATABLE, ids=ids)
def test_truncated_draw_is_seeded_by_the_global_rng_and_is_torch_trunc_normal(name, params, std):
    torch.manual_seed(9)
    a = draw(name, {**params, "truncated": True})
    torch.manual_seed(9)
    b = draw(name, {**params, "truncated": True})
    torch.manual_seed(10)
    c = draw(name, {**params, "truncated": True})
    torch.manual_seed(9)
    s = std / KERAS
    theirs = nn.init.trunc_normal_(torch.empty(FAN_OUT, FAN_IN), 0.0, s, -2 * s, 2 * s)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.allclose(a, theirs, rtol=1e-5, atol=1e-6 * s)  # the same draw, scaled after the cut


def test_truncated_with_zero_gain_is_exactly_zero():
    assert torch.equal(draw("glorot_normal", {"gain": 0.0, "truncated": True}), torch.zeros(FAN_OUT, FAN_IN))


@pytest.mark.parametrize("value", [1, 0, "true", None, 1.0])
def test_truncated_must_be_a_boolean(value):
    message = f"init 'he_normal': truncated must be true or false; got {value!r}"
    with pytest.raises(ValueError, match=re.escape(message) + "$") as err:
        initialize(MLP(12, 3, depth=2, width=16), "he_normal", {"truncated": value})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", sorted(set(INIT_SCHEMES) - set(NAMES)))
def test_only_the_schemes_with_a_keras_truncated_counterpart_take_truncated(name):
    with pytest.raises(ValueError, match=rf"init '{name}' has no parameter 'truncated'; valid: "):
        INIT_SCHEMES[name](torch.empty(4, 3), truncated=True)


def test_init_truncated_true_on_the_command_line_reaches_the_scheme():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(overrides=["+init=glorot_normal", "init.truncated=true"])
    params = {k: v for k, v in cfg.init.items() if k != "name"}
    assert params == {"gain": 1.0, "truncated": True}
    model = MLP(in_features=FAN_IN, num_classes=10, depth=1, width=FAN_OUT)
    initialize(model, cfg.init.name, params)
    w = model.linears[0].weight
    s = math.sqrt(2 / FAN_SUM) / KERAS
    assert w.abs().max().item() <= 2 * s * (1 + 1e-6)
    assert w.var().item() == pytest.approx(2 / FAN_SUM, rel=0.02)


# --- empty layers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
def test_an_empty_weight_is_refused_in_one_line_with_truncated_too(name, shape):
    with pytest.raises(ValueError, match=rf"init '{name}' cannot fill a weight with no elements") as err:
        INIT_SCHEMES[name](torch.empty(*shape), truncated=True)
    assert "\n" not in str(err.value) and str(err.value).endswith("valid: fan_out >= 1 and fan_in >= 1")


@pytest.mark.parametrize("name", sorted(INIT_SCHEMES))
@pytest.mark.parametrize("fans", [(0, 5), (5, 0)])
def test_scheme_variance_of_an_empty_layer_is_a_one_line_error_not_zero_division(name, fans):
    fan_in, fan_out = fans
    with pytest.raises(ValueError, match=rf"init '{name}' has no variance for a layer with no weights "
                                         rf"\(fan_in {fan_in}, fan_out {fan_out}\); "
                                         r"valid: fan_out >= 1 and fan_in >= 1$"):
        scheme_variance(name, fan_in, fan_out)


# --- sparse: exactly k per unit, not torch's per-column fraction -----------------------------------


def test_sparse_fixes_each_units_count_where_torch_sparse_fixes_each_columns():
    ours = draw("sparse", {"nonzero": 15})
    assert torch.equal((ours != 0).sum(dim=1), torch.full((FAN_OUT,), 15))  # every unit: 15 inputs
    assert (ours != 0).sum(dim=0).unique().numel() > 1  # per input column it varies
    theirs = nn.init.sparse_(torch.empty(FAN_OUT, FAN_IN), sparsity=1 - 15 / FAN_IN)
    zeros_per_column = (theirs == 0).sum(dim=0)
    assert zeros_per_column.unique().numel() == 1  # torch: the same number of zeros in every column
    assert (theirs != 0).sum(dim=1).unique().numel() > 1  # so a unit's number of inputs varies


def test_sparse_docstring_names_the_torch_difference():
    doc = INIT_SCHEMES["sparse"].__doc__
    assert "sparse_" in doc and "exactly k" in doc and "Martens" in doc


@pytest.mark.parametrize("name", ["glorot_normal", "he_normal", "lecun_normal"])
def test_truncatable_docstrings_cite_keras_convention(name):
    doc = " ".join(INIT_SCHEMES[name].__doc__.split())
    assert "keras/src/initializers/random_initializers.py" in doc
    assert 'distribution="truncated_normal"' in doc and "0.87962566103423978" in doc and "±2 s" in doc
