"""Atomic file writes: a table or record appears under its final name only when it is complete."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:  # light to import: the Snakefile writes the pack plan with write_json
    import pandas as pd


TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it over `path` (atomic on POSIX)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def remove_stale_temporaries(folder: str | Path) -> None:
    """Delete what atomic_write leaves behind when its process is killed mid-write (SIGKILL skips cleanup)."""
    for stale in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def _json_safe(value):
    """NaN and infinities as null: bare NaN is not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json(record: dict | list, path: str | Path) -> Path:
    text = json.dumps(_json_safe(record), indent=2, default=str, allow_nan=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_yaml(record: dict, path: str | Path) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(yaml.safe_dump(record, sort_keys=False)))
