"""`python -m fanin.train key=value ...`: one run, configured by Hydra from conf/train.yaml.

The only module that imports Hydra: it resolves the config and hands a plain dict to `fanin.run.train_run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
GROUPS = {"data": "data", "init": "init", "model": "model", "optim": "optim", "trainer": "trainer", "probe": "probe",
          "logger": "logger"}


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
            train_run(config, HydraConfig.get().runtime.output_dir)
        except (ValueError, FileNotFoundError, RunInterrupted, RunIncomplete) as error:
            sys.exit(f"fanin.train: {error}")

    run()


if __name__ == "__main__":
    main()
