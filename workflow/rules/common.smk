# The run table: every study's grid at the chosen scale, expanded by fanin.studies (the single source of truth).
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

from fanin.contract import OPTIONAL_TABLES, TABLES
from fanin.studies import SAFE_PATH, available_studies, check_safe, expand_study, study_figures

if "studies" in config and not isinstance(config["studies"], list):  # before the schema's long dump
    raise WorkflowError(f"fanin: studies={config['studies']} must be a list; write studies=[{config['studies']}]")
validate(config, schema="../schemas/config.schema.yaml")

CONF = Path(workflow.basedir) / "conf"


def gpus_given():
    """N of --resources gpu=N (the workstation profile's): runs then train on GPUs, one each."""
    value = workflow.global_resources.get("gpu") if "gpu" in workflow.global_resources else 0
    try:
        return int(getattr(value, "value", value) or 0)
    except (TypeError, ValueError):
        return 0


ACCELERATOR = "gpu" if config["accelerator"] == "gpu" or gpus_given() > 0 else "cpu"
RESULTS = config["results"]
# Every path below results/ reaches a rule's shell (quoted) and a Hydra override (single-quoted): no quotes,
# no $, `, ;, spaces or other shell characters, whatever the quoting.
try:
    check_safe(RESULTS, f"results={RESULTS!r}", SAFE_PATH)
except ValueError as error:
    raise WorkflowError(f"fanin: {error}")
SCALE = config["scale"]
# Jobs run the interpreter Snakemake runs in (the project's .venv, or an activated conda env made from
# environment.yml); with --software-deployment-method conda, the python of workflow/envs/fanin.yaml.
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if USE_CONDA else shlex.quote(sys.executable)
CONDA_ENV = "../envs/fanin.yaml"

try:
    RUNS = {study: {run.run_id: run for run in expand_study(CONF, study, SCALE)} for study in config["studies"]}
    FIGURES = {study: study_figures(CONF, study) for study in config["studies"]}
except ValueError as error:
    raise WorkflowError(f"fanin: {error}")



def run_dir(study, run):
    return f"{RESULTS}/{study}/runs/{run}"


def run_dir_override(wildcards):
    """hydra.run.dir, single-quoted for Hydra (its folder holds '='), then quoted for the shell."""
    return shlex.quote(f"hydra.run.dir='{run_dir(wildcards.study, wildcards.run)}'")


def study_runs(study):
    return list(RUNS[study])


def run_overrides(wildcards):
    run = RUNS[wildcards.study][wildcards.run]
    extra = [f"study_name={wildcards.study}", f"trainer.accelerator={ACCELERATOR}"]
    if config["logger"] != "none":  # only then: the default leaves the runs' params (rerun triggers) as they are
        extra.append(f"logger={config['logger']}")
    return " ".join(shlex.quote(o) for o in (*run.overrides, *extra))


def run_resource(name, default):
    def get(wildcards):
        return RUNS[wildcards.study][wildcards.run].resources.get(name, default)

    return get


def all_outputs():
    outputs = []
    for study in config["studies"]:
        outputs.append(f"{RESULTS}/{study}/tables/summary.csv")
        outputs += [f"{RESULTS}/{study}/figures/{fig}.pdf" for fig in FIGURES[study]]
    return outputs
