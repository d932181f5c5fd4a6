"""Collecting a study: the runs' tables stacked with one column per run axis, and summary.csv
per configuration."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from fanin.collect import collect
from fanin.plan.studies import Run, available_studies, expand_study, load_study, run_id
from fanin.train.run import train_run
from tests.helpers import SMALL_RUN, STUDIES_DIR, compose


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    rows = []
    for seed in (0, 1):
        for init in ("standard", "glorot_uniform"):
            axes = {"data": "digits", "activation": "tanh", "init": init, "depth": 3, "width": 32,
                    "seed": seed}
            rows.append(Run("test", axes, (), block=init).row())
            train_run(compose(*SMALL_RUN, f"init={init}", f"seed={seed}", "trainer.max_steps=10",
                              "probe.every=5"),
                      root / "runs" / rows[-1]["run"])
    collect(root / "runs", rows, root / "tables")
    return root, rows


def test_run_ids_spell_out_the_axes_and_parse_back():
    axes = {"data": "shapeset", "activation": "tanh", "init": "glorot_uniform", "depth": 5, "width": 1000,
            "seed": 0, "init.scale": 1.5}
    assert run_id(axes) == ("data=shapeset/activation=tanh/init=glorot_uniform/depth=5/width=1000/seed=0/"
                            "init.scale=1.5")


def study_axis_names(study: dict) -> set[str]:
    """Every axis a study file names: its grid blocks' axes and any its scales (study or block) give."""
    scales = [*(study.get("scales") or {}).values(),
              *(s for block in study["grid"] for s in (block.get("scales") or {}).values())]
    return ({a for block in study["grid"] for a in block["axes"]}
            | {a for scale in scales for a in ((scale or {}).get("axes") or {})})


@pytest.mark.parametrize("scale", ["smoke", "quick"])
@pytest.mark.parametrize("study", available_studies(STUDIES_DIR))
def test_every_run_folder_names_each_axis_as_the_study_file_does(study, scale):
    """One name per axis: each key=value part of a run folder is an axis of the study, spelt as there."""
    names = study_axis_names(load_study(STUDIES_DIR, study))
    for run in expand_study(STUDIES_DIR, study, scale):
        keys = [part.partition("=")[0] for part in run.run_id.split("/")]
        assert set(keys) <= names, (run.run_id, sorted(names))
        assert sorted(keys) == sorted(run.axes), run.run_id


def test_a_collected_table_has_a_column_named_as_each_axis(study_dir):
    """The run folder, the run table and every collected table spell each axis alike (no act=, no dataset)."""
    root, rows = study_dir
    axes = [k for k in rows[0] if k not in ("run", "block")]
    assert axes == ["data", "activation", "init", "depth", "width", "seed"]
    assert [part.partition("=")[0] for part in rows[0]["run"].split("/")] == axes
    frames = {name: pd.read_parquet(root / "tables" / f"{name}.parquet")
              for name in ("metrics", "layer_stats", "histograms", "jacobian", "signal")}
    frames["summary"] = pd.read_csv(root / "tables" / "summary.csv")
    for name, frame in frames.items():
        assert set(axes) <= set(frame.columns), (name, list(frame.columns))
        assert not {"dataset", "act"} & set(frame.columns), name


def test_the_run_table_row_carries_the_folder_the_block_and_the_typed_axes():
    axes = {"seed": 0, "init.scale": 1.5, "data": "shapeset", "activation": "tanh", "init": "orthogonal",
            "depth": 5, "width": 1000}
    row = Run("s", axes, (), block="deep").row()
    assert row == {"run": run_id(axes), "block": "deep", "data": "shapeset", "activation": "tanh",
                   "init": "orthogonal", "depth": 5, "width": 1000, "seed": 0, "init.scale": 1.5}
    assert [r.block for r in expand_study(STUDIES_DIR, "glorot2010", "quick")][:2] == ["tanh", "tanh_n"]


def test_study_tables_have_one_column_per_axis(study_dir):
    root, rows = study_dir
    stats = pd.read_parquet(root / "tables" / "layer_stats.parquet")
    assert list(stats.columns[:6]) == ["data", "activation", "init", "depth", "width", "seed"]
    assert stats.groupby(["init", "seed"]).ngroups == 4
    assert stats.depth.dtype.kind == "i" and stats.seed.dtype.kind == "i"
    one = pd.read_parquet(root / "runs" / rows[0]["run"] / "layer_stats.parquet")
    assert len(stats) == 4 * len(one)


def test_every_study_table_says_the_grid_block_of_each_row(study_dir):
    root, _ = study_dir
    for table in ("metrics", "layer_stats", "histograms", "jacobian"):
        frame = pd.read_parquet(root / "tables" / f"{table}.parquet")
        assert frame.columns[6] == "block" and (frame.block == frame.init).all(), table


def test_a_new_key_in_summary_json_is_a_column_never_a_new_configuration(study_dir, tmp_path):
    root, rows = study_dir
    shutil.copytree(root / "runs", tmp_path / "runs")
    for k, row in enumerate(rows):  # a key each run gives a different value: once, it split configurations
        path = tmp_path / "runs" / row["run"] / "summary.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "host": f"node{k}"}))
    collect(tmp_path / "runs", rows, tmp_path / "tables")
    summary = pd.read_csv(tmp_path / "tables" / "summary.csv")
    assert (summary.level == "configuration").sum() == 2
    assert summary[summary.level == "run"].host.tolist() == [f"node{k}" for k in range(len(rows))]


def test_summary_gives_mean_and_std_over_seeds_per_configuration(study_dir):
    root, _ = study_dir
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
    quick = expand_study(STUDIES_DIR, "he2015", "quick")
    paper = expand_study(STUDIES_DIR, "he2015", "paper")
    assert {r.axes["seed"] for r in quick} == {0} and {r.axes["seed"] for r in paper} == {0, 1, 2}
    assert {r.axes["width"] for r in paper} == {1000}
    assert all("trainer.max_steps=4000" in r.overrides for r in quick)


@pytest.mark.parametrize(("text", "message"), [
    ("grid: []\nfigure: [x]\n",
     "study bad: unknown key(s) figure; valid: description, figures, grid, overrides, scales"),
    ("grid:\n- axes: {data: digits}\n  overides: {x: 1}\n",
     "study bad, grid[0]: unknown key(s) overides; valid: axes, name, overrides, scales"),
    ("grid:\n- axes: {data: digits}\n  scales: {quick: {resource: {runtime: 1}}}\n",
     "study bad, grid[0].scales.quick: unknown key(s) resource; valid: axes, overrides, resources"),
    ("grid:\n- axes: {data: digits}\nscales: {huge: {}}\n",
     "study bad, scales: unknown scale 'huge'; valid: smoke, quick, long, paper"),
])
def test_a_study_file_out_of_its_schema_is_refused_in_one_line_naming_where(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(ValueError) as error:
        expand_study(tmp_path, "bad", "quick")
    assert str(error.value) == message


def test_summary_marks_the_learning_rate_the_validation_set_selects(tmp_path):
    rows = []
    for lr in (0.1, 0.0001):
        axes = {"data": "digits", "activation": "tanh", "init": "glorot_uniform", "depth": 3, "width": 32,
                "lr": lr, "seed": 0}
        rows.append(Run("test", axes, (), block="lr_grid").row())
        train_run(compose(*SMALL_RUN, f"optim.lr={lr}", "trainer.max_steps=60"),
                  tmp_path / "runs" / rows[-1]["run"])
    collect(tmp_path / "runs", rows, tmp_path / "tables")
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
