"""`python -m fanin.train`: the public override names work, and bad input gets one clear line."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from tests.helpers import REPO


def fanin_train(*overrides: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fanin.train", *overrides], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("override, expected", [
    ("init=foo", "fanin.train: unknown init 'foo'; valid: bengio_sigmoid, constant, glorot_normal"),
    ("data=imagenet", "fanin.train: unknown data 'imagenet'; valid: cifar10, digits, mnist, shapeset, toy2d"),
    ("model.activation=swish", "fanin.train: unknown activation 'swish'; valid: tanh, sigmoid, relu"),
])
def test_unknown_names_get_one_line_listing_the_valid_ones(override, expected):
    result = fanin_train(override)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.strip().startswith(expected)


def test_a_missing_data_root_names_the_expected_files(tmp_path):
    result = fanin_train("data=mnist", f"data.root={tmp_path}", f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode != 0
    assert "train-images-idx3-ubyte" in last_line(result) and "t10k-labels-idx1-ubyte" in last_line(result)


def test_depth_out_of_range_is_refused_with_the_range(tmp_path):
    result = fanin_train("data=digits", "model.depth=301", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert last_line(result) == "fanin.train: model.depth=301 is out of range; valid: 1..300 hidden layers"


@pytest.mark.slow
def test_the_public_overrides_run_a_measured_run(tmp_path):
    run_dir = tmp_path / "results" / "runs" / "init=he_normal"
    result = fanin_train("data=digits", "init=he_normal", "init.mode=fan_out", "model.activation=relu",
                         "model.depth=4", "model.width=64", "seed=3", "trainer.max_steps=50", "optim.lr=0.05",
                         "data.batch_size=20", f"hydra.run.dir='{run_dir}'")  # quoted: the path holds '='

    assert result.returncode == 0, result.stderr
    assert {p.name for p in run_dir.iterdir()} >= {"config.yaml", "metrics.parquet", "layer_stats.parquet",
                                                   "histograms.parquet", "jacobian.parquet",
                                                   "provenance.json", "summary.json"}
    metrics = pd.read_parquet(run_dir / "metrics.parquet")
    assert metrics.step.max() == 50
    assert abs(metrics.epoch.max() - 50 * 20 / 1197) < 1e-9  # 1,197 training digits


def test_a_minibatch_larger_than_the_training_set_is_one_line_naming_the_sizes(tmp_path):
    result = fanin_train("data=digits", "data.batch_size=5000", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert last_line(result) == ("fanin.train: data.batch_size=5000 is larger than the training set "
                                 "(1197 examples); valid: 1..1197")
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize("override, expected", [
    ("model.depth=2.5", "model.depth=2.5 is not an integer like its default 5; valid: an integer"),
    ("model.width=abc", "model.width='abc' is not an integer like its default 1000; valid: an integer"),
    ("optim.lr=abc", "optim.lr='abc' is not a number like its default 0.01; valid: a number"),
    ("model.batch_norm=3", "model.batch_norm=3 is not true or false like its default False"),
    ("+optim.lrr=0.1", "unknown key optim.lrr; valid: lr, momentum, nesterov, weight_decay"),
    ("+trainer.max_step=5", "unknown key trainer.max_step; valid: accelerator, checkpoint_dir,"),
    ("+foo=1", "unknown key foo; valid: data, init, logger, model, optim, probe, run_name, seed, study_name"),
])
def test_a_wrong_type_or_an_unknown_key_is_refused_naming_the_key(override, expected):
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from fanin.train.command import CONF_DIR, check_keys_and_types

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["data=digits", override], return_hydra_config=True)
        choices = dict(cfg.hydra.runtime.choices)
    config = OmegaConf.to_container(cfg, resolve=False)
    config.pop("hydra")
    with pytest.raises(ValueError, match=re.escape(expected)):
        check_keys_and_types(config, choices)


def test_a_wrong_type_ends_the_command_in_one_line(tmp_path):
    result = fanin_train("data=digits", "model.depth=2.5", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert result.stderr.strip() == ("fanin.train: model.depth=2.5 is not an integer like its default 5; "
                                     "valid: an integer")
    assert not (tmp_path / "summary.json").exists()
