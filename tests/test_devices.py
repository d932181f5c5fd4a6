"""Each concurrent GPU run gets a device of its own, decided without a GPU and
without CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from fanin.train.devices import claim_device, default_lock_dir

HOLD = """
import sys, time
from pathlib import Path
from fanin.train.devices import claim_device
claim = claim_device(int(sys.argv[1]), Path(sys.argv[2]), timeout_s=float(sys.argv[3]))
print(claim.index, flush=True)
time.sleep(float(sys.argv[4]))
"""


def hold(n: int, lock_dir, timeout: float = 5, seconds: float = 3) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD, str(n), str(lock_dir), str(timeout), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_runs_get_distinct_devices(tmp_path):
    procs = [hold(3, tmp_path) for _ in range(3)]
    indices = sorted(int(p.stdout.readline()) for p in procs)
    assert indices == [0, 1, 2]
    for p in procs:
        p.wait(timeout=30)


def test_a_device_is_free_again_when_its_run_ends_even_if_killed(tmp_path):
    first = hold(1, tmp_path, seconds=60)
    assert first.stdout.readline().strip() == "0"
    first.kill()
    first.wait(timeout=30)
    claim = claim_device(1, tmp_path, timeout_s=5)
    assert claim.index == 0
    claim.release()


def test_more_runs_than_devices_wait_then_fail_clearly(tmp_path):
    first = hold(1, tmp_path, seconds=10)
    assert first.stdout.readline().strip() == "0"
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="all 1 GPUs are claimed by other runs"):
        claim_device(1, tmp_path, timeout_s=0.5)
    assert time.monotonic() - start >= 0.5
    first.kill()
    first.wait(timeout=30)


def test_no_gpu_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="valid: trainer.accelerator=cpu"):
        claim_device(0, tmp_path)


def test_slurm_jobs_on_one_node_lock_apart(monkeypatch):
    monkeypatch.delenv("FANIN_GPU_LOCK_DIR", raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "41")
    first = default_lock_dir()
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    assert first != default_lock_dir()
    monkeypatch.setenv("FANIN_GPU_LOCK_DIR", "/scratch/locks")
    assert str(default_lock_dir()) == "/scratch/locks"
