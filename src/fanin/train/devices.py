"""One GPU per concurrent run on a workstation, without Snakemake setting CUDA_VISIBLE_DEVICES.

Snakemake bounds how many GPU jobs run at once (`--resources gpu=N`); which device each job takes is
decided here: a run claims the first of the N devices whose lock file it can lock exclusively, and holds
the lock for its lifetime (the kernel releases it when the process ends, even on a crash or a kill).
With at most N GPU jobs at once there is always a free device, and no two runs share one.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO


def default_lock_dir() -> Path:
    """$FANIN_GPU_LOCK_DIR, else /tmp/fanin-gpu-locks; inside a Slurm job, a folder of that job's own."""
    if "FANIN_GPU_LOCK_DIR" in os.environ:
        return Path(os.environ["FANIN_GPU_LOCK_DIR"])
    # Slurm gives every job GPUs of its own, which torch sees as devices 0..n-1 in each job: locks shared by
    # the jobs on one node would make the second job wait for the first one's "device 0", then fail.
    job = os.environ.get("SLURM_JOB_ID")
    shared = Path("/tmp/fanin-gpu-locks")
    return shared / f"slurm-{job}" if job else shared


DEFAULT_LOCK_DIR = default_lock_dir()


class DeviceClaim:
    """An exclusive claim on device `index`, released by `release()` or when the process exits."""

    def __init__(self, index: int, handle: IO[str]) -> None:
        self.index, self.handle = index, handle

    def release(self) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def claim_device(n_devices: int, lock_dir: Path = DEFAULT_LOCK_DIR, timeout_s: float = 60.0) -> DeviceClaim:
    """Claim one of devices 0..n_devices-1; wait up to `timeout_s` for one to free up, then fail clearly."""
    if n_devices < 1:
        raise ValueError("trainer.accelerator=gpu but no GPU is visible; valid: trainer.accelerator=cpu")
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    while True:
        for index in range(n_devices):
            handle = open(lock_dir / f"gpu{index}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return DeviceClaim(index, handle)
        if time.monotonic() > deadline:
            raise RuntimeError(f"all {n_devices} GPUs are claimed by other runs (locks in {lock_dir}); "
                               "run at most as many GPU jobs as GPUs: snakemake --resources gpu=N")
        time.sleep(0.2)
