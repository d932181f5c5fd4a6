"""Init schemes, activations and data sets from other packages, found by Python entry point.

Each registry owns one entry-point group: fanin.inits (an init scheme), fanin.activations (an activation),
fanin.data (a data set). A registry looks a name up among its built-ins first and asks here only for a name
it does not have, so a plugin is imported the first time its name is used and never otherwise. A plugin
named like a built-in, or two plugins of one name, are an error as soon as the group is read: a plugin adds
names, it never replaces one. Every failure is one line naming the entry point and what would be valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points


def plugins(group: str, kind: str, builtins: Iterable[str]) -> dict[str, EntryPoint]:
    """The entry points of `group` by name (nothing imported); a clash with `builtins` or between two
    distributions is a ValueError. `kind` ("init", "activation", "data") names the registry in messages."""
    builtins = list(builtins)
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=group):
        if point.name in builtins:
            raise ValueError(f"{kind} plugin {point.name!r} (entry point {point.value!r} in group {group}) "
                             f"clashes with fanin's built-in {kind} {point.name!r}; valid: a name that is "
                             f"none of {', '.join(builtins)}")
        if point.name in found and found[point.name].value != point.value:
            raise ValueError(f"two {kind} plugins are named {point.name!r} in group {group} "
                             f"({found[point.name].value!r} and {point.value!r}); valid: one per name")
        found[point.name] = point
    return found


def load_plugin(group: str, kind: str, name: str, builtins: Iterable[str]
                ) -> tuple[EntryPoint | None, object]:
    """(entry point, the object it names) of plugin `name`, imported now; (None, None) where no plugin
    has that name. An import that fails is a one-line ValueError naming the entry point."""
    point = plugins(group, kind, builtins).get(name)
    if point is None:
        return None, None
    try:
        return point, point.load()
    except Exception as error:  # any error of the plugin's own import: reported, not a traceback
        detail = (str(error).strip().splitlines() or [""])[0]
        raise ValueError(f"{kind} plugin {name!r} (entry point {point.value!r} in group {group}) failed to "
                         f"load: {type(error).__name__}: {detail}") from None


def load_callable(group: str, kind: str, name: str, builtins: Iterable[str], valid: str
                  ) -> tuple[EntryPoint, Callable]:
    """(entry point, the callable it names) of plugin `name`, imported now. No such plugin, or one naming
    something that cannot be called, is a one-line ValueError; `valid` says what it should name."""
    builtins = list(builtins)
    point, value = load_plugin(group, kind, name, builtins)
    if point is None:
        names = [*builtins, *plugins(group, kind, builtins)]
        raise ValueError(f"unknown {kind} {name!r}; valid: {', '.join(names)}")
    if not callable(value):
        raise ValueError(f"{kind} plugin {name!r} (entry point {point.value!r} in group {group}) is a "
                         f"{type(value).__name__}; valid: {valid}")
    return point, value
