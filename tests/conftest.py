"""Shared fixtures (the helpers they use are in tests/helpers.py)."""

from __future__ import annotations

import pytest

from tests.helpers import SMALL_RUN, compose


@pytest.fixture
def small_config() -> dict:
    return compose(*SMALL_RUN)
