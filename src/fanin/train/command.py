"""What `python -m fanin.train` (fanin.train.__main__) does before a run starts: its configs composed by Hydra
from conf/train.yaml and checked, and a pack's command line parsed.

With fanin.train.__main__, the only modules that import Hydra: they resolve each run's config and hand plain
dicts to fanin.train.run (train_run, train_pack).

A plugin's init scheme or data set (fanin.plugins) brings its group file, init/<name>.yaml or
data/<name>.yaml, in a config folder of its own that the run puts on Hydra's search path:
`hydra.searchpath=[pkg://<package>.conf]` (an importable package holding init/ and data/) or
`[file://<folder>]`. Hydra composes from conf/ first, then from those, in order; the checks below read the
group files from the same folders.
"""

from __future__ import annotations

import numbers
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

# parents[3] of src/fanin/train/command.py: the repository
CONF_DIR = Path(__file__).resolve().parents[3] / "conf"
NULLABLE = {"trainer.checkpoint_every_s"}  # null: no periodic checkpoints (one is still written on SIGTERM)
USAGE = ("usage: python -m fanin.train key=value ... (one run), or "
         "python -m fanin.train [--threads N] --run DIR key=value ... [--run DIR key=value ...] (a pack)")
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
    in one line, before anything heavy; ranges are checked by the library (fanin.train.run.check_config).
    `roots`: the config folders (config_roots), conf/ alone by default."""
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


def is_pack_command(argv: list[str]) -> bool:
    """A pack's command line starts with --threads or --run; anything else is one run's Hydra overrides."""
    return argv[:1] in (["--threads"], ["--run"])


def parse_runs(argv: list[str]) -> list[tuple[str, list[str]]]:
    """[(run folder, overrides)] from `[--threads N] --run DIR override ... --run DIR ...`; --threads N gives
    every run threads=N (the pack's process has one torch thread pool)."""
    threads = []
    if argv[:1] == ["--threads"]:
        if len(argv) < 2 or not argv[1].isdigit():
            raise ValueError(f"--threads needs a number of threads; {USAGE}")
        threads, argv = [f"threads={argv[1]}"], argv[2:]
    if not argv or argv[0] != "--run":
        raise ValueError(USAGE)
    runs: list[tuple[str, list[str]]] = []
    args = iter(argv)
    for arg in args:
        if arg == "--run":
            folder = next(args, None)
            if folder is None or folder == "--run":
                raise ValueError("--run needs a run folder, then that run's overrides")
            runs.append((folder, []))
        else:
            runs[-1][1].append(arg)
    return [(folder, [*overrides, *threads]) for folder, overrides in runs]


def compose_run(overrides: list[str]) -> dict:
    """conf/train.yaml with `overrides`, resolved and checked (inside an initialized Hydra config dir)."""
    from hydra import compose
    from omegaconf import OmegaConf, open_dict

    check_choices(overrides)
    cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    choices = dict(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    config = OmegaConf.to_container(cfg, resolve=True)
    check_keys_and_types(config, choices, config_roots(overrides))
    return config
