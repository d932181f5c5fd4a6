"""Shared fixtures (the helpers they use are in tests/helpers.py)."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import SMALL_RUN, compose

# Under `make test` every core runs a worker (pytest-xdist): one torch thread each, not one per core each.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture
def small_config() -> dict:
    return compose(*SMALL_RUN)
