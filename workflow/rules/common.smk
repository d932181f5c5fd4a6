# The run table: every study's grid at the chosen scale, expanded by fanin.plan.studies (the single source of truth).
import json
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from fanin.contract import OPTIONAL_TABLES, TABLES
from fanin.plan.identity import is_complete
from fanin.io import write_json
from fanin.plan.packing import cost, pack_id, pack_resources, plan_packs, read_plan, write_plan
from fanin.plan.studies import SAFE_PATH, check_safe, expand_study, run_table, study_figures

if "studies" in config and not isinstance(config["studies"], list):  # before the schema's long dump
    raise WorkflowError(f"fanin: studies={config['studies']} must be a list; write studies=[{config['studies']}]")
validate(config, schema="../schemas/config.schema.yaml")

STUDIES = Path(workflow.basedir) / "config" / "studies"


def gpus_given():
    """N of --resources gpu=N (the workstation profile's): runs then train on GPUs, one each."""
    value = workflow.global_resources.get("gpu") if "gpu" in workflow.global_resources else 0
    try:
        return int(getattr(value, "value", value) or 0)
    except (TypeError, ValueError):
        return 0


ACCELERATOR = "gpu" if config["accelerator"] == "gpu" or gpus_given() > 0 else "cpu"
# Every path below results/ reaches a rule's shell (quoted) and a Hydra override (single-quoted): no quotes,
# no $, `, ;, spaces or other shell characters, whatever the quoting.
try:
    check_safe(config["results"], f"results={config['results']!r}", SAFE_PATH)
except ValueError as error:
    raise WorkflowError(f"fanin: {error}")
SCALE = config["scale"]
# Each scale has a folder of its own (results/quick/glorot2010/...): a paper-scale run never overwrites the
# quick one with the same axes, and the two scales' figures sit side by side.
RESULTS = f"{config['results']}/{SCALE}"
# Jobs run the interpreter Snakemake runs in (the project's .venv, or an activated conda env made from
# environment.yml); with --software-deployment-method conda, the python of workflow/envs/fanin.yaml.
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if USE_CONDA else shlex.quote(sys.executable)
CONDA_ENV = "../envs/fanin.yaml"

try:
    RUNS = {study: {run.run_id: run for run in expand_study(STUDIES, study, SCALE)} for study in config["studies"]}
    FIGURES = {study: study_figures(STUDIES, study) for study in config["studies"]}
except ValueError as error:
    raise WorkflowError(f"fanin: {error}")



def run_dir(study, run):
    return f"{RESULTS}/{study}/runs/{run}"


def study_runs(study):
    return list(RUNS[study])


def run_overrides(study, run):
    """What the run is (its overrides in the run table), then where it runs and logs."""
    extra = [f"study_name={study}", f"run_name='{run.run_id}'", f"trainer.accelerator={ACCELERATOR}"]
    if config["logger"] != "none":
        extra.append(f"logger={config['logger']}")
    return [*run.overrides, *extra]


# The runs still to train, in packs (fanin.plan.packing): a run whose folder holds it complete, trained with the
# overrides the run table gives it now (fanin.plan.identity), is no pack's, so adding a seed or an init trains only
# the new runs. A finished run whose overrides changed is packed again and retrained through Snakemake's
# params trigger (the metadata in .snakemake/ records the command that made each output; without it Snakemake
# keeps outputs that exist, as for any rule). The packs fill the jobs that can run at once: --cores N / threads
# locally (on GPUs, no more than the GPUs); on a cluster each pack is a job of its own, as large as pack_size.
if workflow.nodes:
    SLOTS = 1
else:
    SLOTS = max(1, workflow.global_resources["_cores"].value // config["threads"])
    if ACCELERATOR == "gpu":
        SLOTS = min(SLOTS, max(gpus_given(), 1))
# On Slurm, a partition for the training jobs alone: --set-resources names a rule, and each pack is its own.
TRAIN_PARTITION = {}
if config["slurm_train_partition"]:
    try:
        check_safe(config["slurm_train_partition"], "slurm_train_partition")
    except ValueError as error:
        raise WorkflowError(f"fanin: {error}")
    TRAIN_PARTITION = {"slurm_partition": config["slurm_train_partition"]}
# A job on a cluster node reads this file again, when other runs may have finished: it trains the packs the
# workflow planned when it started (written to PACK_PLAN by onstart, so a dry run writes nothing).
PACK_PLAN = f"{RESULTS}/packs.json"
try:
    if workflow.is_main_process:
        PENDING = [run for study, runs in RUNS.items() for run in runs.values()
                   if not is_complete(run_dir(study, run.run_id), run_overrides(study, run))]
        PACKS = plan_packs(PENDING, config["pack_size"], SLOTS)
    else:
        PACKS = read_plan(PACK_PLAN, RUNS)
except ValueError as error:
    raise WorkflowError(f"fanin: {error}")


onstart:
    write_plan(PACK_PLAN, PACKS)


def pack_arguments(members):
    """A pack's arguments to `python -m fanin.train`: --run DIR overrides... for each run, each word quoted
    for the shell."""
    return " ".join(f"--run {shlex.quote(run_dir(run.study, run.run_id))} "
                    + " ".join(shlex.quote(o) for o in run_overrides(run.study, run)) for run in members)


def write_run_table(rows, path, log):
    """The run_table rule's job: the study's run table as JSON (written atomically), a line in its log."""
    write_json(rows, path)
    Path(log).write_text(f"{len(rows)} runs in {len({row['block'] for row in rows})} blocks\n")


def all_outputs():
    outputs = []
    for study in config["studies"]:
        outputs.append(f"{RESULTS}/{study}/tables/summary.csv")
        outputs += [f"{RESULTS}/{study}/figures/{fig}.pdf" for fig in FIGURES[study]]
    return outputs
