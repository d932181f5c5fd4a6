"""A user's own init scheme, activation and data set, from a package of theirs (fanin.plugins): the example
package examples/fanin_plugin_example, made visible without pip by a dist-info folder written from its
pyproject.toml's entry points, trains through `python -m fanin.train` and through a study's pack; a name
that is nowhere, or that clashes with a built-in, is one line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

import fanin.data as data
from fanin import activations, inits
from fanin.activations import check_activation, make_activation, max_slope
from fanin.data import load_data, loader
from fanin.inits import initialize, scheme_variance
from fanin.model import MLP
from fanin.train.command import check_choices
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "fanin_plugin_example"
EXAMPLE_SRC = EXAMPLE / "src"
EXAMPLE_CONF = EXAMPLE_SRC / "fanin_plugin_example" / "conf"
SEARCHPATH = "hydra.searchpath=[pkg://fanin_plugin_example.conf]"
GAIN = 1.5  # lecun_uniform_gain's Var(W) = GAIN^2 / fan_in, not the built-in lecun_uniform's 1 / fan_in
RUN = ("data=spiral2d", "init=lecun_uniform_gain", f"init.gain={GAIN}", "model.activation=selu",
       "model.depth=3", "model.width=64", "trainer.max_steps=30", "probe.every=30", "probe.per_decade=1",
       "probe.size=100", "probe.bins=20", "probe.jacobian_steps=[0]", "threads=1")


def write_dist_info(site: Path, name: str, entry_points: dict[str, dict[str, str]]) -> None:
    """What `pip install` writes for a package's entry points: <name>.dist-info/, METADATA and
    entry_points.txt."""
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items()) + "\n"
        for group, points in entry_points.items()))


def example_site(site: Path) -> Path:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    write_dist_info(site, project["name"], project["entry-points"])
    return site


@pytest.fixture(scope="module", autouse=True)
def fanin_train_run(tmp_path_factory):
    """`python -m fanin.train` of the example's three names, started as the module's first test starts, so
    that it trains on one core while the other tests run on the other (its test waits for it)."""
    where = tmp_path_factory.mktemp("fanin_train")
    site = example_site(where / "site")
    run_dir = where / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(EXAMPLE_SRC)])}
    command = [sys.executable, "-m", "fanin.train", *RUN, SEARCHPATH, f"hydra.run.dir={run_dir}"]
    with open(where / "output.txt", "w") as output:  # a file, not a pipe: nothing waits for a reader
        process = subprocess.Popen(command, cwd=where, env=env, stdout=output, stderr=subprocess.STDOUT)
    yield process, run_dir
    if process.poll() is None:
        process.kill()
    process.wait()


@pytest.fixture
def site(tmp_path, monkeypatch):
    """The example's entry points on sys.path (and its source), every registry restored afterwards."""
    site = example_site(tmp_path / "site")
    monkeypatch.syspath_prepend(str(EXAMPLE_SRC))
    monkeypatch.syspath_prepend(str(site))
    for name in ("INIT_SCHEMES", "_RAW", "_VARIANCE", "_RULES", "_BIAS"):
        monkeypatch.setattr(inits, name, dict(getattr(inits, name)))
    monkeypatch.setattr(activations, "_PLUGINS", {})
    monkeypatch.setattr(activations, "_PLUGIN_SLOPES", {})
    monkeypatch.setattr(data, "_PLUGINS", {})
    yield site
    for module in [m for m in sys.modules if m.split(".")[0] in ("fanin_plugin_example", "user_plugin")]:
        del sys.modules[module]


def one_line_error(call, *args) -> str:
    with pytest.raises(ValueError) as error:
        call(*args)
    message = str(error.value)
    assert "\n" not in message
    return message


# --- the three registries find the example's names ----------------------------------------------------------


def test_the_plugin_init_is_registered_on_first_use_and_follows_its_law(site):
    assert "lecun_uniform_gain" not in inits.INIT_SCHEMES  # nothing imported before its name is asked for
    assert scheme_variance("lecun_uniform_gain", 400, 300, {"gain": GAIN}) == pytest.approx(GAIN**2 / 400)
    model = MLP(400, 10, depth=2, width=300)
    initialize(model, "lecun_uniform_gain", {"gain": GAIN})
    weight = model.hidden[1].weight  # fan_in 300
    bound = GAIN * math.sqrt(3 / 300)
    assert weight.abs().max() <= bound
    assert weight.pow(2).mean().item() == pytest.approx(GAIN**2 / 300, rel=0.03)
    assert inits.INIT_SCHEMES["lecun_uniform_gain"].__doc__.startswith("W ~ U(-b, b), b = gain * sqrt(3")


def test_the_plugin_activation_and_data_set_are_found_by_name(site):
    selu = make_activation(check_activation("selu"), negative_slope=0.01, prelu_init=0.25)
    assert type(selu).__module__ == "fanin_plugin_example.activations"
    assert max_slope("selu") == pytest.approx(1.0507009873554805 * 1.6732632423543772)  # its max_slope
    splits = load_data(**yaml.safe_load((EXAMPLE_CONF / "data" / "spiral2d.yaml").read_text()))
    assert splits.name == "spiral2d" and splits.in_features == 2 and splits.num_classes == 3
    assert loader("spiral2d").__module__ == "fanin_plugin_example.data"


def test_an_activation_without_max_slope_has_it_measured(site):
    (site / "user_plugin.py").write_text("from torch import nn\n\n\ndef softplus():\n"
                                         "    return nn.Softplus()\n")
    write_dist_info(site, "user-plugin", {"fanin.activations": {"softplus": "user_plugin:softplus"}})
    assert max_slope("softplus") == pytest.approx(1 / (1 + math.exp(-10)), rel=1e-6)  # sigmoid(10), at s = 10


def test_a_plugin_init_without_its_yaml_on_the_search_path_says_what_to_add(site):
    message = one_line_error(check_choices, ["init=lecun_uniform_gain"])
    assert message.startswith("unknown init 'lecun_uniform_gain'; valid: bengio_sigmoid, ")
    assert message.endswith("needs init/lecun_uniform_gain.yaml on the config search path: add "
                            "hydra.searchpath=[pkg://fanin_plugin_example.conf] (or [file://<folder>])")
    check_choices(["init=lecun_uniform_gain", "data=spiral2d", "model.activation=selu", SEARCHPATH])


# --- one-line errors: a name that is nowhere, a clash with a built-in ---------------------------------------


def test_unknown_names_are_one_line_listing_the_built_ins_and_the_plugins(site):
    assert one_line_error(inits.scheme_params, "nope").endswith(", lsuv, lecun_uniform_gain")
    assert one_line_error(check_activation, "nope") == (
        "unknown activation 'nope'; valid: tanh, sigmoid, relu, softsign, leaky_relu, prelu, linear, selu")
    assert one_line_error(loader, "nope") == (
        "unknown data 'nope'; valid: shapeset, digits, mnist, cifar10, toy2d, spiral2d")


@pytest.mark.parametrize("group, name, call", [
    ("fanin.inits", "lecun_uniform", inits.scheme_params),
    ("fanin.activations", "tanh", check_activation),
    ("fanin.data", "digits", loader),
])
def test_a_plugin_named_like_a_built_in_is_a_one_line_error(site, group, name, call):
    write_dist_info(site, "user-plugin", {group: {name: "user_plugin:anything"}})
    kind = group.removeprefix("fanin.").removesuffix("s")
    plugin_name = {"init": "lecun_uniform_gain", "activation": "selu", "data": "spiral2d"}[kind]
    message = one_line_error(call, plugin_name)  # any plugin lookup reads the group, and refuses the clash
    assert message.startswith(f"{kind} plugin {name!r} (entry point 'user_plugin:anything' in group "
                              f"{group}) clashes with fanin's built-in {kind} {name!r}; valid: a name that "
                              "is none of ")


def test_a_plugin_that_registers_a_built_in_init_again_is_a_one_line_error(site):
    (site / "user_plugin.py").write_text(
        "from fanin.inits import register\n\n"
        "@register('lecun_uniform', variance=lambda fi, fo: 1 / fi)\n"
        "def mine(weight):\n    weight.zero_()\n")
    write_dist_info(site, "user-plugin", {"fanin.inits": {"mine": "user_plugin"}})
    assert one_line_error(inits.scheme_params, "mine").startswith(
        "init plugin 'mine' (entry point 'user_plugin' in group fanin.inits) failed to load: ValueError: "
        "init 'lecun_uniform' is already registered (fanin.inits.lecun_uniform); valid: a name that is not "
        "one of ")
    assert inits.INIT_SCHEMES["lecun_uniform"].__module__ == "fanin.inits"  # the built-in is untouched


# --- end to end ---------------------------------------------------------------------------------------------


def test_a_study_of_plugin_names_trains_as_a_pack_as_the_pipeline_runs_it(site, tmp_path, monkeypatch):
    """The study file a user writes: plugin names as axis values beside built-in ones, the search path in its
    overrides (file:// here); expanded and packed as the Snakefile does, then the pack's command."""
    from fanin.plan.packing import plan_packs
    from fanin.plan.studies import expand_study
    from fanin.train.__main__ import main

    axes = {"data": "spiral2d", "depth": 2, "width": 16, "seed": 0}
    studies = tmp_path / "studies"
    studies.mkdir()
    (studies / "plugins.yaml").write_text(yaml.safe_dump({
        "description": "a user's init, activation and data set beside fanin's",
        "overrides": {"hydra.searchpath": f"[file://{EXAMPLE_CONF}]", "trainer.max_steps": 20,
                      "probe.every": 20, "probe.size": 50, "probe.bins": 10, "probe.jacobian_steps": "[]"},
        "grid": [{"axes": {**axes, "activation": ["selu", "tanh"], "init": "lecun_uniform_gain"},
                  "overrides": {"init.gain": GAIN}},
                 {"axes": {**axes, "activation": "selu", "init": "glorot_uniform"}}],
    }))
    runs = expand_study(studies, "plugins", "quick")
    (pack,) = plan_packs(runs, 8, 1)
    argv = ["--threads", "1"]
    for run in pack:
        argv += ["--run", str(tmp_path / "runs" / run.run_id), *run.overrides, "study_name=plugins"]
    monkeypatch.setattr(sys, "argv", ["fanin.train", *argv])
    threads = torch.get_num_threads()
    try:
        main()
    finally:  # --threads sets this process's torch threads
        torch.set_num_threads(threads)
    for run in runs:
        summary = json.loads((tmp_path / "runs" / run.run_id / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["steps"] == 20
        # width * Var(W): gain^2 for the plugin's scheme, 16 * 2 / (16 + 16) for glorot_uniform
        expected = GAIN**2 if run.axes["init"] == "lecun_uniform_gain" else 1.0
        assert summary["hidden_n_var_w"] == pytest.approx(expected)
    assert len(runs) == 3 and json.loads((tmp_path / "runs" / runs[0].run_id / "provenance.json").read_text()
                                         )["pack"]["size"] == 3


def test_a_run_of_the_plugins_through_fanin_train_writes_its_tables_and_shows_the_init_law(fanin_train_run):
    process, run_dir = fanin_train_run  # started with the module's first test
    assert process.wait(timeout=300) == 0, (run_dir.parent / "output.txt").read_text()[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 30
    assert summary["hidden_n_var_w"] == pytest.approx(GAIN**2)  # width * Var(W), the scheme's own variance
    assert summary["xi_c"] is None  # no mean-field theory for selu
    signal = pd.read_parquet(run_dir / "signal.parquet")
    at_init = signal[(signal.step == 0) & (signal.layer >= 2)]  # fan_in 64: 4,096 weights each
    # measured fan_in * mean(W^2) at step 0 is the scheme's gain^2 (sd of the estimate: 1.4%)
    assert at_init.sigma_w2.to_numpy() == pytest.approx([GAIN**2] * 2, rel=0.06)
    assert signal.q_theory.isna().all() and signal.chi1_theory.isna().all()
    stats = pd.read_parquet(run_dir / "layer_stats.parquet")
    hidden = stats[(stats.quantity == "preact") & (stats.layer <= 3)]
    assert {0, 30} <= set(hidden.step) and hidden.frac_saturated.between(0, 1).all()
    assert (run_dir / "boundary.parquet").exists()  # a 2-D data set gets its decision boundary too
