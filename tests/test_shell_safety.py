"""No value from a study file or the pipeline config ever runs as a shell command.

Payloads ($(...), backticks, ;, quotes) are planted in every place a user's string reaches a rule: axis
values and names, figure names, the `results` path, study names. Each is refused at DAG time with one line
naming the key, and nothing runs: the payload would create a file, and none appears.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from fanin.plan.studies import expand_study
from tests.helpers import STUDIES, snakemake, workflow_copy

PAYLOADS = ["$(touch {marker})", "`touch {marker}`", "x; touch {marker}", "x' ; touch {marker} ; '",
            'x" ; touch {marker} ; "']


def smoke_study(where: Path) -> dict:
    return yaml.safe_load((where / STUDIES / "smoke.yaml").read_text())


def write_study(where: Path, study: dict) -> None:
    (where / STUDIES / "smoke.yaml").write_text(yaml.safe_dump(study))


@pytest.fixture
def workflow(tmp_path) -> Path:
    return workflow_copy(tmp_path)


def refused(workflow: Path, *config: str) -> str:
    result = snakemake(workflow, "--config", "studies=[smoke]", "scale=smoke", *config)
    assert result.returncode != 0
    assert not (workflow / "pwned").exists()
    return result.stdout + result.stderr


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_axis_value_with_shell_characters_is_refused_and_never_runs(workflow, payload):
    study = smoke_study(workflow)
    study["grid"][0]["axes"]["seed"] = [payload.format(marker=workflow / "pwned")]
    write_study(workflow, study)
    output = refused(workflow)
    assert "fanin: study smoke grid block 1: axis 'seed' value" in output
    assert "valid: letters, digits and _ . + -" in output


def test_an_axis_name_with_shell_characters_is_refused(workflow):
    study = smoke_study(workflow)
    study["grid"][0]["axes"][f"$(touch {workflow / 'pwned'})"] = 1
    write_study(workflow, study)
    assert "axis name" in refused(workflow)


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_a_figure_name_with_shell_characters_is_refused(workflow, payload):
    study = smoke_study(workflow)
    study["figures"].append(payload.format(marker=workflow / "pwned"))
    write_study(workflow, study)
    assert "fanin: study smoke: figure" in refused(workflow)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_results_path_with_shell_characters_is_refused(workflow, payload):
    output = refused(workflow, f"results={payload.format(marker=workflow / 'pwned')}")
    assert "fanin: results=" in output and "holds shell or quote characters" in output


def test_a_study_name_is_a_name_not_a_path(workflow):
    output = refused(workflow, "studies=[../study/smoke]")
    assert "fanin: unknown study '../study/smoke'; valid:" in output


def test_the_run_folder_reaches_the_shell_quoted(workflow):
    # A dry run prints each pack job's shell line: the shell reads every run folder as one word, = and all.
    result = snakemake(workflow, "-n", "-p", "--config", "studies=[smoke]", "scale=smoke")
    assert result.returncode == 0, result.stderr[-2000:]
    words = [shlex.split(line.partition("Shell command:")[2] or line) for line in result.stdout.splitlines()
             if "-m fanin.train --threads" in line]
    folders = [w[i + 1] for w in words for i, word in enumerate(w) if word == "--run"]
    assert sorted(folders) == sorted(f"results/smoke/smoke/runs/{r.run_id}"
                                     for r in expand_study(workflow / STUDIES, "smoke", "smoke"))
