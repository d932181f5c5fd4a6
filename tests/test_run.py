"""A run writes every table of the data contract, deterministically, and treats divergence as a result."""

from __future__ import annotations

import json

import pandas as pd
import pandas.testing as pdt
import pytest
import yaml

from fanin.train.run import train_run
from tests.helpers import SMALL_RUN, compose

CONTRACT = {  # the data contract (README: What a run measures), spelled out
    "metrics": ["step", "epoch", "split", "loss", "error"],
    "layer_stats": ["step", "layer", "quantity", "mean", "std", "p2", "p98", "abs_p98", "frac_saturated"],
    "histograms": ["step", "layer", "quantity", "bin_left", "bin_right", "count"],
    "jacobian": ["step", "layer", "sv_mean", "sv_min", "sv_max"],
}


def read_tables(run_dir) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(run_dir / f"{name}.parquet") for name in CONTRACT}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = compose(*SMALL_RUN)
    summary = train_run(config, out)
    return out, config, summary


def test_a_run_writes_every_table_with_the_contract_columns(small_run):
    out, _, _ = small_run
    for name, columns in read_tables(out).items():
        assert list(columns.columns) == CONTRACT[name], name
        assert len(columns) > 0, name
    for record in ("config.yaml", "provenance.json", "summary.json"):
        assert (out / record).is_file()


def test_probes_cover_every_layer_and_quantity_at_the_schedule(small_run):
    out, config, _ = small_run
    stats = read_tables(out)["layer_stats"]
    depth = config["model"]["depth"]
    assert sorted(stats.step.unique()) == [0, 1, 2, 5, 10, 20, 40, 60]
    assert sorted(stats.layer.unique()) == list(range(1, depth + 2))
    assert set(stats.quantity) == {"preact", "act", "backprop", "weight_grad"}
    assert len(stats) == 8 * (depth + 1) * 4
    # every histogram holds exactly the probe batch (activations) or the weight count (weight gradients)
    hist = read_tables(out)["histograms"]
    acts = hist[(hist.quantity == "act") & (hist.layer == 1)].groupby("step")["count"].sum()
    assert (acts == config["probe"]["size"] * config["model"]["width"]).all()


def test_statistics_are_ordered_like_percentiles(small_run):
    stats = read_tables(small_run[0])["layer_stats"]
    assert (stats.p2 <= stats.p98).all()
    # at least 2% of |x| exceed max(p98, -p2), so the 98th percentile of |x| is at least that
    assert (stats.abs_p98 >= pd.concat([stats.p98, -stats.p2], axis=1).max(axis=1) - 1e-7).all()
    hidden_acts = stats[(stats.quantity == "act") & (stats.layer <= 3)]
    assert hidden_acts.frac_saturated.between(0, 1).all()
    assert stats[stats.quantity == "backprop"].frac_saturated.isna().all()


def test_metrics_have_every_split_at_every_measurement(small_run):
    out, config, summary = small_run
    metrics = read_tables(out)["metrics"]
    assert set(metrics[metrics.step == 0].split) == {"valid", "test"}  # nothing trained yet at step 0
    assert set(metrics[metrics.step == 60].split) == {"train", "valid", "test"}
    assert metrics.error.between(0, 1).all()
    assert summary["status"] == "completed" and summary["steps"] == 60
    assert json.loads((out / "summary.json").read_text()) == summary


def test_jacobian_is_measured_at_initialization_and_at_the_end(small_run):
    out, config, _ = small_run
    jac = read_tables(out)["jacobian"]
    assert sorted(jac.step.unique()) == [0, 60]
    assert sorted(jac.layer.unique()) == list(range(1, config["model"]["depth"]))
    assert ((jac.sv_min <= jac.sv_mean) & (jac.sv_mean <= jac.sv_max)).all()


def test_config_and_provenance_describe_the_run(small_run):
    out, config, _ = small_run
    assert yaml.safe_load((out / "config.yaml").read_text()) == config
    prov = json.loads((out / "provenance.json").read_text())
    assert {"versions", "git_commit", "device", "torch_threads", "wall_time_s"} <= prov.keys()
    assert prov["versions"]["torch"].startswith("2.")


def test_same_seed_gives_identical_tables(small_run, tmp_path):
    out, config, _ = small_run
    train_run(config, tmp_path)
    first, second = read_tables(out), read_tables(tmp_path)
    for name in CONTRACT:
        pdt.assert_frame_equal(first[name], second[name], check_exact=True)


def test_seed_zero_is_a_seed_and_other_seeds_differ(tmp_path):
    base = compose(*SMALL_RUN, "trainer.max_steps=5", "probe.every=5")
    other = compose(*SMALL_RUN, "trainer.max_steps=5", "probe.every=5", "seed=1")
    train_run(base, tmp_path / "s0")
    train_run(other, tmp_path / "s1")
    a = pd.read_parquet(tmp_path / "s0" / "layer_stats.parquet")
    b = pd.read_parquet(tmp_path / "s1" / "layer_stats.parquet")
    assert not a["std"].equals(b["std"])


def test_a_too_large_init_diverges_and_the_run_says_so(tmp_path):
    config = compose(*SMALL_RUN, "model.activation=relu", "init=too_large", "init.factor=30", "optim.lr=5.0",
                     "trainer.max_steps=200", "probe.every=50")
    summary = train_run(config, tmp_path)
    assert summary["status"] == "diverged"
    assert summary["steps"] < 200
    # valid JSON: a NaN loss is written as null (json.loads alone would accept a bare NaN)
    strict = json.loads((tmp_path / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    assert strict["status"] == "diverged" and None in strict.values()


def test_a_temporary_file_left_by_a_killed_write_does_not_survive_the_next_attempt(tmp_path):
    stale = tmp_path / ".metrics.parquet.abc123.tmp"
    stale.write_bytes(b"")  # what SIGKILL during atomic_write leaves
    train_run(compose(*SMALL_RUN, "trainer.max_steps=5"), tmp_path)
    assert not stale.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_rerun_removes_stale_outputs_first(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    config = compose(*SMALL_RUN, "model.depth=0")
    with pytest.raises(ValueError, match="model.depth=0 is out of range; valid: 1..300"):
        train_run(config, tmp_path)
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize("override, message", [
    ("model.width=0", "model.width=0 is out of range"),
    ("optim.lr=-1", "optim.lr=-1 is out of range; valid: 0 < lr <= 10"),
    ("data.batch_size=0", "data.batch_size=0 is out of range"),
])
def test_out_of_range_settings_are_refused_with_the_range(tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        train_run(compose(*SMALL_RUN, override), tmp_path)


def test_a_minibatch_larger_than_the_training_set_is_refused_with_the_sizes(tmp_path):
    from fanin.train.run import train_run

    with pytest.raises(ValueError, match=r"data.batch_size=5000 is larger than the training set "
                                         r"\(1197 examples\); valid: 1..1197"):
        train_run(compose(*SMALL_RUN, "data.batch_size=5000"), tmp_path)
    assert not (tmp_path / "summary.json").exists()


def test_a_run_that_stops_short_without_diverging_is_never_reported_complete(tmp_path, monkeypatch):
    import fanin.train.run as run

    monkeypatch.setattr(run, "fit", lambda *args, **kwargs: 0)  # as if no update had happened
    with pytest.raises(run.RunIncomplete, match="after 0 of trainer.max_steps=60 updates"):
        run.train_run(compose(*SMALL_RUN), tmp_path)
    assert not (tmp_path / "summary.json").exists()


@pytest.mark.parametrize("override, message", [
    ("seed=-1", r"seed=-1 is out of range; valid: an integer in 0..4294967295"),
    ("seed=4294967296", r"seed=4294967296 is out of range"),
    ("probe.size=0", r"probe.size=0 is out of range; valid: an integer >= 1"),
    ("probe.bins=1", r"probe.bins=1 is out of range; valid: an integer >= 2"),
    ("probe.every=0", r"probe.every=0 is out of range"),
    ("probe.jacobian_steps=[a]",
     r"probe.jacobian_steps=\['a'\] is not valid; valid: a list of steps >= 0 and 'last'"),
    ("data.valid_size=-5", r"data.valid_size=-5 is out of range; valid: an integer >= 1"),
    ("trainer.accelerator=tpu", r"trainer.accelerator='tpu' is not valid; valid: cpu, gpu, cuda, auto"),
    ("trainer.precision=bf16-mixed", r"trainer.precision='bf16-mixed' is not valid; valid: 32-true"),
    ("threads=0", r"threads=0 is out of range; valid: an integer >= 1, or null"),
])
def test_out_of_range_seeds_and_probe_settings_are_refused_naming_the_key(tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        train_run(compose(*SMALL_RUN, override), tmp_path)
    assert not (tmp_path / "summary.json").exists()


def test_a_run_folder_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "run").write_text("")
    with pytest.raises(ValueError, match=f"the run folder {tmp_path / 'run'} is not a writable folder"):
        train_run(compose(*SMALL_RUN), tmp_path / "run")


def test_a_read_only_run_folder_is_one_line(tmp_path):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    (tmp_path / "run").mkdir(mode=0o555)
    with pytest.raises(ValueError, match="is not a writable folder"):
        train_run(compose(*SMALL_RUN), tmp_path / "run")
