"""`python -m fanin.train key=value ...`: one run, configured by Hydra from conf/train.yaml.

The only module that imports Hydra: it resolves the config and hands a plain dict to `fanin.run.train_run`.

A plugin's init scheme or data set (fanin.plugins) brings its group file, init/<name>.yaml or
data/<name>.yaml, in a config folder of its own that the run puts on Hydra's search path:
`hydra.searchpath=[pkg://<package>.conf]` (an importable package holding init/ and data/) or
`[file://<folder>]`. Hydra composes from conf/ first, then from those, in order; the checks below read the
group files from the same folders.
"""

from __future__ import annotations

import numbers
import sys
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
NULLABLE = {"trainer.checkpoint_every_s"}  # null: no periodic checkpoints (one is still written on SIGTERM)
GROUPS = {"data": "data", "init": "init", "model": "model", "optim": "optim", "trainer": "trainer",
          "probe": "probe", "logger": "logger"}


def config_roots(overrides: list[str]) -> list[Path | Traversable]:
    """The config folders a run composes from, in Hydra's order: conf/, then each hydra.searchpath entry
    among `overrides` (file://<folder>, a bare folder, or pkg://<package>)."""
    roots: list[Path | Traversable] = [CONF_DIR]
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if key != "hydra.searchpath" or not sep:
            continue
        from hydra.core.override_parser.overrides_parser import OverridesParser

        try:
            paths = OverridesParser.create().parse_override(item).value()
        except Exception:  # Hydra's parse error, many lines: ours names the form
            paths = None
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError(f"{item} is not a list of config folders; valid: "
                             "hydra.searchpath=[pkg://<package>.conf] or [file://<folder>]")
        roots += [config_root(path) for path in paths]
    return roots


def config_root(path: str) -> Path | Traversable:
    scheme, sep, where = path.partition("://")
    if not sep:
        scheme, where = "file", path
    if scheme == "file":
        return Path(where)
    if scheme == "pkg":
        try:
            return files(where.replace("/", ".").rstrip("."))
        except (ModuleNotFoundError, ValueError, TypeError):
            raise ValueError(f"hydra.searchpath entry {path!r}: no importable package {where!r}; valid: "
                             "pkg://<package> (holding init/, data/ ...) or file://<folder>") from None
    raise ValueError(f"hydra.searchpath entry {path!r} has an unknown scheme {scheme!r}; "
                     "valid: pkg://, file://")


def group_file(roots: list[Path | Traversable], folder: str, choice: str) -> Path | Traversable | None:
    """The first `folder/choice.yaml` among `roots`, as Hydra finds it; None where there is none."""
    for root in roots:
        path = root / folder / f"{choice}.yaml"
        if path.is_file():
            return path
    return None


def group_choices(roots: list[Path | Traversable], folder: str) -> list[str]:
    return sorted({p.name[: -len(".yaml")] for root in roots if (root / folder).is_dir()
                   for p in (root / folder).iterdir() if p.name.endswith(".yaml")})


def check_choices(overrides: list[str]) -> None:
    """Refuse an unknown group choice (init=foo) in one line with the valid names, before Hydra composes; a
    plugin's choice whose group file is not on the search path says so."""
    from fanin.activations import check_activation

    roots = config_roots(overrides)
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if not sep:
            continue
        if key in GROUPS and group_file(roots, GROUPS[key], value) is None:
            message = f"unknown {key} {value!r}; valid: {', '.join(group_choices(roots, GROUPS[key]))}"
            if key in ("init", "data"):  # the groups a plugin adds a choice to (fanin.plugins)
                from fanin import data, inits
                from fanin.plugins import plugins

                point = plugins({"init": inits, "data": data}[key].PLUGIN_GROUP, key, ()).get(value)
                if point is not None:
                    package = point.value.partition(":")[0].partition(".")[0]
                    message += (f"; {key} plugin {value!r} ({point.value!r}) needs "
                                f"{GROUPS[key]}/{value}.yaml on the config search path: add "
                                f"hydra.searchpath=[pkg://{package}.conf] (or [file://<folder>])")
            raise ValueError(message)
        if key == "model.activation":
            check_activation(value)


def check_keys_and_types(config: dict, choices: dict, roots: list[Path | Traversable] | None = None) -> None:
    """The run config's schema is its YAML defaults: every key must be one the chosen file declares, and its
    value must have the type of the declared default (an int for 5, a float or int for 0.01, true/false for a
    bool, a list for a list; a null default takes anything). Catches `+optim.lrr=0.1` and `model.depth=2.5`
    in one line, before anything heavy; ranges are checked by the library (fanin.run.check_config). `roots`:
    the config folders (config_roots), conf/ alone by default."""
    roots = roots or [CONF_DIR]
    top = {k: v for k, v in yaml.safe_load((CONF_DIR / "train.yaml").read_text()).items()
           if k not in ("defaults", "hydra")}
    check_group(config, {**top, **{group: {} for group in GROUPS}}, "", nested=False)
    for group, folder in GROUPS.items():
        path = group_file(roots, folder, choices[group])
        if path is None:  # Hydra found it where we did not look
            raise ValueError(f"no {folder}/{choices[group]}.yaml in conf/ or on hydra.searchpath; valid: "
                             f"{', '.join(group_choices(roots, folder))}")
        declared = yaml.safe_load(path.read_text()) or {}
        check_group(config[group], declared, f"{group}.")


def check_group(values: dict, declared: dict, prefix: str, nested: bool = True) -> None:
    for key, value in values.items():
        if key not in declared:
            raise ValueError(f"unknown key {prefix}{key}; valid: {', '.join(sorted(declared))}")
        if (nested and not has_type_of(value, declared[key])
                and not (value is None and prefix + key in NULLABLE)):
            raise ValueError(f"{prefix}{key}={value!r} is not {kind(declared[key])} like its default "
                             f"{declared[key]!r}; valid: {kind(declared[key])}")


def has_type_of(value, default) -> bool:
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, numbers.Integral):
        return isinstance(value, numbers.Integral)
    if isinstance(default, numbers.Real):
        return isinstance(value, numbers.Real)
    return isinstance(value, type(default))


def kind(default) -> str:
    if isinstance(default, bool):
        return "true or false"
    return {int: "an integer", float: "a number", str: "a string", list: "a list"}.get(type(default),
                                                                                        "a value")


def main() -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    try:
        check_choices(sys.argv[1:])
        roots = config_roots(sys.argv[1:])
    except ValueError as error:
        sys.exit(f"fanin.train: {error}")

    @hydra.main(config_path=str(CONF_DIR), config_name="train", version_base="1.3")
    def run(cfg: DictConfig) -> None:
        from fanin.run import RunIncomplete, RunInterrupted, train_run

        config = OmegaConf.to_container(cfg, resolve=True)
        try:
            check_keys_and_types(config, HydraConfig.get().runtime.choices, roots)
            hydra_config = HydraConfig.get()
            train_run(config, hydra_config.runtime.output_dir, list(hydra_config.overrides.task))
        except (ValueError, FileNotFoundError, RunInterrupted, RunIncomplete) as error:
            sys.exit(f"fanin.train: {error}")

    run()


if __name__ == "__main__":
    main()
