"""One run, start to finish, from a plain config dict: data, model, init, training, measurements, files.

This is the library's entry point; `python -m fanin.train` (fanin.train.__main__) only turns Hydra configs
into the dicts this takes.
Files written to `out_dir` (the run's deterministic folder): config.yaml first; metrics, layer_stats,
histograms and jacobian parquet tables and provenance.json at the end; summary.json last of all, so a
folder with summary.json holds a complete run and a killed run leaves none. A killed run leaves instead
its last checkpoint (fanin.train.checkpoint) in `trainer.checkpoint_dir`, by default
`<out_dir>/checkpoint`, which no pipeline rule declares as an output; started again, the run resumes from it
and ends with the tables an uninterrupted run would have written.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch.utils.data import DataLoader

from fanin import meanfield
from fanin.activations import check_activation
from fanin.config import group_arguments
from fanin.contract import OPTIONAL_TABLES, TABLES
from fanin.data import DataSplits, load_data, loader_arguments
from fanin.inits import initialize, scheme_params, scheme_variance
from fanin.io import remove_stale_temporaries, write_json, write_parquet, write_yaml
from fanin.model import MLP
from fanin.plan.identity import identity_overrides
from fanin.plan.packing import PER_RUN_KEYS
from fanin.probes.boundary import decision_boundary
from fanin.probes.cost_surface import cost_surface
from fanin.probes.examples import examples_table
from fanin.probes.schedule import probe_steps
from fanin.probes.spectrum import spectrum_table
from fanin.train.checkpoint import Checkpointing, pack_fingerprint, resumable_checkpoint
from fanin.train.devices import claim_device
from fanin.train.measurements import Measurements, PackMeasurements
from fanin.train.module import InitStudyModule
from fanin.train.pack import Pack
from fanin.train.provenance import git_commit, provenance
from fanin.train.sinks import make_sink
from fanin.train.stream import PackStream, StreamOnDevice, TrainStream

log = logging.getLogger("fanin")
# Lightning's start-up banners (GPU available, tips) would drown the run's own log lines.
logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)

class RunInterrupted(RuntimeError):
    """SIGTERM stopped the run between two steps; its checkpoint resumes it when it is started again."""


class RunIncomplete(RuntimeError):
    """Training ended short of trainer.max_steps without diverging: never reported as `completed`."""


OUTPUTS = ("config.yaml", *(f"{t}.parquet" for t in (*TABLES, *OPTIONAL_TABLES)), "provenance.json",
           "summary.json")
LSUV_BATCH = 500


def model_arguments(config: dict) -> dict:
    """The model group as MLP's keyword arguments: each of its parameters but the sizes the data set gives,
    from the group (whose YAML holds the defaults; MLP's own are for callers from Python), no other key."""
    return group_arguments("model", config["model"], MLP, passed=("in_features", "num_classes"))


def build_model(config: dict, splits: DataSplits) -> MLP:
    return MLP(splits.in_features, splits.num_classes, **model_arguments(config))


def init_params(config: dict) -> dict:
    return {k: v for k, v in config["init"].items() if k != "name"}


def load_splits(config: dict) -> DataSplits:
    """The run's data set; it never depends on the seed, so the runs of a pack share it."""
    return load_data(**config["data"])


def initialized_model(config: dict, splits: DataSplits) -> MLP:
    """Seed everything and build the network, initialized: identical for a given config, alone or packed."""
    seed = int(config["seed"])
    L.seed_everything(seed, workers=True, verbose=False)
    model = build_model(config, splits)
    batch = None
    if config["init"]["name"] == "lsuv":
        # LSUV sees a batch of training examples from a stream of its own, so training batches stay untouched.
        batch, _ = next(splits.train.batches(LSUV_BATCH, seed + 1_000_003))
    initialize(model, config["init"]["name"], init_params(config), batch=batch)
    return model


def prepare(config: dict) -> tuple[DataSplits, MLP]:
    """The data and the initialized network of one run."""
    splits = load_splits(config)
    return splits, initialized_model(config, splits)


def check_config(config: dict) -> None:
    """Refuse, in one line naming the key, a config the run cannot use, before anything is loaded or written:
    a key the model, the data set or the init scheme does not take (or lacks), an unknown name (a plugin's
    is imported here), and values out of range."""
    model_arguments(config)
    check_activation(config["model"]["activation"])
    loader_arguments(config["data"])
    scheme_params(config["init"]["name"], init_params(config))
    batch_size, max_steps = config["data"]["batch_size"], config["trainer"]["max_steps"]
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"data.batch_size={batch_size} is out of range; valid: an integer >= 1")
    if not isinstance(max_steps, int) or max_steps < 0:
        raise ValueError(f"trainer.max_steps={max_steps} is out of range; valid: an integer >= 0")
    seed = config["seed"]
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed={seed!r} is out of range; valid: an integer in 0..{2**32 - 1}")
    for group, minima in MINIMA.items():
        for key, low in minima.items():
            value = config[group].get(key)  # each data set has only some of these keys
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
                raise ValueError(f"{group}.{key}={value!r} is out of range; valid: an integer >= {low}")
    steps = config["probe"]["jacobian_steps"]
    if not all(s == "last" or (isinstance(s, int) and not isinstance(s, bool) and s >= 0) for s in steps):
        raise ValueError(f"probe.jacobian_steps={steps!r} is not valid; "
                         "valid: a list of steps >= 0 and 'last'")
    for key, valid in CHOICES.items():
        group, name = key.split(".")
        if name in config[group] and config[group][name] not in valid:  # logger.mode: only logger=wandb's
            raise ValueError(f"{key}={config[group][name]!r} is not valid; valid: {', '.join(valid)}")
    if config["threads"] is not None and (not isinstance(config["threads"], int) or config["threads"] < 1):
        raise ValueError(f"threads={config['threads']!r} is out of range; valid: an integer >= 1, or null")


# Smallest valid values: the probe batch, schedule and histograms need these (0 turns Jacobians and examples
# off); data sizes count examples (a data set's loader checks them against what it holds).
MINIMA = {
    "probe": {"size": 1, "every": 1, "per_decade": 1, "bins": 2, "jacobian_examples": 0, "examples": 0},
    "data": {"valid_size": 1, "test_size": 1, "epoch_size": 1, "chunk": 1, "n": 1, "subset_valid_size": 1,
             "subset_test_size": 1},
}
# One precision: the fused step and the probes compute in float32 (a mixed precision would autocast inside
# the step; 64-true would need every input cast, and nothing here needs it).
CHOICES = {"trainer.accelerator": ("cpu", "gpu", "cuda", "auto"), "trainer.precision": ("32-true",),
           "logger.mode": ("offline", "online", "disabled")}


def train_run(config: dict, out_dir: str | Path, overrides: list[str] | None = None) -> dict:
    """Train and measure one run described by `config` (the resolved conf/train.yaml), writing to `out_dir`;
    `overrides`, the command line it was composed from, go into provenance.json (fanin.plan.identity)."""
    return train_pack([config], [out_dir], None if overrides is None else [overrides])[0]


def check_packable(configs: list[dict]) -> None:
    """Refuse, in one line naming the key, runs that cannot train in lockstep in one pack: everything but
    fanin.plan.packing.PER_RUN_KEYS must be equal (one shape, one data set, one schedule)."""
    def shared(config: dict) -> dict:
        kept = {k: v for k, v in config.items() if k not in PER_RUN_KEYS}
        return {k: ({s: x for s, x in v.items() if f"{k}.{s}" not in PER_RUN_KEYS} if isinstance(v, dict)
                    else v)
                for k, v in kept.items()}

    first = shared(configs[0])
    for config in map(shared, configs[1:]):
        for key in sorted(set(first) | set(config)):
            if first.get(key) != config.get(key):
                raise ValueError(f"runs with different {key} cannot share a pack ({first.get(key)!r} vs "
                                 f"{config.get(key)!r}); valid: runs that differ only in "
                                 f"{', '.join(sorted(PER_RUN_KEYS))}")


def start_folder(config: dict, out_dir: Path) -> None:
    """Clear what an earlier attempt left and write config.yaml: a folder never holds a stale summary."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS:  # a re-run must never leave an old summary beside new, partial tables
            (out_dir / name).unlink(missing_ok=True)
        remove_stale_temporaries(out_dir)
        write_yaml(config, out_dir / "config.yaml")
    except OSError as error:  # a file where the folder should be, no permission, a full disk
        raise ValueError(f"the run folder {out_dir} is not a writable folder "
                         f"({error.strerror or error})") from None


def train_pack(configs: list[dict], out_dirs: list[str | Path],
               overrides: list[list[str]] | None = None) -> list[dict]:
    """Train K runs of one shape in lockstep (fanin.train.pack), each measured and written to its own
    folder exactly as it would be alone; their summaries, in order. `overrides`: each run's command
    line, recorded."""
    started = time.perf_counter()
    commit = git_commit()  # the code this process imported, not what the tree holds when it ends
    out_dirs = [Path(d) for d in out_dirs]
    overrides = overrides or [None] * len(configs)
    if not configs or not len(configs) == len(out_dirs) == len(overrides):
        raise ValueError(f"a pack needs one folder per run: {len(configs)} configs, {len(out_dirs)} folders, "
                         f"{len(overrides)} override lists")
    for config in configs:
        check_config(config)
    check_packable(configs)
    for config, out_dir in zip(configs, out_dirs, strict=True):
        start_folder(config, out_dir)
    first = configs[0]
    if first["threads"]:
        torch.set_num_threads(int(first["threads"]))

    splits = load_splits(first)
    log.info("data %s: %s (%s)", splits.name, splits.source, splits.info)
    pack = Pack([initialized_model(config, splits) for config in configs])
    t, p = first["trainer"], first["probe"]
    module = InitStudyModule(pack, [config["optim"] for config in configs])
    batch_size = first["data"]["batch_size"]
    stream = PackStream([TrainStream(splits.train, batch_size, int(config["seed"])) for config in configs])
    fingerprint = pack_fingerprint(configs)
    checkpoint_dir = Path(t["checkpoint_dir"] or out_dirs[0] / "checkpoint")
    resume_from, resumed = resumable_checkpoint(checkpoint_dir, fingerprint) or (None, {})
    resumed_step = resumed["stream"][0]["step"] if resumed else None
    if resume_from is not None:
        log.info("resuming from %s (step %d)", resume_from, resumed_step)
    # A resumed run goes on logging to the W&B run it started, not to a new one.
    sink_ids = resumed.get("sink_run_ids") or [None] * len(configs)
    sinks = [make_sink(config, out_dir, run_id=sink_id)
             for config, out_dir, sink_id in zip(configs, out_dirs, sink_ids, strict=True)]
    schedule = probe_steps(t["max_steps"], p["every"], p["per_decade"])
    measurements = PackMeasurements([
        Measurements(splits, p["size"], schedule, p["bins"], batch_size,
                     set(p["jacobian_steps"]), p["jacobian_examples"], sink=sink)
        for sink in sinks])
    checkpointing = Checkpointing(checkpoint_dir, fingerprint, stream,
                                  every_s=t["checkpoint_every_s"], every_steps=t["checkpoint_every_steps"],
                                  sink_run_ids=[sink.run_id for sink in sinks])
    updates = fit(module, stream, t, measurements, checkpointing, resume_from)
    if updates < t["max_steps"] and measurements.live():
        raise RunIncomplete(f"training stopped after {updates} of trainer.max_steps={t['max_steps']} updates "
                           "without diverging; the run is not reported complete")
    train_time = time.perf_counter() - started

    summaries = []
    folders = [str(d) for d in out_dirs]
    for k, (config, out_dir, run, sink, given) in enumerate(zip(configs, out_dirs, measurements.runs, sinks,
                                                                overrides, strict=True)):
        model = pack.models[k]
        tables = {**run.tables(), **optional_tables(config["probe"], splits, model, run)}
        for name, frame in tables.items():
            write_parquet(frame, out_dir / f"{name}.parquet")
        pack_info = {"size": len(configs), "index": k, "runs": folders}
        write_json({**provenance(module.device, train_time, commit), "resumed_from_step": resumed_step,
                    "pack": pack_info, "overrides": None if given is None else identity_overrides(given)},
                   out_dir / "provenance.json")
        summary = summarize(run.status, tables["metrics"], started, config)
        sink.finish(summary)
        write_json(summary, out_dir / "summary.json")
        log.info("run %s: %s after %d steps, test error %.4f", out_dir, summary["status"], summary["steps"],
                 summary["final_test_error"])
        summaries.append(summary)
    checkpointing.remove()
    return summaries


def optional_tables(p: dict, splits: DataSplits, model: MLP, measurements: Measurements) -> dict:
    """The tables only some runs write (fanin.contract.OPTIONAL_TABLES), at the last measured step."""
    tables, step = {}, measurements.last_measured
    if splits.in_features == 2:
        tables["boundary"] = decision_boundary(model, *splits.test, step=step)
    if p["examples"]:
        tables["examples"] = examples_table(*splits.test, splits.classes, int(p["examples"]))
    if p["cost_surface"]:
        device = next(model.parameters()).device
        tables["cost_surface"] = cost_surface(model, measurements.probe_x.to(device),
                                              measurements.probe_y.to(device), step)
    if p["spectrum"]:
        device = next(model.parameters()).device
        examples = measurements.probe_x[: max(1, p["jacobian_examples"])].to(device)
        tables["spectrum"] = spectrum_table(model, examples, step)
    return tables


def fit(module: InitStudyModule, stream: PackStream, t: dict, measurements: PackMeasurements,
        checkpointing: Checkpointing, resume_from: Path | None) -> int:
    """Train `module` on `stream` with Lightning as `t` (the trainer config) says, from `resume_from` if
    given; the number of updates done."""
    accelerator, devices, claim = t["accelerator"], t["devices"], None
    if accelerator in ("gpu", "cuda") and devices == 1:
        # several runs share a workstation's GPUs: each takes a device of its own (see fanin.train.devices)
        claim = claim_device(torch.cuda.device_count())
        devices = [claim.index]
    try:
        with warnings.catch_warnings():
            # An in-memory stream needs no worker processes; Lightning's advice to add some does not apply.
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*max_steps=0.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            # The stream resumes itself exactly (fanin.train.stream); Lightning cannot know that.
            warnings.filterwarnings("ignore", message=".*dataloader is not resumable.*")
            # A single-device run started outside srun on a machine with Slurm installed is not a mistake.
            warnings.filterwarnings("ignore", message=".*The `srun` command is available.*")
            trainer = L.Trainer(
                max_steps=t["max_steps"], accelerator=accelerator, devices=devices,
                precision=t["precision"], deterministic=t["deterministic"],
                logger=False, enable_checkpointing=False, enable_progress_bar=False,
                enable_model_summary=False, num_sanity_val_steps=0, limit_val_batches=0,
                callbacks=[StreamOnDevice(stream), measurements, checkpointing],
            )
            if t["max_steps"] > 0:
                trainer.fit(module, train_dataloaders=DataLoader(stream, batch_size=None),
                            ckpt_path=resume_from)
            else:
                measurements.measure(0, module)
            return trainer.global_step
    except SIGTERMException:
        raise RunInterrupted(f"SIGTERM at step {trainer.global_step}; checkpoint {checkpointing.path}, "
                             "run it again to resume") from None
    finally:  # in-process callers (tests, notebooks) must get the device back even when training raises
        if claim is not None:
            claim.release()


def mean_field_depth_scale(config: dict) -> float | None:
    """ξ_c = -1/ln χ_c (fanin.meanfield) at the run's init's (σ_w², σ_b²) for its activation; None for an
    init without those parameters, an activation the theory does not cover, or at the critical point
    itself, where ξ_c is infinite."""
    params, activation = init_params(config), config["model"]["activation"]
    if "sigma_w2" not in params or activation not in meanfield.ACTIVATIONS:
        return None
    xi_c = meanfield.propagation(params["sigma_w2"], params["sigma_b2"], activation).xi_c
    return float(xi_c) if math.isfinite(xi_c) else None


def summarize(status: str, metrics, started: float, config: dict) -> dict:
    """summary.json: how the run ended, its final errors (train: over the updates since the last
    measurement), and the theory the figures draw beside them (they read tables only): its init's n·Var(W)
    for a hidden (width × width) layer and, for an init that sets (σ_w², σ_b²), the mean-field depth scale."""
    last = metrics[metrics.step == metrics.step.max()].set_index("split")
    width = config["model"]["width"]
    variance = scheme_variance(config["init"]["name"], width, width, init_params(config))
    trained = "train" in last.index
    return {
        "status": status,
        "steps": int(metrics.step.max()),
        "epochs": float(last["epoch"].iloc[0]),
        "final_train_loss": float(last.loc["train", "loss"]) if trained else None,
        "final_train_error": float(last.loc["train", "error"]) if trained else None,
        "final_valid_error": float(last.loc["valid", "error"]),
        "final_test_error": float(last.loc["test", "error"]),
        "hidden_n_var_w": None if variance is None else width * variance,
        "xi_c": mean_field_depth_scale(config),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
