"""environment.yml parses and agrees with pyproject.toml; CI's versions are pinned in constraints.txt."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
ENVIRONMENT = yaml.safe_load((REPO / "environment.yml").read_text())
CONSTRAINTS = dict(line.split("==", 1) for line in (REPO / "constraints.txt").read_text().split()
                   if "==" in line)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_section() -> list[str]:
    return next(d["pip"] for d in ENVIRONMENT["dependencies"] if isinstance(d, dict))


def test_environment_uses_the_python_pyproject_requires():
    python = next(d for d in ENVIRONMENT["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python == "python=3.11" and PYPROJECT["project"]["requires-python"] == ">=3.11"


def test_environment_installs_the_package_with_the_pinned_torch_first():
    pip = pip_section()
    assert pip[0] == f"torch=={CONSTRAINTS['torch']}"
    assert "-e .[test]" in pip and "-c constraints.txt" in pip


def test_every_dependency_of_the_package_is_pinned_for_ci():
    pinned = {normalise(name) for name in CONSTRAINTS}
    for requirement in (PYPROJECT["project"]["dependencies"]
                        + PYPROJECT["project"]["optional-dependencies"]["test"]):
        name = normalise(re.split(r"[<>=!~\[ ]", requirement)[0])
        assert name in pinned, f"{name} is a dependency but constraints.txt does not pin it"


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert CONSTRAINTS["torch"] == "2.13.0"


def test_the_design_card_packages_are_dependencies():
    names = {normalise(re.split(r"[<>=!~\[ ]", r)[0]) for r in PYPROJECT["project"]["dependencies"]}
    assert {"snakemake", "lightning", "hydra-core", "pandas", "seaborn", "wandb"} <= names
