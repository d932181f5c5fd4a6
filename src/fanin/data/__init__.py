"""Data sets by name. Nothing is downloaded: generated, bundled with a package, or read from `data.root`.

Each loader takes its data set's config keys (conf/data/<name>.yaml, less GROUP_KEYS) as keyword arguments,
all of them and no others: the YAML file holds the defaults, and `load_data` refuses, in one line naming it
and the valid ones, a key the loader does not take (a typo like data.valid_sise must not be swallowed) or
one it lacks.

Another package adds a data set without editing this one: a `fanin.data` entry point named like the data
set, whose value is its `load` function (keyword-only parameters, the keys of its data group but GROUP_KEYS,
returning DataSplits; fanin.data.splits.from_arrays builds one from numpy arrays), imported the first time
its name is looked up (fanin.plugins). Its data group file, data/<name>.yaml, comes with the package, on
Hydra's search path (hydra.searchpath=[pkg://<package>.conf]; see fanin.train.command).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from fanin.config import group_arguments
from fanin.data.splits import DataSplits
from fanin.plugins import load_callable

LOADERS = {
    "shapeset": "fanin.data.shapeset_splits",
    "digits": "fanin.data.digits",
    "mnist": "fanin.data.mnist",
    "cifar10": "fanin.data.cifar10",
    "toy2d": "fanin.data.toy2d",
}
# The data group's keys that are not its loader's: the data set's name (which loader), and the minibatch size
# the run's training stream draws (fanin.train.stream).
GROUP_KEYS = ("name", "batch_size")
PLUGIN_GROUP = "fanin.data"
_PLUGINS: dict[str, Callable[..., DataSplits]] = {}  # a plugin's name -> its load function, once imported


def loader(name: str):
    """The `load` function of data set `name`: a built-in's, or a plugin's (imported now if not yet)."""
    if name in LOADERS:
        return import_module(LOADERS[name]).load
    if name not in _PLUGINS:
        _, _PLUGINS[name] = load_callable(PLUGIN_GROUP, "data", name, LOADERS,
                                          "its load function (module:load)")
    return _PLUGINS[name]


def loader_arguments(group: dict) -> dict:
    """A data group (conf/data/<name>.yaml, composed) as its loader's keyword arguments: GROUP_KEYS left out,
    every other key the loader's, none missing."""
    name = group["name"]
    return group_arguments("data", group, loader(name), other=GROUP_KEYS, where=f"data={name}")


def load_data(name: str, **params) -> DataSplits:
    """Load data set `name`; `params` are the rest of its data group (root, valid_size, normalize, ...), so a
    run's whole group can be passed: `load_data(**config["data"])`."""
    splits = loader(name)(**loader_arguments({"name": name, **params}))
    if not isinstance(splits, DataSplits):
        raise ValueError(f"data {name!r}: its load function returned a {type(splits).__name__}; valid: a "
                         "fanin.data.DataSplits (fanin.data.splits.from_arrays builds one)")
    return splits


__all__ = ["DataSplits", "GROUP_KEYS", "LOADERS", "load_data", "loader_arguments"]
