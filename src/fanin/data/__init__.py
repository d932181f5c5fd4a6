"""Data sets by name. Nothing is downloaded: generated, bundled with a package, or read from `data.root`.

Each loader takes its data set's config keys (conf/data/<name>.yaml, less GROUP_KEYS) as keyword arguments,
all of them and no others: the YAML file holds the defaults, and `load_data` refuses, in one line naming it
and the valid ones, a key the loader does not take (a typo like data.valid_sise must not be swallowed) or
one it lacks.
"""

from __future__ import annotations

from importlib import import_module

from fanin.config import group_arguments
from fanin.data.splits import DataSplits

LOADERS = {
    "shapeset": "fanin.data.shapeset_splits",
    "digits": "fanin.data.digits",
    "mnist": "fanin.data.mnist",
    "cifar10": "fanin.data.cifar10",
    "toy2d": "fanin.data.toy2d",
}
# The data group's keys that are not its loader's: the data set's name (which loader), and the minibatch size
# the run's training stream draws (fanin.training.stream).
GROUP_KEYS = ("name", "batch_size")


def loader(name: str):
    """The `load` function of data set `name`."""
    if name not in LOADERS:
        raise ValueError(f"unknown data {name!r}; valid: {', '.join(LOADERS)}")
    return import_module(LOADERS[name]).load


def loader_arguments(group: dict) -> dict:
    """A data group (conf/data/<name>.yaml, composed) as its loader's keyword arguments: GROUP_KEYS left out,
    every other key the loader's, none missing."""
    name = group["name"]
    return group_arguments("data", group, loader(name), other=GROUP_KEYS, where=f"data={name}")


def load_data(name: str, **params) -> DataSplits:
    """Load data set `name`; `params` are the rest of its data group (root, valid_size, normalize, ...), so a
    run's whole group can be passed: `load_data(**config["data"])`."""
    return loader(name)(**loader_arguments({"name": name, **params}))


__all__ = ["DataSplits", "GROUP_KEYS", "LOADERS", "load_data", "loader_arguments"]
