"""Shared by the benchmarks: compose the real run config, without a Hydra app, and take medians."""

from __future__ import annotations

import statistics
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose_config(overrides: list[str]) -> dict:
    """The resolved conf/train.yaml with `overrides`, as the plain dict `fanin.run.train_run` takes."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True)


def median(values: list[float]) -> float:
    return statistics.median(values)
