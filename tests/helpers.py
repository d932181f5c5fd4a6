"""What the tests share: the repository's paths, a run config composed from conf/, a copy of the workflow and
its Snakemake commands, and the comparisons the resume tests make. Fixtures live in conftest.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from fanin.contract import TABLES

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"  # Hydra's: one run
STUDIES = Path("config") / "studies"  # the pipeline's study files, below a workflow's folder
STUDIES_DIR = REPO / STUDIES


def compose(*overrides: str) -> dict:
    """conf/train.yaml with overrides, resolved to the plain dict that fanin.train.run.train_run takes."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name="train", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=True)


SMALL_RUN = ("data=digits", "model.depth=3", "model.width=32", "trainer.max_steps=60", "probe.every=20",
             "probe.size=100", "probe.bins=20", "probe.jacobian_examples=2")

# A pack long enough to be killed in the middle, checkpointing often (tests/test_pack.py).
KILLABLE_PACK = (*SMALL_RUN, "trainer.max_steps=1500", "probe.every=500",
                 "trainer.checkpoint_every_steps=100")


SNAKEMAKE = [sys.executable, "-m", "snakemake"]
PACK_SIZE = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["pack_size"]


def workflow_copy(tmp_path: Path) -> Path:
    for name in ("Snakefile",):
        shutil.copy(REPO / name, tmp_path / name)
    for folder in ("workflow", "conf", "config"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def snakemake(where: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=where, capture_output=True, text=True,
                          timeout=timeout)


def grid_block(study: dict, name: str) -> dict:
    """The grid block `name` of a study file's contents (edited in place by the tests that change it)."""
    return next(block for block in study["grid"] if block.get("name") == name)


def job_counts(output: str) -> dict[str, int]:
    """The 'job count' table a dry run prints; the per-figure rules (figure_<name>) add up under 'figure',
    the per-pack rules (train_<study>_<pack>) under 'train'."""
    counts: dict[str, int] = {}
    for line in output.splitlines():
        match = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if match and match.group(1) == "total":
            break  # a dry run prints the table twice
        if match:
            rule = next((r for r in ("figure", "train") if match.group(1).startswith(r + "_")),
                        match.group(1))
            counts[rule] = counts.get(rule, 0) + int(match.group(2))
    return counts


def trained_runs(output: str, study: str) -> list[str]:
    """The run ids a dry run's pack jobs would train (each job's outputs hold its runs' summary.json)."""
    runs, in_pack = [], False
    for line in output.splitlines():
        if re.fullmatch(r"(local)?rule train_\w+:", line.strip()):
            in_pack = True
        elif in_pack and line.strip().startswith("output:"):
            runs += [path.split(f"/{study}/runs/", 1)[1][: -len("/summary.json")]
                     for path in line.strip()[len("output:"):].split(", ") if path.endswith("/summary.json")]
            in_pack = False
    return runs


def assert_same_tables(reference: Path, resumed: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(reference / f"{name}.parquet"),
                                      pd.read_parquet(resumed / f"{name}.parquet"), check_exact=True,
                                      obj=name)


def wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def checkpoint_step(path: Path) -> int:
    return torch.load(path, map_location="cpu", weights_only=True)["global_step"]


RESUME_STUDY = {
    "description": "one run long enough to be killed mid-training",
    "overrides": {"trainer.max_steps": 3000, "probe.every": 500, "probe.size": 100, "probe.bins": 20,
                  "trainer.checkpoint_every_steps": 200},
    "grid": [{"name": "one", "axes": {"data": "digits", "activation": "tanh", "init": "glorot_uniform",
                                      "depth": 3, "width": 32, "seed": 0}}],
    "scales": {"smoke": {}, "quick": {}, "paper": {}},
    "figures": [],
}


def skip_or_fail(reason: str, required_by: str) -> None:
    """Skip a test whose tools are missing (`reason`), except where the environment variable `required_by`
    is 1 (CI installs them), where their absence is a failure."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{required_by}=1 but {reason}")
    pytest.skip(reason)
