"""Each default has one home, the conf/ YAML: the code reads a run's groups whole (fanin.config), refuses a
key it does not take or lacks in one line, and keeps a default of its own only where a researcher calls it
from Python (fanin.model.MLP), checked here to be the YAML's."""

from __future__ import annotations

import inspect

import pytest

from fanin.data import GROUP_KEYS, LOADERS, load_data, loader, loader_arguments
from fanin.model import MLP
from fanin.train.run import check_config, train_run
from fanin.train.sinks import wandb_arguments
from tests.helpers import SMALL_RUN, compose

DIGITS_KEYS = "batch_size, name, normalize, test_size, valid_size"
DIGITS_TYPO = rf"^unknown key data.valid_sise \(data=digits\); valid: {DIGITS_KEYS}$"
MODEL_KEYS = "activation, batch_norm, depth, negative_slope, prelu_init, width"


def refused(config: dict, tmp_path, message: str) -> str:
    """train_run's one-line ValueError matching `message`, raised before the run folder is touched."""
    with pytest.raises(ValueError, match=message) as error:
        train_run(config, tmp_path / "run")
    assert "\n" not in str(error.value) and not (tmp_path / "run").exists()
    return str(error.value)


def test_a_typo_in_a_data_key_is_one_line_naming_it_and_the_valid_keys(tmp_path):
    refused(compose(*SMALL_RUN, "+data.valid_sise=10"), tmp_path, DIGITS_TYPO)


def test_the_loaders_refuse_a_typo_called_from_python_too():
    with pytest.raises(ValueError, match=DIGITS_TYPO):
        load_data(**compose("data=digits")["data"], valid_sise=10)


def test_a_typo_in_a_model_key_is_one_line_naming_it_and_the_valid_keys(tmp_path):
    refused(compose(*SMALL_RUN, "+model.widht=16"), tmp_path,
            rf"^unknown key model.widht; valid: {MODEL_KEYS}$")


@pytest.mark.parametrize("group, key, message", [
    ("model", "batch_norm", rf"missing key model.batch_norm; needed: {MODEL_KEYS} "),
    ("data", "test_size",
     r"missing key data.test_size \(data=digits\); needed: normalize, test_size, valid_size "),
])
def test_a_config_with_a_key_left_out_is_refused_not_filled_with_a_default(tmp_path, group, key, message):
    config = compose(*SMALL_RUN)
    del config[group][key]
    refused(config, tmp_path, message)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_each_loader_takes_exactly_its_yaml_keys_and_has_no_defaults_of_its_own(name):
    group = compose(f"data={name}")["data"]
    parameters = inspect.signature(loader(name)).parameters
    assert set(parameters) == set(group) - set(GROUP_KEYS)
    assert all(p.default is inspect.Parameter.empty for p in parameters.values())
    assert loader_arguments(group) == {k: v for k, v in group.items() if k not in GROUP_KEYS}


def test_mlp_takes_exactly_the_model_keys_and_its_python_defaults_are_the_yaml_ones():
    model = compose()["model"]
    parameters = dict(inspect.signature(MLP).parameters)
    del parameters["in_features"], parameters["num_classes"]  # the data set's sizes
    assert set(parameters) == set(model)
    defaults = {k: p.default for k, p in parameters.items() if p.default is not inspect.Parameter.empty}
    assert defaults == {k: model[k] for k in defaults}
    assert set(defaults) == {"activation", "batch_norm", "negative_slope", "prelu_init"}


def test_the_wandb_logger_group_is_wandb_sinks_arguments():
    assert wandb_arguments(compose("logger=wandb")) == {"project": "fanin", "entity": None, "mode": "offline"}
    config = compose("logger=wandb", "+logger.projet=x")
    with pytest.raises(ValueError, match=r"^unknown key logger.projet \(logger=wandb\); valid: entity, mode, "
                                         r"name, project$"):
        wandb_arguments(config)


@pytest.mark.parametrize("data", sorted(LOADERS))
def test_the_default_config_of_every_data_set_passes_the_key_checks(data):
    check_config(compose(f"data={data}"))


def test_a_run_of_the_default_config_finds_every_key_it_reads(tmp_path):
    # Every trainer, probe and model key is read with config[group][key]: a key the YAML lacked would be a
    # KeyError here. Zero updates of the default 5 x 1000 net on digits: step 0 with the default probes.
    summary = train_run(compose("data=digits", "trainer.max_steps=0", "threads=1"), tmp_path)
    assert summary["status"] == "completed" and summary["steps"] == 0


def test_a_hand_run_is_named_as_the_pipeline_names_the_same_run():
    # conf/train.yaml's run_name (a hand run's folder below runs/ and its W&B name) spells the axes in the
    # order fanin.plan.studies does for the pipeline's runs.
    from fanin.plan.studies import run_id

    config = compose("data=shapeset", "init=standard", "model.activation=softsign", "seed=3")
    axes = {"seed": config["seed"], "data": config["data"]["name"], "init": config["init"]["name"],
            "activation": config["model"]["activation"], "depth": config["model"]["depth"],
            "width": config["model"]["width"]}
    assert config["run_name"] == run_id(axes)
    assert run_id(axes) == "data=shapeset/activation=softsign/init=standard/depth=5/width=1000/seed=3"
