"""A run config's groups as keyword arguments: where a group's keys meet the parameters of what it builds.

A run's config is conf/train.yaml composed (fanin.train.command), so each group holds every key its YAML file
declares, and those values are the only defaults a run uses. A function that takes a group therefore takes
all of it: a key it does not know is a typo, a key it lacks is a config built by hand with a hole in it, and
both fail here in one line instead of being swallowed or filled with a default written a second time in code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable


def group_arguments(group: str, values: dict, function: Callable, *, passed: Iterable[str] = (),
                    other: Iterable[str] = (), where: str = "") -> dict:
    """`values`, the config group `group`, as keyword arguments of `function`: one for each of its parameters
    but `passed` (those the caller gives itself), none missing. The group's `other` keys are not arguments
    (another part of the run reads them): allowed, and left out. Any other key is refused, naming it and the
    valid ones; `where` (e.g. "data=digits") says which of the group's files the keys belong to."""
    passed = set(passed)
    parameters = [name for name in inspect.signature(function).parameters if name not in passed]
    valid = sorted({*parameters, *other})
    context = f" ({where})" if where else ""
    for key in values:
        if key not in valid:
            raise ValueError(f"unknown key {group}.{key}{context}; valid: {', '.join(valid)}")
    for key in parameters:
        if key not in values:
            raise ValueError(f"missing key {group}.{key}{context}; needed: {', '.join(sorted(parameters))} "
                             f"(a composed config has every key its conf/{group}/ file declares)")
    return {key: values[key] for key in parameters}
