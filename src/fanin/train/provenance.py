"""Where a run's numbers came from: package versions, git commit, device, threads, wall time."""

from __future__ import annotations

import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("fanin", "torch", "lightning", "numpy", "pandas", "pyarrow", "hydra-core", "scikit-learn")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(where: Path = Path(__file__).resolve().parent) -> str:  # noqa: B008  (a fixed, immutable Path)
    """The commit of the source tree fanin runs from, with '+dirty' when it has uncommitted changes."""
    try:
        run = lambda *args: subprocess.run(["git", *args], cwd=where, capture_output=True, text=True,  # noqa: E731
                                           timeout=10, check=True).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{device.index or 0} {torch.cuda.get_device_name(device)}"
    return f"cpu {platform.processor() or platform.machine()}"


def provenance(device: torch.device, wall_time_s: float, commit: str | None = None) -> dict:
    """`commit`: the one read when the run started (the tree may change while it trains); now if not given."""
    return {
        "versions": package_versions(),
        "git_commit": commit or git_commit(),
        "device": device_description(device),
        "torch_threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "wall_time_s": round(wall_time_s, 3),
    }
