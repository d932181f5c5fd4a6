"""The init registry: every scheme draws from the law it names, and the registry, configs and errors agree.

Statistical checks use a (500, 800) weight (fan_out != fan_in, so a fan mix-up shows) and tolerances of
6 standard errors: the sample variance of N draws has relative sd sqrt(2/N) for a Gaussian (less for a
uniform), the sample mean has sd sigma/sqrt(N). Draws are seeded, so the tests are also deterministic.
"""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch import nn

from fanin.inits import INIT_SCHEMES, initialize, scheme_variance
from fanin.model import MLP
from tests.helpers import CONF_DIR

CONF = Path(__file__).resolve().parents[1] / "conf" / "init"
FAN_OUT, FAN_IN = 500, 800
N = FAN_OUT * FAN_IN
VAR_RTOL = 6 * math.sqrt(2 / N)  # 6 standard errors of a Gaussian sample variance
FAN_SUM = FAN_IN + FAN_OUT

NAMES = [
    "zeros", "constant", "normal", "uniform", "standard_normal", "too_small", "too_large", "standard",
    "lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal", "bengio_sigmoid", "he_normal",
    "he_uniform", "xavier_he_baseline", "orthogonal", "sparse", "rbm_normal", "scaled_identity", "lsuv",
    "mean_field_normal", "mean_field_orthogonal",
]  # fmt: skip

# name, params, expected std of the Gaussian law (written out from the papers, not from inits.py)
NORMAL_LAWS = [
    ("normal", {}, 0.01),
    ("normal", {"std": 0.3}, 0.3),
    ("standard_normal", {}, 1.0),
    ("too_small", {}, 0.01 / math.sqrt(FAN_IN)),
    ("too_large", {}, 10.0 / math.sqrt(FAN_IN)),
    ("lecun_normal", {}, 1 / math.sqrt(FAN_IN)),
    ("xavier_he_baseline", {}, 1 / math.sqrt(FAN_IN)),
    ("glorot_normal", {}, math.sqrt(2 / FAN_SUM)),
    ("glorot_normal", {"gain": 2.0}, 2.0 * math.sqrt(2 / FAN_SUM)),
    ("he_normal", {}, math.sqrt(2 / FAN_IN)),
    ("he_normal", {"mode": "fan_out"}, math.sqrt(2 / FAN_OUT)),
    ("he_normal", {"a": 0.25}, math.sqrt(2 / (1.0625 * FAN_IN))),
    ("rbm_normal", {}, 0.01),
    ("rbm_normal", {"std": 0.1}, 0.1),
    ("mean_field_normal", {}, 1 / math.sqrt(FAN_IN)),
    ("mean_field_normal", {"sigma_w2": 2.5, "sigma_b2": 0.05}, math.sqrt(2.5 / FAN_IN)),
]
# name, params, expected bound b of the law U(-b, b)
UNIFORM_LAWS = [
    ("uniform", {}, 0.05),
    ("uniform", {"a": 2.0}, 2.0),
    ("standard", {}, 1 / math.sqrt(FAN_IN)),
    ("lecun_uniform", {}, math.sqrt(3 / FAN_IN)),
    ("glorot_uniform", {}, math.sqrt(6 / FAN_SUM)),
    ("glorot_uniform", {"gain": 0.5}, 0.5 * math.sqrt(6 / FAN_SUM)),
    ("bengio_sigmoid", {}, 4 * math.sqrt(6 / FAN_SUM)),
    ("he_uniform", {}, math.sqrt(6 / FAN_IN)),
    ("he_uniform", {"mode": "fan_out", "a": 0.1}, math.sqrt(6 / (1.01 * FAN_OUT))),
]
# schemes checked exactly or structurally by dedicated tests below
STRUCTURED = {"zeros", "constant", "orthogonal", "sparse", "scaled_identity", "lsuv", "mean_field_orthogonal"}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def draw(name: str, params: dict | None = None, shape=(FAN_OUT, FAN_IN)) -> torch.Tensor:
    weight = torch.empty(shape)
    INIT_SCHEMES[name](weight, **(params or {}))
    return weight


def tiny_mlp(**kwargs) -> MLP:
    return MLP(in_features=12, num_classes=3, depth=kwargs.pop("depth", 3), width=16, **kwargs)


def test_the_registry_holds_exactly_the_documented_names():
    assert sorted(INIT_SCHEMES) == sorted(NAMES)


def test_every_registered_scheme_has_a_law_test():
    tested = {n for n, _, _ in NORMAL_LAWS + UNIFORM_LAWS} | STRUCTURED
    assert tested == set(INIT_SCHEMES)


# --- the laws ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, params, std", NORMAL_LAWS, ids=lambda v: str(v))
def test_gaussian_scheme_has_its_formula_variance_and_zero_mean(name, params, std):
    w = draw(name, params)
    assert w.var().item() == pytest.approx(std**2, rel=VAR_RTOL)
    assert abs(w.mean().item()) < 6 * std / math.sqrt(N)
    assert scheme_variance(name, FAN_IN, FAN_OUT, params) == pytest.approx(std**2, rel=1e-12)


@pytest.mark.parametrize("name, params, bound", UNIFORM_LAWS, ids=lambda v: str(v))
def test_uniform_scheme_fills_its_formula_bound_with_variance_bound_squared_over_3(name, params, bound):
    w = draw(name, params)
    # P(max |w| < b (1 - 1e-4)) = (1 - 1e-4)^N ~ e^-40
    assert bound * (1 - 1e-4) <= w.abs().max().item() <= bound * (1 + 1e-6)
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=VAR_RTOL)
    assert abs(w.mean().item()) < 6 * bound / math.sqrt(3 * N)
    assert scheme_variance(name, FAN_IN, FAN_OUT, params) == pytest.approx(bound**2 / 3, rel=1e-12)


def test_glorot_uniform_bound_is_sqrt6_over_fan_sum():
    assert draw("glorot_uniform").abs().max().item() == pytest.approx(math.sqrt(6 / FAN_SUM), rel=1e-4)


def test_xavier_he_baseline_is_lecun_normal_under_another_name():
    torch.manual_seed(3)
    a = draw("xavier_he_baseline")
    torch.manual_seed(3)
    b = draw("lecun_normal")
    assert torch.equal(a, b)
    assert inspect.unwrap(INIT_SCHEMES["xavier_he_baseline"]) is inspect.unwrap(INIT_SCHEMES["lecun_normal"])


def test_zeros_is_exactly_zero():
    assert torch.equal(draw("zeros"), torch.zeros(FAN_OUT, FAN_IN))


@pytest.mark.parametrize("value", [0.0, 0.7, -2.0])
def test_constant_is_exactly_its_value(value):
    assert torch.equal(draw("constant", {"value": value}), torch.full((FAN_OUT, FAN_IN), value))


@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (5, 5)])
@pytest.mark.parametrize("scale", [1.5, 0.5])
def test_scaled_identity_is_exactly_scale_times_leading_diagonal(shape, scale):
    w = draw("scaled_identity", {"scale": scale}, shape)
    assert torch.equal(w, scale * torch.eye(*shape))
    assert torch.equal(draw("scaled_identity", {"scale": 1.0}, shape), nn.init.eye_(torch.empty(shape)))


@pytest.mark.parametrize("shape", [(300, 500), (500, 300), (256, 256)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_has_orthonormal_rows_or_columns_times_gain(shape, gain):
    w = draw("orthogonal", {"gain": gain}, shape).double()
    rows, cols = shape
    gram = w @ w.T if rows <= cols else w.T @ w
    assert torch.allclose(gram, gain**2 * torch.eye(min(shape), dtype=torch.float64), atol=1e-4)
    expected = scheme_variance("orthogonal", cols, rows, {"gain": gain})  # = gain^2 / max(fan_in, fan_out)
    assert w.pow(2).mean().item() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("shape", [(300, 500), (500, 300)])
def test_orthogonal_draws_the_same_matrix_as_torch_orthogonal_from_the_same_seed(shape):
    torch.manual_seed(7)
    ours = draw("orthogonal", {"gain": 1.3}, shape)
    torch.manual_seed(7)
    theirs = nn.init.orthogonal_(torch.empty(shape), gain=1.3)
    assert torch.allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("nonzero, std", [(15, 1.0), (3, 0.5), (2000, 1.0)])
def test_sparse_gives_every_unit_exactly_nonzero_incoming_gaussian_weights(nonzero, std):
    w = draw("sparse", {"nonzero": nonzero, "std": std})
    k = min(nonzero, FAN_IN)
    assert torch.equal((w != 0).sum(dim=1), torch.full((FAN_OUT,), k))
    values = w[w != 0]
    assert values.var().item() == pytest.approx(std**2, rel=6 * math.sqrt(2 / values.numel()))
    assert abs(values.mean().item()) < 6 * std / math.sqrt(values.numel())
    assert scheme_variance("sparse", FAN_IN, FAN_OUT, {"nonzero": nonzero, "std": std}) == pytest.approx(
        k / FAN_IN * std**2
    )


def test_sparse_spreads_its_nonzeros_over_all_inputs():
    hits = (draw("sparse", {"nonzero": 15}) != 0).sum(dim=0)  # per input: ~ Binomial(500, 15/800), mean 9.4
    assert (hits > 0).float().mean().item() > 0.99


# --- agreement with torch.nn.init ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a", [0.0, 0.3])
def test_he_normal_variance_matches_torch_kaiming_normal(mode, a):
    theirs = nn.init.kaiming_normal_(torch.empty(FAN_OUT, FAN_IN), a=a, mode=mode, nonlinearity="leaky_relu")
    ours = draw("he_normal", {"mode": mode, "a": a})
    assert ours.var().item() == pytest.approx(theirs.var().item(), rel=math.sqrt(2) * VAR_RTOL)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a", [0.0, 0.3])
def test_he_uniform_bound_and_variance_match_torch_kaiming_uniform(mode, a):
    theirs = nn.init.kaiming_uniform_(torch.empty(FAN_OUT, FAN_IN), a=a, mode=mode, nonlinearity="leaky_relu")
    ours = draw("he_uniform", {"mode": mode, "a": a})
    assert ours.abs().max().item() == pytest.approx(theirs.abs().max().item(), rel=1e-4)
    assert ours.var().item() == pytest.approx(theirs.var().item(), rel=math.sqrt(2) * VAR_RTOL)


def test_glorot_uniform_bound_matches_torch_xavier_uniform():
    theirs = nn.init.xavier_uniform_(torch.empty(FAN_OUT, FAN_IN), gain=1.7)
    ours = draw("glorot_uniform", {"gain": 1.7})
    assert ours.abs().max().item() == pytest.approx(theirs.abs().max().item(), rel=1e-4)


def test_glorot_normal_variance_matches_torch_xavier_normal():
    theirs = nn.init.xavier_normal_(torch.empty(FAN_OUT, FAN_IN))
    ours = draw("glorot_normal")
    assert ours.var().item() == pytest.approx(theirs.var().item(), rel=math.sqrt(2) * VAR_RTOL)


def test_standard_is_nn_linear_default_bound_one_over_sqrt_fan_in():
    theirs = nn.Linear(FAN_IN, FAN_OUT).weight.detach()
    ours = draw("standard")
    bound = 1 / math.sqrt(FAN_IN)
    assert theirs.abs().max().item() == pytest.approx(bound, rel=1e-4)
    assert ours.abs().max().item() == pytest.approx(bound, rel=1e-4)
    assert ours.var().item() == pytest.approx(theirs.var().item(), rel=math.sqrt(2) * VAR_RTOL)


# --- initialize and lsuv -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("mean_field_")])
def test_initialize_fills_every_layer_and_zeroes_every_bias(name):
    model = tiny_mlp()
    initialize(model, name, batch=torch.randn(64, 12))
    for linear in model.linears:
        assert torch.equal(linear.bias, torch.zeros_like(linear.bias))
    if name not in {"zeros", "constant"}:
        assert all(linear.weight.abs().sum() > 0 for linear in model.linears)


def test_mean_field_normal_draws_biases_of_variance_sigma_b2_and_zero_biases_without_it():
    torch.manual_seed(0)
    model = MLP(800, 500, depth=3, width=500, activation="tanh")
    initialize(model, "mean_field_normal", {"sigma_w2": 1.76, "sigma_b2": 0.05})
    biases = torch.cat([linear.bias for linear in model.linears])
    assert biases.mean().abs() < 4 * math.sqrt(0.05 / len(biases))
    assert biases.var().item() == pytest.approx(0.05, rel=6 * math.sqrt(2 / len(biases)))
    for linear in model.linears:
        assert linear.weight.var().item() == pytest.approx(1.76 / linear.in_features, rel=0.02)
    initialize(model, "mean_field_normal", {"sigma_w2": 1.76, "sigma_b2": 0.0})
    assert all(torch.equal(linear.bias, torch.zeros_like(linear.bias)) for linear in model.linears)


def test_mean_field_orthogonal_is_orthogonal_times_sigma_w_with_normal_biases():
    torch.manual_seed(0)
    model = MLP(500, 500, depth=3, width=500, activation="tanh")
    initialize(model, "mean_field_orthogonal", {"sigma_w2": 1.05, "sigma_b2": 0.05})
    for linear in model.linears:
        w = linear.weight
        assert torch.allclose(w @ w.T, 1.05 * torch.eye(500), atol=1e-4)
    biases = torch.cat([linear.bias for linear in model.linears])
    assert biases.var().item() == pytest.approx(0.05, rel=6 * math.sqrt(2 / len(biases)))


def test_initialize_applies_parameters_to_every_layer():
    model = tiny_mlp()
    initialize(model, "constant", {"value": 0.25})
    assert all(torch.all(linear.weight == 0.25) for linear in model.linears)


def test_initialize_draws_from_the_global_rng():
    a, b = tiny_mlp(), tiny_mlp()
    torch.manual_seed(11)
    initialize(a, "he_normal")
    torch.manual_seed(11)
    initialize(b, "he_normal")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_lsuv_gives_unit_preactivation_variance_in_every_layer(activation):
    model = MLP(in_features=30, num_classes=10, depth=5, width=100, activation=activation)
    batch = 5.0 * torch.randn(512, 30)  # badly scaled inputs: orthogonal alone would not give Var(s) = 1
    initialize(model, "lsuv", {"tol": 0.05}, batch=batch)
    with torch.no_grad():
        variances = [s.var().item() for s in model.trace(batch).preacts]
    assert len(variances) == 6
    assert all(abs(v - 1) < 0.05 for v in variances), variances


def test_lsuv_rescales_what_orthogonal_alone_leaves_off_unit_variance():
    model = MLP(in_features=30, num_classes=10, depth=5, width=100, activation="tanh")
    batch = 5.0 * torch.randn(512, 30)
    initialize(model, "orthogonal")
    with torch.no_grad():
        assert abs(model.trace(batch).preacts[0].var().item() - 1) > 0.5


def test_lsuv_keeps_batchnorm_statistics_and_train_mode():
    model = MLP(in_features=12, num_classes=3, depth=3, width=16, batch_norm=True)
    model.train()
    initialize(model, "lsuv", batch=torch.randn(64, 12))
    assert model.training
    for norm in model.norms:
        assert torch.equal(norm.running_mean, torch.zeros(16))
        assert torch.equal(norm.running_var, torch.ones(16))


def test_lsuv_without_a_batch_is_a_clear_error_before_touching_weights():
    model = tiny_mlp()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="needs a batch"):
        initialize(model, "lsuv")
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters(), strict=True))


# --- errors --------------------------------------------------------------------------------------


def test_unknown_name_is_a_one_line_error_listing_every_scheme():
    with pytest.raises(ValueError) as err:
        initialize(tiny_mlp(), "foo")
    message = str(err.value)
    assert "\n" not in message and message.startswith("unknown init 'foo'; valid: ")
    assert all(name in message for name in NAMES)
    with pytest.raises(ValueError, match="unknown init"):
        scheme_variance("foo", 10, 10, {})


def test_unknown_parameter_is_an_error_naming_the_valid_ones():
    message = r"init 'he_normal' has no parameter 'std'; valid: mode, a, truncated$"
    with pytest.raises(ValueError, match=message):
        initialize(tiny_mlp(), "he_normal", {"std": 1.0})
    with pytest.raises(ValueError, match=r"valid: \(none\)"):
        INIT_SCHEMES["standard"](torch.empty(3, 4), gain=2.0)


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("normal", {"std": -1.0}, "std must be >= 0"),
        ("rbm_normal", {"std": float("nan")}, "std must be a finite number"),
        ("uniform", {"a": -0.1}, "a must be >= 0"),
        ("he_normal", {"mode": "fan_avg"}, "mode must be one of fan_in, fan_out"),
        ("mean_field_normal", {"sigma_w2": 0.0}, "sigma_w2 must be > 0"),
        ("mean_field_normal", {"sigma_b2": -0.05}, "sigma_b2 must be >= 0"),
        ("mean_field_orthogonal", {"sigma_w2": -1.0}, "sigma_w2 must be > 0"),
        ("he_uniform", {"a": "0.1"}, "a must be a finite number"),
        ("glorot_uniform", {"gain": -1.0}, "gain must be >= 0"),
        ("sparse", {"nonzero": 2.5}, "nonzero must be an integer"),
        ("sparse", {"nonzero": -1}, "nonzero must be >= 0"),
        ("lsuv", {"tol": 0.0}, "tol must be > 0"),
        ("lsuv", {"max_iter": 0}, "max_iter must be > 0"),
        ("constant", {"value": True}, "value must be a finite number"),
    ],
)
def test_bad_parameter_values_are_one_line_errors(name, params, match):
    with pytest.raises(ValueError, match=match) as err:
        initialize(tiny_mlp(), name, params, batch=torch.randn(8, 12))
    assert "\n" not in str(err.value) and f"init {name!r}" in str(err.value)


def test_integer_values_are_accepted_for_float_parameters():
    initialize(tiny_mlp(), "normal", {"std": 1, "mean": 0})


def test_scheme_variance_is_none_for_lsuv():
    assert scheme_variance("lsuv", 10, 10, {}) is None


# --- hydra configs -------------------------------------------------------------------------------


def load(name: str) -> dict:
    return yaml.safe_load((CONF / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_every_scheme_has_a_config_with_its_defaults_and_law_comment(name):
    path = CONF / f"{name}.yaml"
    assert path.read_text().startswith("# ")
    cfg = load(name)
    assert cfg.pop("name") == name
    signature = inspect.signature(INIT_SCHEMES[name])
    defaults = {p.name: p.default for p in list(signature.parameters.values())[1:]}
    assert cfg == defaults
    assert all(type(cfg[k]) is type(defaults[k]) for k in cfg)


def test_every_config_names_a_registered_scheme():
    assert {load(p.stem)["name"] for p in CONF.glob("*.yaml")} == set(INIT_SCHEMES)
    assert all(load(p.stem)["name"] == p.stem for p in CONF.glob("*.yaml"))


def test_a_command_line_override_reaches_the_scheme():
    with initialize_config_dir(config_dir=str(CONF.parent), version_base="1.3"):
        cfg = compose(overrides=["+init=he_normal", "init.mode=fan_out"])
    assert OmegaConf.to_container(cfg.init) == {"name": "he_normal", "mode": "fan_out", "a": 0.0,
                                                "truncated": False}
    model = MLP(in_features=FAN_IN, num_classes=10, depth=1, width=FAN_OUT)
    initialize(model, cfg.init.name, {k: v for k, v in cfg.init.items() if k != "name"})
    assert model.linears[0].weight.var().item() == pytest.approx(2 / FAN_OUT, rel=VAR_RTOL)


@pytest.mark.parametrize("name", INIT_SCHEMES)
@pytest.mark.parametrize("shape", [(0, 5), (5, 0)])
def test_a_weight_with_no_elements_is_refused_in_one_line(name, shape):
    with pytest.raises(ValueError, match=rf"init '{name}' cannot fill a weight with no elements \(shape "
                                         rf"\({shape[0]}, {shape[1]}\)\); "
                                         r"valid: fan_out >= 1 and fan_in >= 1"):
        INIT_SCHEMES[name](torch.empty(*shape))


# --- where fanin's conventions meet the peers' (torch, Keras, Lasagne) --------------------------------
# Where fanin's init conventions meet the peers' (torch, Keras, Lasagne): the opt-in Keras truncated normal,
# the one-line refusal of empty layers, and the sparse init's per-unit (not per-column) sparsity.
#
# Keras' glorot_normal / he_normal / lecun_normal (keras/src/initializers/random_initializers.py,
# VarianceScaling(distribution="truncated_normal")) draw N(0, s^2), s = sqrt(scale / n) / 0.87962566103423978,
# truncated at ±2 s. The constants below are written out from that, not taken from inits.py. Statistical
# checks use a (500, 800) weight and 6 standard errors, as tests/test_inits.py.

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
TRUNCATABLE_NAMES = sorted({name for name, _, _ in TRUNCATABLE})
ids = [f"{name}{params or ''}" for name, params, _ in TRUNCATABLE]




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


@pytest.mark.parametrize("name", sorted(set(INIT_SCHEMES) - set(TRUNCATABLE_NAMES)))
def test_only_the_schemes_with_a_keras_truncated_counterpart_take_truncated(name):
    with pytest.raises(ValueError, match=rf"init '{name}' has no parameter 'truncated'; valid: "):
        INIT_SCHEMES[name](torch.empty(4, 3), truncated=True)


def test_init_truncated_true_on_the_command_line_reaches_the_scheme():
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
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


@pytest.mark.parametrize("name", TRUNCATABLE_NAMES)
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
