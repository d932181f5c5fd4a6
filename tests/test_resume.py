"""A run killed mid-training (pre-emption, a time limit) resumes from its last checkpoint when started again,
and its tables equal those of a run that was never interrupted, to the last bit: stopped by SIGTERM, or
killed with its workflow (a killed pack, SIGKILL, is in tests/test_pack.py; pre-emption on Slurm in
tests/test_slurm.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

import pytest
import torch
import yaml

from fanin.data import load_data
from fanin.train.checkpoint import CHECKPOINT_NAME, resumable_checkpoint, run_fingerprint
from fanin.train.run import train_run
from fanin.train.stream import TrainStream
from tests.helpers import (
    RESUME_STUDY,
    SMALL_RUN,
    STUDIES,
    assert_same_tables,
    checkpoint_step,
    compose,
    snakemake,
    wait_for,
    workflow_copy,
)


def start_run(out_dir: Path, *overrides: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}  # W&B offline, the default
    return subprocess.Popen([sys.executable, "-m", "fanin.train", *overrides, f"hydra.run.dir={out_dir}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    output = process.communicate(timeout=timeout)[0]
    assert process.returncode == 0, output[-3000:]
    return output


@pytest.mark.parametrize("data, params", [("digits", {}), ("shapeset", {"valid_size": 10, "test_size": 10,
                                                                          "chunk": 70})])
def test_the_stream_resumed_at_any_step_yields_the_batches_an_unbroken_one_would(data, params):
    # digits: 1197 examples, 37 batches an epoch; shapeset: 7 a chunk
    source = load_data(**{**compose(f"data={data}")["data"], **params}).train
    unbroken = [y for _, y in islice(iter(TrainStream(source, 32, seed=3)), 120)]
    for step in (1, 6, 7, 36, 37, 38, 80):
        stream = TrainStream(source, 32, seed=3)
        list(islice(iter(stream), step + 1))  # Lightning fetches one batch ahead of the step it trains
        resumed = TrainStream(source, 32, seed=3)
        resumed.resume(stream.state_at(step))
        for offset, (_, y) in enumerate(islice(iter(resumed), 120 - step)):
            assert torch.equal(y, unbroken[step + offset]), (step, offset)


def test_a_completed_run_leaves_no_checkpoint(tmp_path):
    train_run(compose(*SMALL_RUN, "trainer.checkpoint_every_steps=20"), tmp_path)
    assert (tmp_path / "summary.json").exists()
    assert not (tmp_path / "checkpoint").exists()


def test_a_checkpoint_of_another_config_is_never_resumed(tmp_path):
    config = compose(*SMALL_RUN)
    torch.save({"fanin": {"fingerprint": run_fingerprint(compose(*SMALL_RUN, "optim.lr=0.5"))}},
               tmp_path / CHECKPOINT_NAME)
    assert resumable_checkpoint(tmp_path, run_fingerprint(config)) is None
    assert not (tmp_path / CHECKPOINT_NAME).exists()


def test_where_and_how_a_run_executes_is_not_part_of_its_identity():
    config = compose(*SMALL_RUN)
    moved = compose(*SMALL_RUN, "threads=4", "trainer.accelerator=gpu", "trainer.checkpoint_every_s=5",
                    "logger=wandb")
    assert run_fingerprint(config) == run_fingerprint(moved)
    assert run_fingerprint(config) != run_fingerprint(compose(*SMALL_RUN, "seed=1"))


@pytest.mark.slow
def test_sigterm_saves_the_step_it_stops_at_and_the_run_resumes_from_there(tmp_path):
    # Shapeset's infinite stream is rendered in chunks: the resumed run must re-render the right one.
    shapeset = ("data=shapeset", "data.valid_size=200", "data.test_size=200", "data.chunk=500",
                "model.depth=3", "model.width=32", "trainer.max_steps=2000", "probe.every=500",
                "probe.size=100", "probe.bins=20")
    finish(start_run(tmp_path / "reference", *shapeset))
    # No periodic checkpoint: the one on disk can only come from the SIGTERM handler.
    run = start_run(tmp_path / "stopped", *shapeset, "trainer.checkpoint_every_s=null")
    log = tmp_path / "stopped" / "train.log"
    wait_for(log)
    while "step 500 " not in log.read_text() and run.poll() is None:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 1, output[-3000:]
    stopped_at = checkpoint_step(tmp_path / "stopped" / "checkpoint" / CHECKPOINT_NAME)
    assert f"SIGTERM at step {stopped_at}; checkpoint" in output
    assert 500 <= stopped_at < 2000

    finish(start_run(tmp_path / "stopped", *shapeset, "trainer.checkpoint_every_s=null"))
    assert_same_tables(tmp_path / "reference", tmp_path / "stopped")


@pytest.mark.slow
def test_a_workflow_killed_mid_training_resumes_the_run_when_started_again(tmp_path):
    where = workflow_copy(tmp_path)
    (where / STUDIES / "resume.yaml").write_text(yaml.safe_dump(RESUME_STUDY, sort_keys=False))
    config = ("--config", "studies=[resume]", "scale=smoke")
    reference = snakemake(where, *config, "results=reference")
    assert reference.returncode == 0, reference.stderr[-3000:]

    workflow = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", *config,
                                 "results=results"],
                                cwd=where, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    run = "data=digits/activation=tanh/init=glorot_uniform/depth=3/width=32/seed=0"
    checkpoint = where / "results" / "smoke" / "resume" / "runs" / run / "checkpoint" / CHECKPOINT_NAME
    wait_for(checkpoint)
    os.killpg(workflow.pid, signal.SIGKILL)  # the whole job, Snakemake included: a lost node
    workflow.wait()
    assert checkpoint_step(checkpoint) < 3000

    # A killed Snakemake leaves its lock behind; the killed job left no outputs, so nothing is incomplete.
    assert snakemake(where, "--unlock", *config, "results=results").returncode == 0
    again = snakemake(where, *config, "results=results")
    assert again.returncode == 0, again.stderr[-3000:]
    train_logs = where / "results" / "smoke" / "resume" / "logs" / "train"
    logs = [log.read_text() for log in train_logs.glob("*.log")]
    assert any("resuming from" in log for log in logs)
    assert_same_tables(where / "reference" / "smoke" / "resume" / "runs" / run,
                       where / "results" / "smoke" / "resume" / "runs" / run)
    shutil.rmtree(where / "results")
