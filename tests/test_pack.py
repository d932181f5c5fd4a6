"""Runs packed together train as they would alone: same tables, own folders, own divergence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from fanin.train.checkpoint import CHECKPOINT_NAME
from fanin.train.run import check_packable, train_pack, train_run
from tests.helpers import REPO, SMALL_RUN, compose

# Three runs that differ in everything a pack allows: seed, init, learning rate, momentum, activation.
MEMBERS = [
    ("seed=0", "init=glorot_uniform", "optim.lr=0.1"),
    ("seed=1", "init=standard", "optim.lr=0.05", "optim.momentum=0.9"),
    ("seed=2", "init=he_normal", "optim.lr=0.02", "model.activation=relu", "optim.weight_decay=0.001"),
]
TABLES = ("metrics", "layer_stats", "histograms", "jacobian")


def configs(*extra: str) -> list[dict]:
    return [compose(*SMALL_RUN, "trainer.max_steps=200", *member, *extra) for member in MEMBERS]


def read(folder, table: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{table}.parquet")


def relative_difference(a: pd.DataFrame, b: pd.DataFrame, columns: list[str]) -> float:
    """Largest |a - b| over `columns`, each relative to that column's largest |value| (NaN where both are)."""
    x, y = a[columns].to_numpy(float), b[columns].to_numpy(float)
    return float(np.nanmax(np.abs(x - y) / np.maximum(np.nanmax(np.abs(y), axis=0), 1e-30)))


@pytest.fixture(scope="module")
def packed_and_alone(tmp_path_factory):
    root = tmp_path_factory.mktemp("pack")
    packed = [root / f"packed{k}" for k in range(len(MEMBERS))]
    alone = [root / f"alone{k}" for k in range(len(MEMBERS))]
    train_pack(configs(), packed)
    for config, folder in zip(configs(), alone, strict=True):
        train_run(config, folder)
    return packed, alone


def test_every_packed_run_writes_the_files_of_a_solo_run(packed_and_alone):
    packed, alone = packed_and_alone
    for p, a in zip(packed, alone, strict=True):
        assert sorted(f.name for f in p.iterdir()) == sorted(f.name for f in a.iterdir())
        assert json.loads((p / "provenance.json").read_text())["pack"]["size"] == len(MEMBERS)


def test_packed_runs_give_the_tables_they_give_alone(packed_and_alone):
    """Same arithmetic, batched over K: identical at step 0; after 200 updates the batched matmuls' other
    rounding (measured: values within 6e-6 of their column's scale, 2-4 of 4,800 histogram counts moved
    by one across a bin edge, errors identical) stays within float32 noise."""
    packed, alone = packed_and_alone
    for p, a in zip(packed, alone, strict=True):
        for table in TABLES:
            x, y = read(p, table), read(a, table)
            assert x[x.step == 0].equals(y[y.step == 0]), (p.name, table)
            keys = [c for c in x.columns if not pd.api.types.is_float_dtype(x[c]) and c != "count"]
            assert x[keys].equals(y[keys])
            values = [c for c in x.columns if pd.api.types.is_float_dtype(x[c])]
            assert relative_difference(x, y, values) < 1e-4, (p.name, table)
        assert read(p, "metrics").error.equals(read(a, "metrics").error)
        counts = read(p, "histograms")["count"] - read(a, "histograms")["count"]
        assert counts.abs().max() <= 1 and (counts != 0).mean() < 0.005


def test_a_pack_run_twice_gives_identical_tables(packed_and_alone, tmp_path):
    packed, _ = packed_and_alone
    again = [tmp_path / f"again{k}" for k in range(len(MEMBERS))]
    train_pack(configs(), again)
    for p, q in zip(packed, again, strict=True):
        for table in TABLES:
            assert read(p, table).equals(read(q, table)), table


def test_a_diverging_run_is_frozen_and_the_others_train_on(tmp_path):
    runs = configs()
    # as tests/test_run.py's diverging run
    runs[1] = compose(*SMALL_RUN, "trainer.max_steps=200", "seed=1", "model.activation=relu",
                      "init=too_large", "init.factor=30", "optim.lr=5.0")
    folders = [tmp_path / f"run{k}" for k in range(3)]
    summaries = train_pack(runs, folders)
    assert [s["status"] for s in summaries] == ["completed", "diverged", "completed"]
    alone = train_run(runs[0], tmp_path / "alone0")
    assert summaries[0]["final_test_error"] == pytest.approx(alone["final_test_error"], abs=1e-9)
    assert summaries[1]["steps"] < 200 == summaries[0]["steps"]


def test_a_resumed_pack_keeps_its_diverged_runs_frozen():
    from types import SimpleNamespace

    from fanin.train.measurements import PackMeasurements

    frozen = []
    runs = [SimpleNamespace(status=status, steps={0}) for status in ("running", "diverged", "running")]
    PackMeasurements(runs).on_train_start(SimpleNamespace(global_step=500),
                                          SimpleNamespace(freeze=frozen.append))
    assert frozen == [1]


def test_between_scheduled_steps_the_host_reads_nothing_back_from_the_device():
    # The GPU path: the step freezes diverged runs itself; which ones, and when, is read at the schedule only.
    from types import SimpleNamespace

    from fanin.train.measurements import PackMeasurements

    reads, measured = [], []
    runs = [SimpleNamespace(status="running", steps={0, 5}, last_measured=0,
                            measure=lambda step, model, train, k=k: measured.append((k, step)))
            for k in range(2)]
    module = SimpleNamespace(diverged_at=lambda: reads.append(1) or torch.tensor([-1, 3]),
                             network=lambda k: None, take_train_metrics=lambda k: None, freeze=lambda k: None)
    callback = PackMeasurements(runs)
    for step in range(1, 6):
        callback.on_train_batch_end(SimpleNamespace(global_step=step, should_stop=False), module, None, None,
                                    0)
        assert len(reads) == (step == 5)
    assert measured == [(1, 3), (0, 5)] and runs[1].status == "diverged"


def test_a_moved_pack_still_trains_the_networks_its_runs_are_measured_on():
    # Lightning moves the module onto its device; a cast (here to float64) takes the same path on a CPU.
    from fanin.model import MLP
    from fanin.train.pack import Pack

    pack = Pack([MLP(4, 3, depth=2, width=5) for _ in range(2)]).to(torch.float64)
    for k, model in enumerate(pack.models):
        for layer, linear in enumerate(model.linears):
            assert linear.weight.dtype == torch.float64
            assert linear.weight.data_ptr() == pack.weights[layer][k].data_ptr()
    with torch.no_grad():
        pack.weights[0].add_(1.0)  # what the fused step does to the stacked weights
    assert torch.equal(pack.models[1].linears[0].weight, pack.weights[0][1])


def test_the_stream_makes_its_batches_on_the_device_lightning_put_the_module_on():
    from types import SimpleNamespace

    from fanin.data import load_data
    from fanin.train.stream import PackStream, StreamOnDevice, TrainStream

    splits = load_data(**compose(*SMALL_RUN)["data"])
    stream = PackStream([TrainStream(splits.train, 10, seed) for seed in (0, 1)])
    StreamOnDevice(stream).on_fit_start(None, SimpleNamespace(device=torch.device("meta")))
    x, y = next(iter(stream))
    assert x.device.type == y.device.type == "meta" and tuple(y.shape) == (2, 10)


def test_runs_of_different_shapes_cannot_share_a_pack():
    with pytest.raises(ValueError, match="runs with different model cannot share a pack"):
        check_packable([compose(*SMALL_RUN), compose(*SMALL_RUN, "model.width=16")])


PACK_SCRIPT = """
import logging
import sys
from fanin.train.run import train_pack
from tests.helpers import KILLABLE_PACK, compose
from tests.test_pack import MEMBERS
logging.basicConfig(level=logging.INFO)
root, extra = sys.argv[1], sys.argv[2:]
configs = [compose(*KILLABLE_PACK, *member, f"trainer.checkpoint_dir={root}/checkpoint", *extra)
           for member in MEMBERS]
train_pack(configs, [f"{root}/run{k}" for k in range(len(MEMBERS))])
"""


def start_pack(root, *overrides: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}  # W&B offline, the default
    return subprocess.Popen([sys.executable, "-c", PACK_SCRIPT, str(root), *overrides], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


@pytest.mark.slow
def test_a_killed_pack_resumes_every_run_to_the_tables_of_an_uninterrupted_pack(tmp_path):
    # A solo run is a pack of one (the same code path): this is also the test of a killed run.
    reference = start_pack(tmp_path / "reference")
    assert reference.wait(timeout=600) == 0, reference.stdout.read()[-3000:]
    # The killed pack also logs to W&B (not part of a run's identity): both attempts of a run log to one W&B
    # run.
    killed = start_pack(tmp_path / "killed", "logger=wandb")
    checkpoint = tmp_path / "killed" / "checkpoint" / CHECKPOINT_NAME
    deadline = time.monotonic() + 300
    while not checkpoint.exists():
        assert time.monotonic() < deadline and killed.poll() is None, "the pack never wrote a checkpoint"
        time.sleep(0.05)
    killed.kill()  # SIGKILL, as when a node is lost
    killed.communicate()
    assert not any((tmp_path / "killed" / f"run{k}" / "summary.json").exists() for k in range(len(MEMBERS)))
    resumed = start_pack(tmp_path / "killed", "logger=wandb")
    output = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0 and "resuming from" in output, output[-3000:]
    for k in range(len(MEMBERS)):
        for table in TABLES:
            pd.testing.assert_frame_equal(read(tmp_path / "reference" / f"run{k}", table),
                                          read(tmp_path / "killed" / f"run{k}", table), check_exact=True)
        attempts = sorted((tmp_path / "killed" / f"run{k}" / "wandb").glob("offline-run-*"))
        assert len(attempts) == 2 and len({a.name.rsplit("-", 1)[1] for a in attempts}) == 1, attempts
    assert not checkpoint.exists()


def fanin_train_pack(*args: str) -> subprocess.CompletedProcess:
    """`python -m fanin.train` with a pack's command line (`[--threads N] --run DIR ...`)."""
    return subprocess.run([sys.executable, "-m", "fanin.train", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_the_pack_command_trains_each_run_into_its_folder(tmp_path):
    small = [*SMALL_RUN, "trainer.max_steps=20"]
    result = fanin_train_pack("--threads", "1", "--run", str(tmp_path / "a"), *small, "seed=0",
                              "--run", str(tmp_path / "b"), *small, "seed=1", "init=standard")
    assert result.returncode == 0, result.stderr[-3000:]
    for folder, seed in ((tmp_path / "a", 0), (tmp_path / "b", 1)):
        assert json.loads((folder / "summary.json").read_text())["status"] == "completed"
        assert f"seed: {seed}" in (folder / "config.yaml").read_text()
        assert json.loads((folder / "provenance.json").read_text())["torch_threads"] == 1


@pytest.mark.parametrize("args, message", [
    (("--threads", "1"), "usage: python -m fanin.train key=value ... (one run), or python -m fanin.train "
                         "[--threads N] --run DIR"),
    (("--threads", "x", "--run", "x"), "--threads needs a number of threads"),
    (("--run",), "--run needs a run folder"),
    (("--run", "x", "init=foo"), "unknown init 'foo'"),
    (("--run", "x", "data=digits", "--run", "y", "data=digits", "model.width=7"),
     "runs with different model cannot share a pack"),
])
def test_bad_pack_commands_end_in_one_line(args, message):
    result = fanin_train_pack(*args)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr
