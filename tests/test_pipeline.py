"""The Snakemake pipeline: every study's DAG at every scale, the smoke study end to end, incremental re-runs.

Each test works on a copy of the workflow (Snakefile, workflow/, conf/) in a temporary folder, so it can
edit a study file and never touches the repository's results/.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import docutils.core
import matplotlib.image as mpimg
import pandas as pd
import pytest
import yaml

from fanin.plan.packing import plan_packs
from fanin.plan.studies import available_studies, expand_study, study_figures
from tests import report_browser
from tests.helpers import (
    PACK_SIZE,
    REPO,
    STUDIES,
    STUDIES_DIR,
    grid_block,
    job_counts,
    skip_or_fail,
    snakemake,
    trained_runs,
    workflow_copy,
)

STUDY_NAMES = available_studies(STUDIES_DIR)

@pytest.fixture(scope="module")
def workflow_dir(tmp_path_factory) -> Path:
    return workflow_copy(tmp_path_factory.mktemp("workflow"))


@pytest.mark.parametrize("study", STUDY_NAMES)
def test_every_study_dry_runs_with_the_expected_jobs(workflow_dir, study):
    # One scale per study: what the Snakefile plans is fanin.plan's run table (each scale's expansion is
    # tested in test_collect without Snakemake).
    scale = "smoke" if study == "smoke" else "quick"
    result = snakemake(workflow_dir, "-n", "--config", f"studies=[{study}]", f"scale={scale}",
                       f"results={workflow_dir / 'dry'}")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    runs = expand_study(STUDIES_DIR, study, scale)
    figures = study_figures(STUDIES_DIR, study)
    assert sorted(trained_runs(result.stdout, study)) == sorted(r.run_id for r in runs)
    assert counts.get("train") == len(plan_packs(runs, PACK_SIZE, slots=2))
    assert counts.get("collect") == 1
    assert counts.get("figure", 0) == len(figures)


def test_he2015_quick_trains_both_inits_at_both_of_the_papers_depths():
    runs = expand_study(STUDIES_DIR, "he2015", "quick")
    assert {(r.axes["depth"], r.axes["init"]) for r in runs} == {
        (22, "he_normal"), (22, "xavier_he_baseline"), (30, "he_normal"), (30, "xavier_he_baseline")}


def test_an_unknown_study_or_scale_is_refused_in_one_line(workflow_dir):
    result = snakemake(workflow_dir, "-n", "--config", "studies=[glorot2011]")
    assert result.returncode != 0
    assert "fanin: unknown study 'glorot2011'; valid: ablation, glorot2010" in result.stdout + result.stderr
    result = snakemake(workflow_dir, "-n", "--config", "scale=huge")
    assert result.returncode != 0
    assert "'huge' is not one of ['smoke', 'quick', 'long', 'paper']" in result.stdout + result.stderr


@pytest.mark.parametrize("studies, expected", [
    ("studies=[]", "should be non-empty"),
    ("studies=glorot2010", "fanin: studies=glorot2010 must be a list; write studies=[glorot2010]"),
])
def test_an_empty_or_bare_study_list_is_refused(workflow_dir, studies, expected):
    result = snakemake(workflow_dir, "-n", "--config", studies)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory) -> Path:
    where = workflow_copy(tmp_path_factory.mktemp("smoke"))
    result = snakemake(where, "--config", "studies=[smoke]", "scale=smoke", "results=results")
    assert result.returncode == 0, result.stderr[-4000:]
    return where


@pytest.mark.slow
def test_the_smoke_study_produces_every_table_and_figure(smoke_results):
    tables = smoke_results / "results" / "smoke" / "smoke" / "tables"
    for name in ("metrics", "layer_stats", "histograms", "jacobian"):
        frame = pd.read_parquet(tables / f"{name}.parquet")
        assert {"data", "activation", "init", "depth", "width", "seed"} <= set(frame.columns)
        assert len(frame) > 0
    summary = pd.read_csv(tables / "summary.csv")
    assert set(summary.level) == {"configuration", "run"}
    # one name per axis: each axis of the run table (the study file's names) is a column of that name
    rows = json.loads((smoke_results / "results" / "smoke" / "smoke" / "run_table.json").read_text())
    axes = {k for row in rows for k in row} - {"run", "block"}
    for frame in (pd.read_parquet(tables / "metrics.parquet"), summary):
        assert axes <= set(frame.columns), sorted(axes - set(frame.columns))
    runs = expand_study(smoke_results / STUDIES, "smoke", "smoke")
    assert (summary.level == "run").sum() == len(runs)
    for figure in study_figures(smoke_results / STUDIES, "smoke"):
        for suffix in (".png", ".pdf"):
            path = smoke_results / "results" / "smoke" / "smoke" / "figures" / f"{figure}{suffix}"
            assert path.stat().st_size > 1000, path
        image = mpimg.imread(smoke_results / "results" / "smoke" / "smoke" / "figures" / f"{figure}.png")
        assert image.shape[0] > 100 and image.shape[1] > 100
        assert image[..., :3].std() > 0.01  # not a blank canvas


@pytest.mark.slow
def test_every_figure_draws_non_empty_axes_from_the_smoke_tables(smoke_results):
    from fanin.figures import figure
    from fanin.figures.common import StudyTables

    tables = StudyTables.load(smoke_results / "results" / "smoke" / "smoke" / "tables")
    for name in study_figures(smoke_results / STUDIES, "smoke"):
        drawn = figure(name)(tables)
        fig = drawn[0] if isinstance(drawn, tuple) else drawn
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert axes, name
        for ax in axes:
            artists = ax.lines + ax.collections + ax.images + ax.patches + ax.tables
            assert artists, f"{name}: an empty axes"


@pytest.mark.slow
def test_rerunning_is_a_no_op(smoke_results):
    result = snakemake(smoke_results, "-n", "--config", "studies=[smoke]", "scale=smoke", "results=results")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
def test_adding_a_seed_reruns_only_the_new_runs_and_what_is_downstream(smoke_results):
    study_file = smoke_results / STUDIES / "smoke.yaml"
    original = study_file.read_text()
    study = yaml.safe_load(original)
    grid_block(study, "table1_mnist")["axes"]["seed"] = [0, 1]
    block = [r for r in expand_study(smoke_results / STUDIES, "smoke", "smoke") if r.block == "table1_mnist"]
    try:
        study_file.write_text(yaml.safe_dump(study, sort_keys=False))
        result = snakemake(smoke_results, "-n", "--config", "studies=[smoke]", "scale=smoke",
                           "results=results")
        new = [r for r in expand_study(smoke_results / STUDIES, "smoke", "smoke") if r.axes["seed"] == 1]
    finally:
        study_file.write_text(original)
    counts = job_counts(result.stdout)
    assert len(new) == len(block)  # one new run per configuration of the block
    assert sorted(trained_runs(result.stdout, "smoke")) == sorted(r.run_id for r in new)
    assert counts["train"] == len(plan_packs(new, PACK_SIZE, slots=2))
    assert counts["collect"] == 1
    assert counts["figure"] == len(study["figures"])


@pytest.mark.slow
def test_a_run_whose_overrides_change_trains_again(smoke_results):
    # Same folder, other numbers: a finished run is the run table's only if it was trained as the table says.
    study_file = smoke_results / STUDIES / "smoke.yaml"
    original = study_file.read_text()
    study = yaml.safe_load(original)
    grid_block(study, "fig1_fig5").setdefault("overrides", {})["optim.momentum"] = 0.5
    try:
        study_file.write_text(yaml.safe_dump(study, sort_keys=False))
        result = snakemake(smoke_results, "-n", "--config", "studies=[smoke]", "scale=smoke",
                           "results=results")
    finally:
        study_file.write_text(original)
    assert trained_runs(result.stdout, "smoke") == [
        "data=shapeset/activation=tanh/init=glorot_uniform/depth=1/width=16/seed=0"]
    assert job_counts(result.stdout)["train"] == 1


@pytest.fixture(scope="module")
def smoke_report(smoke_results) -> Path:
    report = smoke_results / "report.html"
    result = snakemake(smoke_results, "--report", str(report), "--config", "studies=[smoke]", "scale=smoke",
                       "results=results")
    assert result.returncode == 0, result.stderr[-2000:]
    return report


@pytest.mark.slow
def test_the_report_gathers_every_figure_with_its_caption(smoke_results, smoke_report):
    html = smoke_report.read_text(errors="replace")
    for figure in study_figures(smoke_results / STUDIES, "smoke"):
        assert f"{figure}.png" in html, figure


@pytest.mark.slow
def test_the_report_shows_every_figure_and_caption_in_a_real_browser(smoke_results, smoke_report):
    # What a researcher sees: Chromium opens the page, shows each figure (decoded, non-empty) and its caption,
    # rendered from workflow/report/<figure>.rst without an error block, and logs no error.
    browser = browser_or_skip()
    figures = study_figures(smoke_results / STUDIES, "smoke")
    view = browser.read_report(smoke_report, "smoke", figures)
    assert view.errors == []
    assert list(view.figures) == figures
    for name, shown in view.figures.items():
        assert shown.width > 100 and shown.height > 100, (name, shown.width, shown.height)
        assert "system-message" not in shown.caption_html and "problematic" not in shown.caption_html, name
        caption = docutils.core.publish_doctree((REPO / "workflow" / "report" / f"{name}.rst").read_text())
        assert " ".join(shown.caption.split()) == " ".join(caption.astext().split()), name


def browser_or_skip():
    """tests.report_browser where Playwright and a Chromium are installed; elsewhere a skip, except where
    FANIN_REQUIRE_BROWSER=1 (CI, whose .ci/run installs Debian's chromium) makes that a failure."""
    if importlib.util.find_spec("playwright") is None:  # a test dependency: missing only outside `make test`
        reason = "Playwright is not installed (it comes with `pip install -e .[test]`)"
    elif report_browser.find_chromium() is None:
        reason = f"no Chromium found (tried $FANIN_CHROMIUM and {', '.join(report_browser.CHROMIUM_NAMES)})"
    else:
        return report_browser
    skip_or_fail(reason, "FANIN_REQUIRE_BROWSER")


def test_every_figure_of_every_study_has_a_caption():
    for study in STUDY_NAMES:
        for figure in study_figures(STUDIES_DIR, study):
            assert (REPO / "workflow" / "report" / f"{figure}.rst").is_file(), figure


@pytest.mark.parametrize("resources, accelerator, gpu", [((), "cpu", "gpu=0"),
                                                         (("--resources", "gpu=2"), "gpu", "gpu=1")])
def test_runs_are_gpu_jobs_exactly_when_gpus_are_given(workflow_dir, resources, accelerator, gpu):
    result = snakemake(workflow_dir, "-n", "-p", "--workflow-profile", "workflow/profiles/workstation",
                       *resources, "--config", "studies=[he2015]", "scale=smoke",
                       f"results={workflow_dir / 'gpu'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"trainer.accelerator={accelerator}" in result.stdout
    assert f" {gpu}," in result.stdout


def test_slurm_train_partition_sends_the_training_jobs_alone_there(workflow_dir):
    result = snakemake(workflow_dir, "-n", "--config", "studies=[smoke]", "scale=smoke",
                       "slurm_train_partition=gpu", f"results={workflow_dir / 'partition'}")
    assert result.returncode == 0, result.stderr[-2000:]
    # each job's indented block
    jobs = re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", result.stdout, re.M)
    assert jobs and all(("slurm_partition=gpu" in resources) == rule.startswith("train_")
                        for rule, resources in jobs)
    assert any(rule.startswith("train_") for rule, _ in jobs) and any(rule == "collect" for rule, _ in jobs)
