"""Shared fixtures (the helpers they use are in tests/helpers.py)."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import SMALL_RUN, compose

# Under `make test` every core runs a worker (pytest-xdist): one torch thread each, not one per core each.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


# The test files that hold minutes of one worker each (`.ci/run`'s --durations), longest first. Collected
# first, so that `--dist loadfile --no-loadscope-reorder` (make test) starts them on the workers at once and
# the many short files fill in around them, instead of one of them starting last and trailing the rest.
LONGEST_FIRST = ("test_slurm.py", "test_glorot2010_training.py", "test_pipeline.py", "test_resume.py",
                 "test_pack.py", "test_figures_schoenholz2017.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


@pytest.fixture
def small_config() -> dict:
    return compose(*SMALL_RUN)
