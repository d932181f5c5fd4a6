"""Glorot & Bengio's training dynamics on real runs, at the quick scale's budget and learning rates.

The 5 x 1000 tanh net on Shapeset-3x2, minibatches of 10: with the normalized init it learns, with the
standard init it is still near chance (the 83% error of always answering the most frequent class) after the
same updates (Fig 11, Table 1). The two runs are exactly the glorot2010 study's quick runs; the full ordering
of the five models is asserted on `make run`'s own tables by tests/test_glorot2010_quick_scale.py.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from fanin.plan.studies import expand_study
from tests.helpers import STUDIES_DIR

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tanh_summaries(tmp_path_factory) -> dict[str, dict]:
    runs = {run.axes["init"]: run for run in expand_study(STUDIES_DIR, "glorot2010", "quick")
            if run.axes["data"] == "shapeset" and run.axes["activation"] == "tanh" and run.axes["depth"] == 5}
    assert set(runs) == {"standard", "glorot_uniform"}
    root = tmp_path_factory.mktemp("tanh")
    # Both at once, one thread each: the machine has two cores.
    processes = {init: subprocess.Popen([sys.executable, "-m", "fanin.train", *run.overrides, "threads=1",
                                         f"hydra.run.dir={root / init}"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
                 for init, run in runs.items()}
    for process in processes.values():
        _, stderr = process.communicate(timeout=1800)
        assert process.returncode == 0, stderr[-2000:]
    return {init: json.loads((root / init / "summary.json").read_text()) for init in runs}


def test_the_normalized_init_trains_the_tanh_net_where_the_standard_init_stalls(tanh_summaries):
    standard = tanh_summaries["standard"]["final_test_error"]
    normalized = tanh_summaries["glorot_uniform"]["final_test_error"]
    # 2,000 test images: the difference of two error rates near 0.75 has a sampling sd of about 0.014.
    sd = math.sqrt(2 * 0.75 * 0.25 / 2000)
    assert normalized < standard - max(0.05, 4 * sd), (standard, normalized)


def test_the_standard_tanh_net_is_still_near_chance(tanh_summaries):
    assert tanh_summaries["standard"]["final_test_error"] > 0.75
