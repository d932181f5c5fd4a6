"""`python -m fanin.train key=value ...`: one run, configured by Hydra from conf/train.yaml.

The only module that imports Hydra: it resolves the config and hands a plain dict to `fanin.run.train_run`.
"""

from __future__ import annotations

import numbers
import sys
from pathlib import Path

import yaml

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
NULLABLE = {"trainer.checkpoint_every_s"}  # null: no periodic checkpoints (one is still written on SIGTERM)
GROUPS = {"data": "data", "init": "init", "model": "model", "optim": "optim", "trainer": "trainer",
          "probe": "probe", "logger": "logger"}


def check_choices(overrides: list[str]) -> None:
    """Refuse an unknown group choice (init=foo) in one line with the valid names, before Hydra composes."""
    from fanin.activations import check_activation

    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if not sep:
            continue
        if key in GROUPS and not (CONF_DIR / GROUPS[key] / f"{value}.yaml").exists():
            valid = sorted(p.stem for p in (CONF_DIR / GROUPS[key]).glob("*.yaml"))
            raise ValueError(f"unknown {key} {value!r}; valid: {', '.join(valid)}")
        if key == "model.activation":
            check_activation(value)


def check_keys_and_types(config: dict, choices: dict) -> None:
    """The run config's schema is its YAML defaults: every key must be one the chosen file declares, and its
    value must have the type of the declared default (an int for 5, a float or int for 0.01, true/false for a
    bool, a list for a list; a null default takes anything). Catches `+optim.lrr=0.1` and `model.depth=2.5`
    in one line, before anything heavy; ranges are checked by the library (fanin.run.check_config)."""
    top = {k: v for k, v in yaml.safe_load((CONF_DIR / "train.yaml").read_text()).items()
           if k not in ("defaults", "hydra")}
    check_group(config, {**top, **{group: {} for group in GROUPS}}, "", nested=False)
    for group, folder in GROUPS.items():
        declared = yaml.safe_load((CONF_DIR / folder / f"{choices[group]}.yaml").read_text()) or {}
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
    except ValueError as error:
        sys.exit(f"fanin.train: {error}")

    @hydra.main(config_path=str(CONF_DIR), config_name="train", version_base="1.3")
    def run(cfg: DictConfig) -> None:
        from fanin.run import RunIncomplete, RunInterrupted, train_run

        config = OmegaConf.to_container(cfg, resolve=True)
        try:
            check_keys_and_types(config, HydraConfig.get().runtime.choices)
            hydra_config = HydraConfig.get()
            train_run(config, hydra_config.runtime.output_dir, list(hydra_config.overrides.task))
        except (ValueError, FileNotFoundError, RunInterrupted, RunIncomplete) as error:
            sys.exit(f"fanin.train: {error}")

    run()


if __name__ == "__main__":
    main()
