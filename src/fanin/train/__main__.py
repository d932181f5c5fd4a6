"""`python -m fanin.train`: the run stage's one command.

    python -m fanin.train key=value ...                                        one run, by Hydra
    python -m fanin.train [--threads N] --run DIR key=value ... --run DIR ...   K runs in one pack

One run is configured by Hydra from conf/train.yaml (its overrides, `hydra.run.dir=DIR` for its folder, and
Hydra's own flags). A pack's `--run` names a run's folder and its overrides, exactly as the one-run form
would take them with `hydra.run.dir=DIR`; every run is composed from conf/train.yaml by Hydra and checked the
same way (fanin.train.command), and the pack is handed to fanin.train.run.train_pack as plain dicts; the
pipeline trains every pack this way (workflow/rules/train.smk), a pack of one included. Bad input ends in one
line, `fanin.train: ...`.
"""

from __future__ import annotations

import logging
import sys

from fanin.train.command import (
    CONF_DIR,
    check_choices,
    check_keys_and_types,
    compose_run,
    config_roots,
    is_pack_command,
    parse_runs,
)


def main() -> None:
    if is_pack_command(sys.argv[1:]):
        train_pack_command(sys.argv[1:])
    else:
        train_run_command()


def train_run_command() -> None:
    """One run: Hydra reads sys.argv (overrides and its own flags)."""
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
        from fanin.train.run import RunIncomplete, RunInterrupted, train_run

        config = OmegaConf.to_container(cfg, resolve=True)
        try:
            check_keys_and_types(config, HydraConfig.get().runtime.choices, roots)
            hydra_config = HydraConfig.get()
            train_run(config, hydra_config.runtime.output_dir, list(hydra_config.overrides.task))
        except (ValueError, FileNotFoundError, RunInterrupted, RunIncomplete) as error:
            sys.exit(f"fanin.train: {error}")

    run()


def train_pack_command(argv: list[str]) -> None:
    """K runs in one pack, from `[--threads N] --run DIR key=value ... --run DIR ...`."""
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    from fanin.train.run import RunIncomplete, RunInterrupted, train_pack

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    try:
        runs = parse_runs(argv)
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            configs = [compose_run(overrides) for _, overrides in runs]
        train_pack(configs, [folder for folder, _ in runs], [overrides for _, overrides in runs])
    except (ValueError, FileNotFoundError, HydraException, RunInterrupted, RunIncomplete) as error:
        sys.exit(f"fanin.train: {error}")


if __name__ == "__main__":
    main()
