"""Collecting a study: the runs' tables stacked with one column per run axis, and summary.csv
per configuration."""

from __future__ import annotations

import pandas as pd
import pytest

from fanin.collect import collect
from fanin.run import train_run
from fanin.studies import expand_study, parse_run_id, run_id
from tests.conftest import CONF_DIR, SMALL_RUN, compose


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    runs = []
    for seed in (0, 1):
        for init in ("standard", "glorot_uniform"):
            axes = {"data": "digits", "activation": "tanh", "init": init, "depth": 3, "width": 32,
                    "seed": seed}
            runs.append(run_id(axes))
            train_run(compose(*SMALL_RUN, f"init={init}", f"seed={seed}", "trainer.max_steps=10",
                              "probe.every=5"),
                      root / "runs" / runs[-1])
    collect(root / "runs", runs, root / "tables")
    return root, runs


def test_run_ids_spell_out_the_axes_and_parse_back():
    axes = {"data": "shapeset", "activation": "tanh", "init": "glorot_uniform", "depth": 5, "width": 1000,
            "seed": 0, "init.scale": 1.5}
    assert run_id(axes) == ("data=shapeset/act=tanh/init=glorot_uniform/depth=5/width=1000/seed=0/"
                            "init.scale=1.5")
    assert parse_run_id(run_id(axes)) == {k: str(v) for k, v in axes.items()}


def test_study_tables_have_one_column_per_axis(study_dir):
    root, runs = study_dir
    stats = pd.read_parquet(root / "tables" / "layer_stats.parquet")
    assert list(stats.columns[:6]) == ["dataset", "activation", "init", "depth", "width", "seed"]
    assert stats.groupby(["init", "seed"]).ngroups == 4
    assert stats.depth.dtype.kind == "i" and stats.seed.dtype.kind == "i"
    one = pd.read_parquet(root / "runs" / runs[0] / "layer_stats.parquet")
    assert len(stats) == 4 * len(one)


def test_summary_gives_mean_and_std_over_seeds_per_configuration(study_dir):
    root, runs = study_dir
    summary = pd.read_csv(root / "tables" / "summary.csv")
    per_run = summary[summary.level == "run"]
    per_config = summary[summary.level == "configuration"].set_index("init")
    assert len(per_run) == 4 and len(per_config) == 2
    for init, rows in per_run.groupby("init"):
        assert per_config.loc[init, "seeds"] == 2
        assert per_config.loc[init, "test_error_mean"] == pytest.approx(rows.final_test_error.mean())
        assert per_config.loc[init, "test_error_std"] == pytest.approx(rows.final_test_error.std())
        assert per_config.loc[init, "diverged"] == 0


def test_a_study_scale_replaces_axis_values_and_adds_overrides():
    quick = expand_study(CONF_DIR, "he2015", "quick")
    paper = expand_study(CONF_DIR, "he2015", "paper")
    assert {r.axes["seed"] for r in quick} == {0} and {r.axes["seed"] for r in paper} == {0, 1, 2}
    assert {r.axes["width"] for r in paper} == {1000}
    assert all("trainer.max_steps=4000" in r.overrides for r in quick)


def test_an_unknown_study_key_is_refused(tmp_path):
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "bad.yaml").write_text("grid: []\nfigure: [x]\n")
    with pytest.raises(ValueError, match="study bad: unknown key\\(s\\) figure; valid: description, figures"):
        expand_study(tmp_path, "bad", "quick")


def test_summary_marks_the_learning_rate_the_validation_set_selects(tmp_path):
    runs = []
    for lr in (0.1, 0.0001):
        axes = {"data": "digits", "activation": "tanh", "init": "glorot_uniform", "depth": 3, "width": 32,
                "lr": lr, "seed": 0}
        runs.append(run_id(axes))
        train_run(compose(*SMALL_RUN, f"optim.lr={lr}", "trainer.max_steps=60"), tmp_path / "runs" / runs[-1])
    collect(tmp_path / "runs", runs, tmp_path / "tables")
    summary = pd.read_csv(tmp_path / "tables" / "summary.csv")
    per_run = summary[summary.level == "run"].set_index("lr")
    assert per_run.loc[0.1, "final_valid_error"] < per_run.loc[0.0001, "final_valid_error"]
    assert per_run.loc[0.1, "selected"] and not per_run.loc[0.0001, "selected"]
    configs = summary[summary.level == "configuration"].set_index("lr")
    assert len(configs) == 2 and configs.loc[0.1, "selected"] and not configs.loc[0.0001, "selected"]


def test_a_fixed_learning_rate_is_reported_and_selected(study_dir):
    root, _ = study_dir
    summary = pd.read_csv(root / "tables" / "summary.csv")
    assert (summary.lr == 0.01).all() and summary.selected.all()
