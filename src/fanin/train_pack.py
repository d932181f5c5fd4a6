"""`python -m fanin.train_pack [--threads N] --run DIR key=value ... --run DIR ...`: K runs trained in
one pack.

Each `--run` names a run's folder and its overrides, exactly as `python -m fanin.train key=value ...
hydra.run.dir=DIR` would take them; every run is composed from conf/train.yaml by Hydra, checked as
`fanin.train` checks it, and the pack is handed to `fanin.run.train_pack` as plain dicts. With Hydra, this
module and `fanin.train` are the only ones that import it.
"""

from __future__ import annotations

import logging
import sys

from fanin.train import CONF_DIR, check_choices, check_keys_and_types, config_roots

USAGE = "usage: python -m fanin.train_pack [--threads N] --run DIR key=value ... [--run DIR key=value ...]"


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


def main() -> None:
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    from fanin.run import RunIncomplete, RunInterrupted, train_pack

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    try:
        runs = parse_runs(sys.argv[1:])
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            configs = [compose_run(overrides) for _, overrides in runs]
        train_pack(configs, [folder for folder, _ in runs], [overrides for _, overrides in runs])
    except (ValueError, FileNotFoundError, HydraException, RunInterrupted, RunIncomplete) as error:
        sys.exit(f"fanin.train_pack: {error}")


if __name__ == "__main__":
    main()
