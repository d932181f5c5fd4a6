"""Data sets by name. Nothing is downloaded: generated, bundled with a package, or read from `data.root`."""

from __future__ import annotations

from importlib import import_module

from fanin.data.splits import DataSplits

LOADERS = {
    "shapeset": "fanin.data.shapeset_splits",
    "digits": "fanin.data.digits",
    "mnist": "fanin.data.mnist",
    "cifar10": "fanin.data.cifar10",
    "toy2d": "fanin.data.toy2d",
}


def load_data(name: str, **params) -> DataSplits:
    """Load data set `name`; `params` are its config keys (root, valid_size, normalize, ...)."""
    if name not in LOADERS:
        raise ValueError(f"unknown data {name!r}; valid: {', '.join(LOADERS)}")
    return import_module(LOADERS[name]).load(**params)


__all__ = ["DataSplits", "LOADERS", "load_data"]
