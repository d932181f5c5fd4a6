"""Shared by the benchmarks: compose the real run config without a Hydra app, take medians, and measure the
limit a training step is near (the bytes it moves, the machine's copy bandwidth)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def compose_config(overrides: list[str]) -> dict:
    """The resolved conf/train.yaml with `overrides`, as the plain dict `fanin.train.run.train_run` takes."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def bytes_per_update(model: torch.nn.Module) -> int:
    """Weight bytes a fused SGD step moves: forward read, δ read (all layers but the first), update read
    + write."""
    linears = model.linears
    total = sum(layer.weight.numel() + layer.bias.numel() for layer in linears)
    first = linears[0].weight.numel()
    return 4 * (total + (total - first) + 2 * total)


def copy_bandwidth(device: str, megabytes: int = 256, repeats: int = 7) -> float:
    """Bytes per second of a large tensor copy (read + write), median of `repeats`."""
    src = torch.empty(megabytes * 2**20 // 4, device=device).uniform_()
    dst = torch.empty_like(src)
    rates = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        dst.copy_(src)
        synchronize(device)
        rates.append(2 * src.numel() * 4 / (time.perf_counter() - start))
    return median(rates)


def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
