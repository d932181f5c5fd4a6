"""logger=wandb: an offline run writes its .wandb log with the training metrics and per-layer probe
statistics; WANDB_MODE=disabled writes nothing and does not even import wandb."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fanin.train.run import train_pack, train_run
from tests.helpers import REPO, SMALL_RUN, compose


def inspect_records(run_dir) -> list[dict]:
    """The records of the run's .wandb transaction log, read back with `wandb leet inspect --json`."""
    logs = sorted(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(logs) == 1, logs
    wandb_cli = [sys.executable, "-c", "from wandb.cli.cli import cli; cli()"]
    out = subprocess.run([*wandb_cli, "leet", "inspect", "--json", str(logs[0])], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.slow
def test_an_offline_wandb_run_logs_metrics_and_layer_statistics(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    run_dir = tmp_path / "results" / "demo" / "runs" / "data=digits" / "seed=0"
    config = compose(*SMALL_RUN, "logger=wandb", "study_name=demo", "run_name='data=digits/seed=0'")
    train_run(config, run_dir)
    records = inspect_records(run_dir)
    text = json.dumps(records)
    for key in ("test/error", "valid/loss", "train/loss", "layers/act/std/layer_1",
                "layers/backprop/p98/layer_4", "histograms/act/layer_1"):
        assert key in text, key
    assert "data=digits/seed=0" in text  # the run's name is the id the pipeline gives it
    assert '"data=digits"' in text and '"seed=0"' in text  # and its tags the axes the id spells
    assert "demo" in text  # the group is the study
    assert (run_dir / "metrics.parquet").is_file()  # tables are written whatever the logger


@pytest.mark.slow
def test_each_run_of_a_pack_is_its_own_wandb_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    runs = tmp_path / "results" / "demo" / "runs"
    folders = [runs / "data=digits" / f"seed={seed}" for seed in (0, 1)]
    train_pack([compose(*SMALL_RUN, "logger=wandb", "study_name=demo", f"seed={seed}",
                        f"run_name='data=digits/seed={seed}'") for seed in (0, 1)],
               folders)
    texts = [json.dumps(inspect_records(folder)) for folder in folders]
    for seed, text in enumerate(texts):
        assert f"data=digits/seed={seed}" in text and "layers/act/std/layer_1" in text
    ids = [next(folder.glob("wandb/offline-run-*")).name.rsplit("-", 1)[1] for folder in folders]
    assert ids[0] != ids[1]


def test_wandb_disabled_writes_nothing_and_imports_nothing(tmp_path):
    code = (
        "import sys; from fanin.train.run import train_pack, train_run; "
        "from tests.helpers import compose, SMALL_RUN; "
        f"train_run(compose(*SMALL_RUN, 'logger=wandb', 'trainer.max_steps=5'), {str(tmp_path)!r}); "
        "print('wandb' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            timeout=300, env={**__import__("os").environ, "WANDB_MODE": "disabled"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "False"
    assert not (tmp_path / "wandb").exists()
    assert (tmp_path / "summary.json").is_file()
