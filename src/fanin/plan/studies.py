"""Studies: the grids of runs in config/studies/*.yaml, expanded into a run table for one scale.

A study file names its grid (blocks of axes whose values multiply; blocks add up), the Hydra overrides its
runs share, its scales (smoke, quick, long, paper: each may replace axis values and add overrides, for the
whole study or for one block) and the figures it produces. The Snakefile only reads the run table built here.
A study without a `long` scale runs its `quick` one there. Every study file is validated against
workflow/schemas/study.schema.yaml when it is read: a key out of place is refused in one line naming where.

A run's identity is its axis values; its folder under results/<scale>/<study>/runs/ spells them out in a
fixed order, e.g. data=shapeset/activation=tanh/init=glorot_uniform/depth=5/width=1000/seed=0, each axis
under the one name it has everywhere (the study file, the folder, the collected tables' column). The run
table (`run_table`: folder, grid block and typed axis values per run) is written at DAG time, and the
collection joins on it: nothing downstream parses a folder name back.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

SCALES = ("smoke", "quick", "long", "paper")
SCALE_FALLBACK = {"long": "quick"}  # a study without this scale runs that one instead
# axis -> its Hydra override key, in the order a run folder spells them; any other axis is a Hydra key
# itself (init.scale: [1.5, 0.5]). A run folder names every axis as it is named here.
AXES = {
    "data": "data",
    "activation": "model.activation",
    "init": "init",
    "depth": "model.depth",
    "width": "model.width",
    # optional: a list is a learning-rate grid, selected on validation (fanin.collect.selection)
    "lr": "optim.lr",
    "seed": "seed",
}
REQUIRED_AXES = tuple(a for a in AXES if a != "lr")
# parents[3] of src/fanin/plan/studies.py: the repository
STUDY_SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "study.schema.yaml"
# What may name a run folder and reach a rule's shell (pattern, as the error says it): plain words only.
SAFE_VALUE = (r"[A-Za-z0-9_.+-]+", "letters, digits and _ . + -")
SAFE_AXIS_NAME = (r"[A-Za-z0-9_.]+", "letters, digits and _ .")
SAFE_FIGURE_NAME = (r"[a-z0-9_]+", "lower-case letters, digits and _")
SAFE_PATH = (r"[A-Za-z0-9_./+-]+", "a path of letters, digits and _ . / + -")


@dataclass(frozen=True)
class Run:
    study: str
    axes: dict
    overrides: tuple[str, ...]
    resources: dict = field(default_factory=dict, compare=False)
    block: str = field(default="", compare=False)  # the grid block it came from: its name, or block<i>

    @property
    def run_id(self) -> str:
        return run_id(self.axes)

    def row(self) -> dict:
        """The run's row of the run table: folder, block, every axis as the study wrote it (run_id order)."""
        return {"run": self.run_id, "block": self.block, **{a: self.axes[a] for a in ordered_axes(self.axes)}}


def ordered_axes(axes: dict) -> list[str]:
    """The axes in the order a run folder spells them: the known ones in AXES order, the others sorted."""
    return [a for a in AXES if a in axes] + sorted(a for a in axes if a not in AXES)


def run_id(axes: dict) -> str:
    """The run's folder, relative to results/<scale>/<study>/runs: its axes in `ordered_axes` order."""
    return "/".join(f"{a}={axes[a]}" for a in ordered_axes(axes))


def run_table(runs: list[Run]) -> list[dict]:
    """The study's run table, what its collection joins on: one `Run.row` per run, in grid order."""
    return [run.row() for run in runs]


def study_path(studies_dir: Path, name: str) -> Path:
    path = Path(studies_dir) / f"{name}.yaml"
    if name not in available_studies(studies_dir):  # a name, never a path (../studies/smoke)
        valid = ", ".join(available_studies(studies_dir))
        raise ValueError(f"unknown study {name!r}; valid: {valid}")
    return path


def available_studies(studies_dir: Path) -> list[str]:
    return sorted(p.stem for p in Path(studies_dir).glob("*.yaml"))


def load_study(studies_dir: Path, name: str) -> dict:
    """Study `name` of `studies_dir` (config/studies/), validated against STUDY_SCHEMA."""
    study = yaml.safe_load(study_path(studies_dir, name).read_text())
    validator = jsonschema.Draft202012Validator(yaml.safe_load(STUDY_SCHEMA.read_text()))
    error = jsonschema.exceptions.best_match(validator.iter_errors(study))
    if error is not None:
        raise ValueError(schema_message(name, error))
    return study


def schema_message(name: str, error: jsonschema.ValidationError) -> str:
    """One line: the study, where in its file (grid[0].scales.quick), what is wrong and what is valid."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    head = f"study {name}" + (f", {where}" if where else "")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        valid = error.schema.get("properties", {})
        unknown = sorted(set(error.instance) - set(valid))
        return f"{head}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
    if error.validator == "enum" and error.validator_value == list(SCALES):
        return f"{head}: unknown scale {error.instance!r}; valid: {', '.join(SCALES)}"
    return f"{head}: {error.message}"


def format_override(key: str, value) -> str:
    if isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, (list, tuple)):
        value = "[" + ",".join(str(v) for v in value) + "]"
    return f"{key}={value}"


def expand_study(studies_dir: Path, name: str, scale: str) -> list[Run]:
    """Every run of study `name` at `scale`, in grid order; duplicate identities are an error."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid: {', '.join(SCALES)}")
    study = load_study(studies_dir, name)
    scales = study.get("scales") or {}
    if scale not in scales and scale in SCALE_FALLBACK:
        scale = SCALE_FALLBACK[scale]
    study_scale = scales.get(scale) or {}
    runs: dict[str, Run] = {}
    for i, block in enumerate(study.get("grid") or []):
        block_scale = (block.get("scales") or {}).get(scale) or {}
        axes = {**block["axes"],
                **{k: v for k, v in (study_scale.get("axes") or {}).items() if k in block["axes"]},
                **(block_scale.get("axes") or {})}
        missing = [a for a in REQUIRED_AXES if a not in axes]
        if missing:
            raise ValueError(f"study {name} grid block {i + 1}: missing axes {', '.join(missing)}")
        overrides = {**(study.get("overrides") or {}), **(block.get("overrides") or {}),
                     **(study_scale.get("overrides") or {}), **(block_scale.get("overrides") or {})}
        resources = {**(study_scale.get("resources") or {}), **(block_scale.get("resources") or {})}
        for axis, values in axes.items():
            for value in values if isinstance(values, list) else [values]:
                check_safe(axis, f"study {name} grid block {i + 1}: axis name {axis!r}", SAFE_AXIS_NAME)
                check_safe(str(value), f"study {name} grid block {i + 1}: axis {axis!r} value {value!r}")
        names = list(axes)
        for values in itertools.product(*(v if isinstance(v, list) else [v] for v in axes.values())):
            point = dict(zip(names, values, strict=True))
            axis_overrides = [format_override(AXES.get(a, a), v) for a, v in point.items()]
            run = Run(name, point,
                      tuple(axis_overrides + [format_override(k, v) for k, v in overrides.items()]),
                      resources, block.get("name") or f"block{i + 1}")
            if run.run_id in runs and runs[run.run_id] != run:
                raise ValueError(f"study {name}: run {run.run_id} appears twice with different overrides")
            runs[run.run_id] = run
    if not runs:
        raise ValueError(f"study {name} has no runs at scale {scale}")
    return list(runs.values())


def check_safe(text: str, where: str, allow: tuple[str, str] = SAFE_VALUE) -> None:
    """Refuse what could not be a plain folder or shell word (a quote, $, `, ;, a space ...)."""
    pattern, valid = allow
    if not re.fullmatch(pattern, text):
        raise ValueError(f"{where} holds shell or quote characters; valid: {valid}")


def study_figures(studies_dir: Path, name: str) -> list[str]:
    figures = list(load_study(studies_dir, name).get("figures") or [])
    for figure in figures:
        check_safe(str(figure), f"study {name}: figure {figure!r}", SAFE_FIGURE_NAME)
    return figures
