"""Which runs train together in one process: the run table's pending runs grouped into packs.

Runs may share a pack (fanin.train.pack) when their configs differ only in what a pack lets differ per run,
PER_RUN_KEYS: seed, init, the optimizer's settings, the activation, the logger. At DAG time the pipeline knows
the runs by their overrides, so it groups runs whose overrides agree once the per-run ones are set aside;
fanin.train.run.check_packable checks the resolved configs again in the job. A group is cut into packs of at
most `max_size` runs, of nearly equal size. With `slots` jobs able to run at once (`--cores N`), packs are
then halved until there are at least `slots` of them and none costs more than a slot's share of the whole
(`work`: a run's multiply-adds, roughly). The pipeline starts the costliest packs first; longest-first
scheduling ends within the ideal share plus the longest job, so no core is left alone with a long pack.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from fanin.io import write_json
from fanin.plan.identity import override_key
from fanin.plan.studies import Run

# Dotted keys reach into a group: model.activation may differ, model.depth may not.
PER_RUN_KEYS = frozenset({"seed", "init", "optim", "logger", "study_name", "run_name", "model.activation",
                          "model.negative_slope", "model.prelu_init"})
DEFAULT_RESOURCES = {"mem_mb": 2000, "runtime": 30}
# What each run beyond the first adds to a pack's memory: its weights, optimizer state and measurements; the
# interpreter, torch and the data set are shared. Measured peak RSS of glorot2010's quick 5 x 1000 Shapeset
# packs: 1.2 GB for 3 runs, 1.6 GB for 5, about 0.2 GB per run beyond the first (their study declares
# 3000 MB).
EXTRA_RUN_MEM_FRACTION = 0.25


def is_per_run(key: str) -> bool:
    return any(key == p or key.startswith(p + ".") for p in PER_RUN_KEYS)


def pack_key(run: Run) -> tuple[str, ...]:
    """The overrides that must be equal for runs to share a pack."""
    return tuple(sorted(o for o in run.overrides if not is_per_run(override_key(o))))


def pack_id(run_ids: list[str]) -> str:
    """A name for a pack that depends only on its members' run ids, in order (its log is named after it)."""
    return hashlib.sha256("\n".join(run_ids).encode()).hexdigest()[:10]


def even_chunks(runs: list[Run], n: int) -> list[list[Run]]:
    """`runs` cut in order into n chunks whose sizes differ by at most one."""
    size, extra = divmod(len(runs), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        chunks.append(runs[start:end])
        start = end
    return chunks


def override(run: Run, key: str, default: float) -> float:
    prefix = key + "="
    return next((float(o[len(prefix):]) for o in run.overrides if o.startswith(prefix)), default)


def work(run: Run) -> float:
    """A rough count of the multiply-adds of a run's training, steps x batch x depth x width^2 (its hidden
    layers; the input layer, evaluation and probes are left out), from its axes and overrides; steps or a
    batch size it leaves to conf/ count as 1. Only compared between runs, to balance packs: a declared
    `runtime` is a scheduler's time limit, too coarse for that (a minute at least, for runs of seconds)."""
    return (override(run, "trainer.max_steps", 1) * override(run, "data.batch_size", 1)
            * int(run.axes["depth"]) * int(run.axes["width"]) ** 2)


def cost(runs: list[Run]) -> float:
    """What the runs cost together on one core: their work, one after another."""
    return sum(map(work, runs))


def plan_packs(runs: list[Run], max_size: int, slots: int = 1) -> list[list[Run]]:
    """Every run in exactly one pack of one study, packs in run-table order; at most `max_size` runs in a
    pack; at least min(len(runs), slots) packs, and with slots > 1 none costlier than 1/slots of them all."""
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ValueError(f"pack_size={max_size!r} is out of range; "
                         "valid: an integer >= 1 (1: every run alone)")
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.study, pack_key(run)), []).append(run)
    packs = [chunk for members in groups.values()
             for chunk in even_chunks(members, math.ceil(len(members) / max_size))]
    share = cost(runs) / slots if slots > 1 else math.inf
    while True:
        splittable = [i for i, p in enumerate(packs)
                      if len(p) > 1 and (len(packs) < slots or cost(p) > share)]
        if not splittable:
            return packs
        costliest = max(splittable, key=lambda i: (cost(packs[i]), len(packs[i])))  # the first of them
        packs[costliest:costliest + 1] = even_chunks(packs[costliest], 2)


def pack_resources(runs: list[Run], on_gpu: bool) -> dict[str, int]:
    """What a pack's job asks the scheduler for. Runtime: on a CPU the runs' steps take turns on the same
    cores, so their runtimes add up; on a GPU one batched kernel serves them all, so the longest bounds it.
    Memory: the largest run's, plus EXTRA_RUN_MEM_FRACTION of it for each other run."""
    mem = [r.resources.get("mem_mb", DEFAULT_RESOURCES["mem_mb"]) for r in runs]
    runtime = [r.resources.get("runtime", DEFAULT_RESOURCES["runtime"]) for r in runs]
    return {"mem_mb": math.ceil(max(mem) * (1 + EXTRA_RUN_MEM_FRACTION * (len(runs) - 1))),
            "runtime": max(runtime) if on_gpu else sum(runtime)}


def write_plan(path: str | Path, packs: list[list[Run]]) -> None:
    """The packs a workflow trains, as [[study, run id], ...] per pack, written atomically: the jobs a cluster
    runs read the Snakefile again, when other runs may have finished, and must find the same packs."""
    write_json([[[r.study, r.run_id] for r in pack] for pack in packs], path)


def read_plan(path: str | Path, runs: dict[str, dict[str, Run]]) -> list[list[Run]]:
    """The packs `write_plan` wrote, as runs of the run table `runs` (study -> run id -> Run)."""
    try:
        plan = json.loads(Path(path).read_text())
        return [[runs[study][run_id] for study, run_id in pack] for pack in plan]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"the pack plan {path} that the workflow wrote when it started is missing "
                         f"or no longer matches the run table ({error!r}); "
                         "valid: start the workflow again") from None
