"""The workflow on a real Slurm cluster: Debian's slurmctld + slurmd + munge on
localhost (.ci/slurm-localhost.sh).

A study goes through workflow/profiles/slurm, every job an sbatch job, and reaches its figures; a run
that fails on the cluster fails the workflow, promptly; GPU runs ask for a GPU each; a run pre-empted
(scancel: SIGTERM, then SIGKILL) resumes from its checkpoint when the workflow runs again. Needs root and the
packages munge slurmctld slurmd slurm-client: elsewhere these tests skip, except where FANIN_REQUIRE_SLURM=1
(CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fanin.plan.packing import pack_resources, plan_packs
from fanin.plan.studies import expand_study, study_figures
from tests.helpers import PACK_SIZE, REPO, STUDIES, skip_or_fail, workflow_copy

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

CLUSTER = REPO / ".ci" / "slurm-localhost.sh"
PARTITION = "local"  # the script's one partition
TOOLS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo", "srun")
# The test cluster has no accounting database: FANIN_SLURM_ACCOUNTING=none (in slurm_env) has the profile read
# job states from squeue. The kept logs of successful jobs show that every job was a Slurm job.
TEST_CLUSTER_ARGS = ("--slurm-keep-successful-logs",)
SLURM_STUDY = "he2015"  # the smallest study with more than one pack


def missing_requirement() -> str | None:
    # the daemons, off a user's PATH
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    missing = [tool for tool in TOOLS if shutil.which(tool, path=path) is None]
    if missing:
        return (f"Slurm not installed ({', '.join(missing)} missing); "
                "apt-get install munge slurmctld slurmd slurm-client")
    if os.geteuid() != 0:
        return "the localhost Slurm cluster needs root (slurmd starts jobs as their users)"
    return None


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory) -> dict[str, str]:
    """A running single-node cluster for this module; its daemons are ended by their PIDs whatever happens."""
    reason = missing_requirement()
    if reason:
        skip_or_fail(reason, "FANIN_REQUIRE_SLURM")
    state = tmp_path_factory.mktemp("slurm")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env |= {"SLURM_CONF": str(state / "slurm.conf"), "FANIN_SLURM_PARTITION": PARTITION,
            "FANIN_SLURM_ACCOUNTING": "none"}
    env.pop("FANIN_SLURM_ACCOUNT", None)  # no accounts without an accounting database
    try:
        started = subprocess.run([str(CLUSTER), "start", str(state)], capture_output=True, text=True,
                                 timeout=180, env=env, check=False)
        if started.returncode != 0:
            pytest.fail(f"the localhost Slurm cluster did not start:\n{started.stdout}{started.stderr}")
        yield env
    finally:
        subprocess.run([str(CLUSTER), "stop", str(state)], capture_output=True, text=True, timeout=120,
                       env=env, check=False)


def snakemake_on_slurm(where: Path, env: dict[str, str], *args: str, timeout: int):
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
               *TEST_CLUSTER_ARGS, *args]
    return subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def slurm_jobs(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Every job the cluster still remembers: id -> (state, partition)."""
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%P"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return {job: (state, partition) for job, state, partition in
            (line.split("|") for line in out.split())}


def test_a_study_runs_through_slurm_to_its_figures(slurm_env, tmp_path):
    # Each kind of job as a Slurm job: he2015 at smoke scale is two training packs (its two depths), the
    # collection and three figures. Every study's figures are drawn from real tables by the local smoke run
    # (test_pipeline); on Slurm the smoke study's 11 packs and 30 figures would only repeat the same
    # submissions, minutes of CI.
    where = workflow_copy(tmp_path)
    runs = expand_study(where / STUDIES, SLURM_STUDY, "smoke")
    figures = study_figures(where / STUDIES, SLURM_STUDY)
    before = set(slurm_jobs(slurm_env))
    start = time.monotonic()
    result = snakemake_on_slurm(where, slurm_env, "--config", f"studies=[{SLURM_STUDY}]", "scale=smoke",
                                "results=results", timeout=900)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-4000:]

    study = where / "results" / "smoke" / SLURM_STUDY
    assert (study / "tables" / "summary.csv").stat().st_size > 0
    for figure in figures:
        assert (study / "figures" / f"{figure}.pdf").stat().st_size > 1000, figure

    # Every job was a Slurm job: one kept sbatch log per job, named by its Slurm job id, and each of those
    # ids finished COMPLETED in the partition the profile took from FANIN_SLURM_PARTITION.
    logs = sorted((where / ".snakemake" / "slurm_logs").rglob("*.log"))
    by_rule = {}
    for log in logs:
        rule = log.relative_to(where / ".snakemake" / "slurm_logs").parts[0]
        by_rule[rule] = by_rule.get(rule, 0) + 1
    packs = plan_packs(runs, PACK_SIZE)  # on a cluster, packs are as large as pack_size allows
    assert (sum(n for rule, n in by_rule.items() if rule.startswith("rule_train_"))
            == len(packs) < len(runs)), by_rule
    assert by_rule.get("rule_collect") == 1, by_rule
    assert sum(n for rule, n in by_rule.items() if rule.startswith("rule_figure_")) == len(figures), by_rule
    jobs = {job: state for job, state in slurm_jobs(slurm_env).items() if job not in before}
    assert {log.stem for log in logs} == set(jobs)
    assert set(jobs.values()) == {("COMPLETED", PARTITION)}
    print(f"{SLURM_STUDY} at smoke scale on Slurm: {len(jobs)} jobs in {elapsed:.0f} s")


def test_a_run_that_fails_on_the_cluster_fails_the_workflow_promptly(slurm_env, tmp_path):
    where = workflow_copy(tmp_path)
    # One tiny run whose override only Hydra, on the compute node, can refuse: the DAG builds, the job fails.
    broken = {"description": "a run that fails at run time", "grid": [{
        "axes": {"data": "digits", "activation": "tanh", "init": "standard", "depth": 2, "width": 4,
                 "seed": 0},
        "overrides": {"trainer.max_steps": 2, "model.no_such_key": 1}}], "figures": []}
    (where / STUDIES / "broken.yaml").write_text(yaml.safe_dump(broken, sort_keys=False))
    before = set(slurm_jobs(slurm_env))
    start = time.monotonic()
    result = snakemake_on_slurm(where, slurm_env, "--config", "studies=[broken]", "scale=smoke",
                                "results=results", timeout=300)
    elapsed = time.monotonic() - start
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert "Error in rule train" in output and "SLURM-job" in output, output[-4000:]
    assert elapsed < 180, f"the failure took {elapsed:.0f} s to surface"
    jobs = {job: state for job, state in slurm_jobs(slurm_env).items() if job not in before}
    assert set(jobs.values()) == {("FAILED", PARTITION)}, jobs
    train_log = next((where / "results" / "smoke" / "broken" / "logs" / "train").glob("*.log")).read_text()
    assert "no_such_key" in train_log


def test_gpu_runs_ask_slurm_for_one_gpu_each(slurm_env, tmp_path):
    # The test cluster has no GPUs, so sbatch refuses the request: the call it refused shows what was asked,
    # and a refused submission fails the workflow at once.
    where = workflow_copy(tmp_path)
    runs = expand_study(where / STUDIES, "smoke", "smoke")
    run = runs[0].run_id
    pack = next(p for p in plan_packs(runs, PACK_SIZE) if runs[0] in p)
    mem = pack_resources(pack, on_gpu=True)["mem_mb"]
    result = snakemake_on_slurm(where, slurm_env, "--config", "studies=[smoke]", "scale=smoke",
                                "results=results", "accelerator=gpu", "--",
                                f"results/smoke/smoke/runs/{run}/summary.json", timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "SLURM sbatch failed" in output, output[-4000:]
    sbatch = next(line for line in output.splitlines() if line.strip().startswith("sbatch --"))
    assert " --gpus=1" in sbatch and f" -p {PARTITION}" in sbatch and f" --mem {mem}" in sbatch, sbatch


def test_a_run_preempted_on_slurm_resumes_from_its_checkpoint_when_the_workflow_runs_again(slurm_env,
                                                                                           tmp_path):
    from tests.helpers import RESUME_STUDY, assert_same_tables, checkpoint_step, wait_for

    where = workflow_copy(tmp_path)
    (where / STUDIES / "resume.yaml").write_text(yaml.safe_dump(RESUME_STUDY, sort_keys=False))
    config = ("--config", "studies=[resume]", "scale=smoke")
    reference = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *config,
                                "results=reference"],
                               cwd=where, capture_output=True, text=True, timeout=300, check=False)
    assert reference.returncode == 0, reference.stderr[-3000:]

    before = set(slurm_jobs(slurm_env))
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm",
               *TEST_CLUSTER_ARGS, *config, "results=results"]
    workflow = subprocess.Popen(command, cwd=where, env=slurm_env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    run = "data=digits/activation=tanh/init=glorot_uniform/depth=3/width=32/seed=0"
    checkpoint = where / "results" / "smoke" / "resume" / "runs" / run / "checkpoint" / "last.ckpt"
    try:
        wait_for(checkpoint, timeout=240)
        # What pre-emption and a time limit do: SIGTERM to the job's processes, SIGKILL KillWait
        # seconds later.
        running = [job for job, (state, _) in slurm_jobs(slurm_env).items()
                   if job not in before and state == "RUNNING"]
        assert len(running) == 1, running
        subprocess.run(["scancel", running[0]], env=slurm_env, check=True, timeout=30)
        output = workflow.communicate(timeout=240)[0]
    finally:
        if workflow.poll() is None:
            workflow.kill()
    assert workflow.returncode != 0, output[-3000:]
    [log] = (where / "results" / "smoke" / "resume" / "logs" / "train").glob("*.log")  # the one pack's
    stopped_at = checkpoint_step(checkpoint)
    assert f"SIGTERM at step {stopped_at}; checkpoint" in log.read_text()
    assert stopped_at < 3000

    again = snakemake_on_slurm(where, slurm_env, *config, "results=results", timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    # "resuming from <it> (step N)"
    assert f"{checkpoint.relative_to(where)} (step {stopped_at})" in log.read_text()
    assert_same_tables(where / "reference" / "smoke" / "resume" / "runs" / run,
                       where / "results" / "smoke" / "resume" / "runs" / run)
