"""Shared fixtures: the real run config, composed from conf/ and shrunk for speed."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = REPO / "conf"


def compose(*overrides: str) -> dict:
    """conf/train.yaml with overrides, resolved to the plain dict that fanin.run.train_run takes."""
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


@pytest.fixture
def small_config() -> dict:
    return compose(*SMALL_RUN)
