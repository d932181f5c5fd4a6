"""Weight-initialization schemes by name: the registry every study draws its initial weights from.

Each scheme is one function `fn(weight, **params) -> None` that fills `weight` (shape (fan_out, fan_in),
as nn.Linear stores it) in place from the global torch RNG, with its law in the docstring. `register`
files it in INIT_SCHEMES under its name(s) behind a wrapper that checks the parameters (unknown names,
wrong types, out-of-range values: one-line ValueErrors) and runs it under torch.no_grad().

`initialize(model, name, params, batch)` applies a scheme to every layer of a model and zeroes the
biases (except for the mean_field_* schemes, which draw them); `scheme_variance` gives the Var(W) a
scheme aims at, for predicted per-layer variances.

Another package adds a scheme without editing this one: a `fanin.inits` entry point named like the scheme,
whose value is the module (or the function in it) that calls `register` when imported; it is imported the
first time its name is looked up (fanin.plugins). A name that is already registered cannot be registered
again, so a plugin never replaces a built-in.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from fanin.plugins import load_plugin, plugins

INIT_SCHEMES: dict[str, Callable[..., None]] = {}
_RAW: dict[str, Callable[..., None]] = {}  # name -> the undecorated function
_VARIANCE: dict[str, Callable[..., float] | None] = {}
_RULES: dict[str, dict[str, Any]] = {}
_BIAS: dict[str, Callable[..., None]] = {}  # the few schemes that also draw the biases (others zero them)

FAN_MODES = ("fan_in", "fan_out")
_BOUNDS = {">= 0": lambda v: v >= 0, "> 0": lambda v: v > 0}
DATA_DEPENDENT = ("lsuv",)
PLUGIN_GROUP = "fanin.inits"


def register(
    *names: str, variance: Callable[..., float] | None = None, rules: Mapping[str, Any] | None = None,
    bias: Callable[..., None] | None = None,
):
    """File the decorated scheme in INIT_SCHEMES under each of `names` (several names share one function).

    `variance(fan_in, fan_out, **params)` is the scheme's Var(W) (None: not defined); `rules` maps a
    parameter to ">= 0" / "> 0" or to a tuple of allowed strings. A parameter's type is its default's.
    `bias(bias, **params)` fills a layer's biases where the scheme has a law for them; without it
    `initialize` zeroes them.
    """

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        for name in names:
            if name in INIT_SCHEMES:
                raise ValueError(f"init {name!r} is already registered ({_RAW[name].__module__}."
                                 f"{_RAW[name].__qualname__}); valid: a name that is not one of "
                                 f"{', '.join(INIT_SCHEMES)}")
            _RAW[name], _VARIANCE[name], _RULES[name] = fn, variance, dict(rules or {})
            if bias is not None:
                _BIAS[name] = bias
            INIT_SCHEMES[name] = _checked(name, fn)
        return INIT_SCHEMES[names[0]]

    return decorate


def _checked(name: str, fn: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(fn)
    def scheme(weight: torch.Tensor, **params: Any) -> None:
        params = _resolve(name, params)
        if weight.dim() != 2:
            shape = tuple(weight.shape)
            raise ValueError(f"init {name!r} fills 2-D (fan_out, fan_in) weights; got shape {shape}")
        if weight.numel() == 0:
            raise ValueError(f"init {name!r} cannot fill a weight with no elements "
                             f"(shape {tuple(weight.shape)}); valid: fan_out >= 1 and fan_in >= 1")
        with torch.no_grad():
            fn(weight, **params)

    return scheme


def _defaults(name: str) -> dict[str, Any]:
    sig = inspect.signature(_RAW[name])
    return {p.name: p.default for p in list(sig.parameters.values())[1:]}


def _check_name(name: str) -> str:
    """`name`, registered: a built-in, or a plugin's (imported now if it was not yet)."""
    if name in INIT_SCHEMES:
        return name
    point, _ = load_plugin(PLUGIN_GROUP, "init", name, BUILTIN)
    if point is None:
        others = [n for n in plugins(PLUGIN_GROUP, "init", BUILTIN) if n not in INIT_SCHEMES]
        raise ValueError(f"unknown init {name!r}; valid: {', '.join([*INIT_SCHEMES, *others])}")
    if name not in INIT_SCHEMES:
        raise ValueError(f"init plugin {name!r} (entry point {point.value!r} in group {PLUGIN_GROUP}) "
                         f"registered no init {name!r}; valid: a module whose import runs "
                         f"@fanin.inits.register({name!r}, variance=...)")
    return name


def _resolve(name: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scheme's full parameters (defaults filled in), each checked; one-line ValueError otherwise."""
    defaults = _defaults(_check_name(name))
    params = dict(params or {})
    unknown = [key for key in params if key not in defaults]
    if unknown:
        valid = ", ".join(defaults) or "(none)"
        raise ValueError(f"init {name!r} has no parameter {', '.join(map(repr, unknown))}; valid: {valid}")
    full = {**defaults, **params}
    for key, value in full.items():
        full[key] = _check_value(name, key, value, defaults[key], _RULES[name].get(key))
    return full


def _check_value(name: str, key: str, value: Any, default: Any, rule: Any) -> Any:
    where = f"init {name!r}: {key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false; got {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str) or (rule is not None and value not in rule):
            raise ValueError(f"{where} must be one of {', '.join(rule)}; got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{where} must be an integer; got {value!r}")
        value = int(value)
    else:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number; got {value!r}")
        value = float(value)
    if rule is not None and not _BOUNDS[rule](value):
        raise ValueError(f"{where} must be {rule}; got {value!r}")
    return value


def _fan(weight: torch.Tensor, mode: str) -> int:
    return weight.shape[1] if mode == "fan_in" else weight.shape[0]


def _fan_sum(weight: torch.Tensor) -> int:
    return weight.shape[0] + weight.shape[1]


# Keras' truncated-normal constant, the std of N(0, 1) cut to [-2, 2]
# (keras/src/initializers/random_initializers.py, VarianceScaling)
KERAS_TRUNCATED_STD = 0.87962566103423978


def _gaussian(weight: torch.Tensor, std: float, truncated: bool) -> None:
    """W ~ N(0, std^2); with `truncated`, Keras' VarianceScaling(distribution="truncated_normal") instead:
    N(0, s^2) with s = std / 0.87962566103423978, cut to [-2 s, 2 s] (keras.random.truncated_normal redraws
    what falls outside), so Var(W) = std^2 still. Drawn as s times torch.nn.init.trunc_normal_'s N(0, 1)
    cut to [-2, 2], from the global RNG (inverse CDF of one uniform per element): the same seed gives the
    same weights, and std = 0 gives zeros."""
    if not truncated:
        weight.normal_(0.0, std)
        return
    nn.init.trunc_normal_(weight, 0.0, 1.0, -2.0, 2.0).mul_(std / KERAS_TRUNCATED_STD)


# --- constant schemes ---------------------------------------------------------------------------


@register("zeros", variance=lambda fi, fo: 0.0)
def zeros(weight: torch.Tensor) -> None:
    """W = 0."""
    weight.zero_()


@register("constant", variance=lambda fi, fo, value: value**2)
def constant(weight: torch.Tensor, *, value: float = 0.0) -> None:
    """W = value."""
    weight.fill_(value)


# --- fixed-scale random schemes ------------------------------------------------------------------


@register("normal", variance=lambda fi, fo, std, mean: std**2 + mean**2, rules={"std": ">= 0"})
def normal(weight: torch.Tensor, *, std: float = 0.01, mean: float = 0.0) -> None:
    """W ~ N(mean, std^2)."""
    weight.normal_(mean, std)


@register("uniform", variance=lambda fi, fo, a: a**2 / 3, rules={"a": ">= 0"})
def uniform(weight: torch.Tensor, *, a: float = 0.05) -> None:
    """W ~ U(-a, a)."""
    weight.uniform_(-a, a)


@register("standard_normal", variance=lambda fi, fo: 1.0)
def standard_normal(weight: torch.Tensor) -> None:
    """W ~ N(0, 1)."""
    weight.normal_(0.0, 1.0)


@register("rbm_normal", variance=lambda fi, fo, std: std**2, rules={"std": ">= 0"})
def rbm_normal(weight: torch.Tensor, *, std: float = 0.01) -> None:
    """W ~ N(0, std^2), std = 0.01 (or 0.1): Hinton's practical guide to training RBMs."""
    weight.normal_(0.0, std)


# --- fan-scaled schemes --------------------------------------------------------------------------


@register("too_small", variance=lambda fi, fo, factor: factor**2 / fi, rules={"factor": ">= 0"})
def too_small(weight: torch.Tensor, *, factor: float = 0.01) -> None:
    """W ~ N(0, (factor / sqrt(fan_in))^2), factor = 0.01: signals vanish layer by layer."""
    weight.normal_(0.0, factor / math.sqrt(weight.shape[1]))


@register("too_large", variance=lambda fi, fo, factor: factor**2 / fi, rules={"factor": ">= 0"})
def too_large(weight: torch.Tensor, *, factor: float = 10.0) -> None:
    """W ~ N(0, (factor / sqrt(fan_in))^2), factor = 10: signals explode (or saturate) layer by layer."""
    weight.normal_(0.0, factor / math.sqrt(weight.shape[1]))


@register("standard", variance=lambda fi, fo: 1 / (3 * fi))
def standard(weight: torch.Tensor) -> None:
    """W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)): Glorot & Bengio's "standard" heuristic, nn.Linear's default."""
    bound = 1 / math.sqrt(weight.shape[1])
    weight.uniform_(-bound, bound)


@register("lecun_uniform", variance=lambda fi, fo: 1 / fi)
def lecun_uniform(weight: torch.Tensor) -> None:
    """W ~ U(-sqrt(3/fan_in), sqrt(3/fan_in)), so Var(W) = 1/fan_in."""
    bound = math.sqrt(3 / weight.shape[1])
    weight.uniform_(-bound, bound)


@register("lecun_normal", "xavier_he_baseline", variance=lambda fi, fo, truncated: 1 / fi)
def lecun_normal(weight: torch.Tensor, *, truncated: bool = False) -> None:
    """W ~ N(0, 1/fan_in). Also registered as xavier_he_baseline: He et al.'s (2015) "Xavier" comparator.

    truncated=true draws Keras' lecun_normal instead (keras/src/initializers/random_initializers.py,
    VarianceScaling(scale=1, mode="fan_in", distribution="truncated_normal")): N(0, s^2) with
    s = sqrt(1/fan_in)/0.87962566103423978, truncated at ±2 s, so Var(W) = 1/fan_in still but no |W|
    exceeds 2 s. The default, false, is the papers' untruncated Gaussian."""
    _gaussian(weight, 1 / math.sqrt(weight.shape[1]), truncated)


@register("glorot_uniform", variance=lambda fi, fo, gain: gain**2 * 2 / (fi + fo), rules={"gain": ">= 0"})
def glorot_uniform(weight: torch.Tensor, *, gain: float = 1.0) -> None:
    """W ~ U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)): Glorot & Bengio's "normalized" init."""
    bound = gain * math.sqrt(6 / _fan_sum(weight))
    weight.uniform_(-bound, bound)


@register("glorot_normal", variance=lambda fi, fo, gain, truncated: gain**2 * 2 / (fi + fo),
          rules={"gain": ">= 0"})
def glorot_normal(weight: torch.Tensor, *, gain: float = 1.0, truncated: bool = False) -> None:
    """W ~ N(0, gain^2 * 2 / (fan_in + fan_out)).

    truncated=true draws Keras' glorot_normal instead (keras/src/initializers/random_initializers.py,
    VarianceScaling(scale=gain^2, mode="fan_avg", distribution="truncated_normal")): N(0, s^2) with
    s = gain * sqrt(2 / (fan_in + fan_out))/0.87962566103423978, truncated at ±2 s, so Var(W) is the same
    but no |W| exceeds 2 s. The default, false, is Glorot & Bengio's untruncated Gaussian."""
    _gaussian(weight, gain * math.sqrt(2 / _fan_sum(weight)), truncated)


@register("bengio_sigmoid", variance=lambda fi, fo: 16 * 2 / (fi + fo))
def bengio_sigmoid(weight: torch.Tensor) -> None:
    """W ~ U(-b, b), b = 4 * sqrt(6 / (fan_in + fan_out)): the normalized init's sigmoid version."""
    glorot_uniform(weight, gain=4.0)


def _he_variance(fi: int, fo: int, mode: str, a: float, truncated: bool = False) -> float:
    return 2 / ((1 + a**2) * (fi if mode == "fan_in" else fo))


@register("he_normal", variance=_he_variance, rules={"mode": FAN_MODES})
def he_normal(weight: torch.Tensor, *, mode: str = "fan_in", a: float = 0.0, truncated: bool = False) -> None:
    """W ~ N(0, 2 / ((1 + a^2) n)), n = fan_in or fan_out by mode, a = the rectifier's negative slope.

    truncated=true draws Keras' he_normal instead (keras/src/initializers/random_initializers.py,
    VarianceScaling(scale=2 / (1 + a^2), mode=mode, distribution="truncated_normal")): N(0, s^2) with
    s = sqrt(2 / ((1 + a^2) n))/0.87962566103423978, truncated at ±2 s, so Var(W) is the same but no |W|
    exceeds 2 s. The default, false, is He et al.'s (2015) untruncated Gaussian."""
    _gaussian(weight, math.sqrt(2 / ((1 + a**2) * _fan(weight, mode))), truncated)


def _mean_field_bias(bias: torch.Tensor, *, sigma_w2: float, sigma_b2: float) -> None:
    bias.normal_(0.0, math.sqrt(sigma_b2))


@register("mean_field_normal", variance=lambda fi, fo, sigma_w2, sigma_b2: sigma_w2 / fi,
          rules={"sigma_w2": "> 0", "sigma_b2": ">= 0"}, bias=_mean_field_bias)
def mean_field_normal(weight: torch.Tensor, *, sigma_w2: float = 1.0, sigma_b2: float = 0.0) -> None:
    """W ~ N(0, σ_w² / fan_in) and biases b ~ N(0, σ_b²): the two parameters of the mean-field theory
    (Poole et al. 2016; Schoenholz et al. 2017), whose predictions fanin.meanfield computes. With
    mean_field_orthogonal the schemes that draw their biases (each layer's weights, then its biases); every
    other scheme's biases are 0."""
    weight.normal_(0.0, math.sqrt(sigma_w2 / weight.shape[1]))


@register("mean_field_orthogonal", variance=lambda fi, fo, sigma_w2, sigma_b2: sigma_w2 / max(fi, fo),
          rules={"sigma_w2": "> 0", "sigma_b2": ">= 0"}, bias=_mean_field_bias)
def mean_field_orthogonal(weight: torch.Tensor, *, sigma_w2: float = 1.0, sigma_b2: float = 0.0) -> None:
    """W = √σ_w² · Q, Q a Haar-random (semi-)orthogonal matrix (as `orthogonal`), and biases b ~ N(0, σ_b²):
    Pennington et al.'s (2017) orthogonal weights at the mean-field theory's (σ_w², σ_b²). A square layer
    has Var(W) = σ_w²/n, as mean_field_normal, and every singular value √σ_w²."""
    _RAW["orthogonal"](weight, gain=math.sqrt(sigma_w2))


@register("he_uniform", variance=_he_variance, rules={"mode": FAN_MODES})
def he_uniform(weight: torch.Tensor, *, mode: str = "fan_in", a: float = 0.0) -> None:
    """W ~ U(-b, b), b = sqrt(6 / ((1 + a^2) n)), n = fan_in or fan_out by mode: Var(W) as he_normal."""
    bound = math.sqrt(6 / ((1 + a**2) * _fan(weight, mode)))
    weight.uniform_(-bound, bound)


# --- structured schemes --------------------------------------------------------------------------


@register("orthogonal", variance=lambda fi, fo, gain: gain**2 / max(fi, fo), rules={"gain": ">= 0"})
def orthogonal(weight: torch.Tensor, *, gain: float = 1.0) -> None:
    """W = gain * Q, Q the (semi-)orthogonal QR factor of a N(0, 1) matrix, columns sign-corrected by
    sign(diag R) so Q is Haar-distributed (Saxe et al. 2014; as torch.nn.init.orthogonal_).
    W W^T = gain^2 I when fan_out <= fan_in, W^T W = gain^2 I otherwise."""
    rows, cols = weight.shape
    flat = weight.new_empty(rows, cols).normal_(0.0, 1.0)
    if rows < cols:
        flat.t_()
    q, r = torch.linalg.qr(flat)
    q *= torch.diag(r, 0).sign()
    if rows < cols:
        q.t_()
    weight.copy_(q).mul_(gain)


@register("sparse", variance=lambda fi, fo, nonzero, std: min(nonzero, fi) / fi * std**2,
          rules={"nonzero": ">= 0", "std": ">= 0"})
def sparse(weight: torch.Tensor, *, nonzero: int = 15, std: float = 1.0) -> None:
    """Each unit (row) gets k = min(nonzero, fan_in) incoming weights ~ N(0, std^2) at random columns,
    the rest 0 (Martens 2010). Not torch.nn.init.sparse_, which sparsifies columns (a fraction `sparsity` of
    each column zero, so a unit's number of nonzero inputs varies): here every unit has exactly k nonzero
    incoming weights, as Martens did."""
    fan_out, fan_in = weight.shape
    k = min(nonzero, fan_in)
    cols = torch.rand(fan_out, fan_in, device=weight.device).argsort(dim=1)[:, :k]
    weight.zero_().scatter_(1, cols, weight.new_empty(fan_out, k).normal_(0.0, std))


@register("scaled_identity", variance=lambda fi, fo, scale: scale**2 / max(fi, fo))
def scaled_identity(weight: torch.Tensor, *, scale: float = 1.5) -> None:
    """W = scale * I, ones on the leading diagonal when rectangular (as torch.nn.init.eye_)."""
    weight.copy_(torch.eye(*weight.shape, dtype=weight.dtype, device=weight.device)).mul_(scale)


@register("lsuv", variance=None, rules={"tol": "> 0", "max_iter": "> 0"})
def lsuv(weight: torch.Tensor, *, tol: float = 0.1, max_iter: int = 10) -> None:
    """Layer-sequential unit variance (Mishkin & Matas 2016): orthogonal W, then, layer by layer from
    input to output, W^l, b^l <- (W^l, b^l) / sqrt(Var(s^l)) on a data batch until |Var(s^l) - 1| < tol
    (at most max_iter passes). Per weight this does the orthogonal part; `initialize` does the rest."""
    orthogonal(weight)


def _preact_var(model: nn.Module, batch: torch.Tensor, ell: int) -> float:
    var = model.trace(batch).preacts[ell].var().item()
    if not math.isfinite(var) or var <= 0:
        raise ValueError(f"init 'lsuv': Var(s^{ell + 1}) = {var} on the batch; cannot rescale it to 1")
    return var


def _lsuv_rescale(model: nn.Module, batch: torch.Tensor, tol: float, max_iter: int) -> None:
    """LSUV's data-dependent part. Runs the model in eval mode (BatchNorm uses, and keeps, its running
    statistics, which are the identity on a fresh model), and restores the train/eval mode after."""
    training = model.training
    model.eval()
    try:
        for ell, linear in enumerate(model.linears):
            for _ in range(max_iter):
                var = _preact_var(model, batch, ell)
                if abs(var - 1) < tol:
                    break
                linear.weight.div_(math.sqrt(var))
                if linear.bias is not None:
                    linear.bias.div_(math.sqrt(var))
            else:
                var = _preact_var(model, batch, ell)
                if abs(var - 1) >= tol:
                    message = f"init 'lsuv': Var(s^{ell + 1}) = {var:.4g} after {max_iter} passes (tol {tol})"
                    warnings.warn(message, stacklevel=3)
    finally:
        model.train(training)


BUILTIN = tuple(INIT_SCHEMES)  # every scheme above; a plugin's names come after these

# --- public API ----------------------------------------------------------------------------------


def scheme_params(name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Scheme `name`'s full parameters (defaults filled in), each checked: what `initialize` will use. A
    one-line ValueError for an unknown name (a plugin's is imported here) or parameter."""
    return _resolve(name, params)


def initialize(
    model: nn.Module, name: str, params: Mapping[str, Any] | None = None, batch: torch.Tensor | None = None
) -> None:
    """Apply scheme `name` with `params` to every linear layer of `model` (model.linears); biases start at 0
    unless the scheme draws them (mean_field_*). lsuv needs `batch` (inputs) and raises a clear
    ValueError without it."""
    params = _resolve(name, params)
    if name in DATA_DEPENDENT and batch is None:
        raise ValueError(f"init {name!r} is data-dependent: initialize(model, {name!r}, params, batch) "
                         "needs a batch of inputs")
    scheme = INIT_SCHEMES[name]
    with torch.no_grad():
        for linear in model.linears:
            scheme(linear.weight, **params)
            if linear.bias is not None and name in _BIAS:
                _BIAS[name](linear.bias, **params)
            elif linear.bias is not None:
                linear.bias.zero_()
        if name == "lsuv":
            _lsuv_rescale(model, batch, **params)


def scheme_variance(
    name: str, fan_in: int, fan_out: int, params: Mapping[str, Any] | None = None
) -> float | None:
    """The Var(W) scheme `name` gives a (fan_out, fan_in) layer; None where the scheme fixes none (lsuv).

    Strictly the mean square E[W^2], which is what n Var(W) stands for in Var(s) = n Var(W) Var(z): it is
    Var(W) for every zero-mean law, mean^2 + std^2 for normal, value^2 for constant, gain^2/max(fan_in,
    fan_out) for orthogonal and scale^2/max(fan_in, fan_out) for scaled_identity (exact per matrix), and
    min(nonzero, fan_in)/fan_in * std^2 for sparse."""
    params = _resolve(name, params)
    if min(fan_in, fan_out) < 1:
        raise ValueError(f"init {name!r} has no variance for a layer with no weights (fan_in {fan_in!r}, "
                         f"fan_out {fan_out!r}); valid: fan_out >= 1 and fan_in >= 1")
    variance = _VARIANCE[name]
    return None if variance is None else float(variance(fan_in, fan_out, **params))
