"""Which runs the pipeline trains together, and when a finished run folder is the run the table asks for."""

from __future__ import annotations

import json

import pytest

from fanin.contract import TABLES
from fanin.plan.identity import identity_overrides, is_complete
from fanin.plan.packing import even_chunks, pack_key, pack_resources, plan_packs, read_plan, write_plan
from fanin.plan.studies import expand_study
from tests.helpers import STUDIES_DIR

ABLATION = expand_study(STUDIES_DIR, "ablation", "quick")
GLOROT = expand_study(STUDIES_DIR, "glorot2010", "quick")


@pytest.mark.parametrize("runs", [ABLATION, GLOROT], ids=["ablation", "glorot2010"])
@pytest.mark.parametrize("max_size, slots", [(1, 1), (8, 1), (8, 2), (3, 16), (100, 4)])
def test_every_run_is_in_exactly_one_pack_of_one_shape(runs, max_size, slots):
    packs = plan_packs(runs, max_size, slots)
    assert sorted(r.run_id for p in packs for r in p) == sorted(r.run_id for r in runs)
    assert all(1 <= len(p) <= max_size for p in packs)
    assert all(len({pack_key(r) for r in p}) == 1 for p in packs)
    assert len(packs) >= min(len(runs), slots)


def test_a_pack_holds_runs_that_differ_only_in_seed_init_optimizer_and_activation():
    packs = plan_packs(ABLATION, 100)
    shapes = {(r.axes["depth"], r.axes["width"], r.axes["data"]) for r in ABLATION}
    assert len(packs) == len(shapes)  # the ablation grid's inits and activations all share each shape
    assert {r.axes["activation"] for r in packs[0]} == {r.axes["activation"] for r in ABLATION}


def test_the_glorot2010_shapeset_models_share_one_pack_and_their_learning_rates_stay_their_own():
    shapeset5 = [r for r in GLOROT if r.axes["data"] == "shapeset" and r.axes["depth"] == 5]
    [pack] = [p for p in plan_packs(GLOROT, 8) if shapeset5[0] in p]
    assert pack == shapeset5 and len({r.axes["lr"] for r in pack}) == 2


def test_packs_are_cut_evenly_and_halved_to_fill_the_slots():
    assert [len(c) for c in even_chunks(list(range(10)), 3)] == [4, 3, 3]
    runs = [r for r in ABLATION if r.axes["depth"] == ABLATION[0].axes["depth"]][:7]
    assert [len(p) for p in plan_packs(runs, 8, slots=1)] == [7]
    assert [len(p) for p in plan_packs(runs, 8, slots=2)] == [2, 2, 3]  # 4 of 7 is more than half the work
    assert [len(p) for p in plan_packs(runs, 4, slots=1)] == [4, 3]
    assert len(plan_packs(runs[:2], 8, slots=16)) == 2  # never more packs than runs


@pytest.mark.parametrize("size", [0, -1, 2.5, True, "8"])
def test_a_pack_size_that_is_not_a_positive_integer_is_refused_in_one_line(size):
    with pytest.raises(ValueError, match=r"pack_size=.* is out of range; valid: an integer >= 1"):
        plan_packs(ABLATION, size)


def test_a_pack_asks_for_the_sum_of_its_runtimes_on_a_cpu_and_the_longest_on_a_gpu():
    pack = plan_packs(GLOROT, 8)[0]
    each = [r.resources["runtime"] for r in pack]
    assert pack_resources(pack, on_gpu=False)["runtime"] == sum(each)
    assert pack_resources(pack, on_gpu=True)["runtime"] == max(each)
    assert max(r.resources["mem_mb"] for r in pack) < pack_resources(pack, False)["mem_mb"] < sum(
        r.resources["mem_mb"] for r in pack)


def finished_run(folder, overrides) -> None:
    folder.mkdir(parents=True)
    (folder / "provenance.json").write_text(json.dumps({"overrides": identity_overrides(overrides)}))
    (folder / "summary.json").write_text("{}")
    for table in TABLES:
        (folder / f"{table}.parquet").write_bytes(b"")


def test_a_finished_run_is_complete_only_for_the_overrides_it_was_trained_with(tmp_path):
    asked = ["init=standard", "seed=0", "trainer.max_steps=100"]
    finished_run(tmp_path / "run", [*asked, "threads=2", "trainer.accelerator=gpu", "study_name=x"])
    # where it ran is not what it is
    assert is_complete(tmp_path / "run", [*asked, "trainer.accelerator=cpu"])
    assert is_complete(tmp_path / "run", list(reversed(asked)))
    assert not is_complete(tmp_path / "run", ["init=standard", "seed=0", "trainer.max_steps=200"])
    assert not is_complete(tmp_path / "run", [*asked, "logger=wandb"])  # asked for W&B logs it does not have
    (tmp_path / "run" / "signal.parquet").unlink()  # a run from before the contract had that table
    assert not is_complete(tmp_path / "run", asked)
    (tmp_path / "run" / "summary.json").unlink()
    assert not is_complete(tmp_path / "run", asked)


def test_a_folder_without_readable_provenance_is_not_complete(tmp_path):
    finished_run(tmp_path / "run", ["seed=0"])
    (tmp_path / "run" / "provenance.json").write_text("{not json")
    assert not is_complete(tmp_path / "run", ["seed=0"])
    assert not is_complete(tmp_path / "missing", ["seed=0"])


def test_the_plan_a_workflow_starts_with_is_read_back_as_the_same_packs(tmp_path):
    packs = plan_packs(GLOROT + ABLATION, 8, slots=2)
    write_plan(tmp_path / "packs.json", packs)
    assert read_plan(tmp_path / "packs.json", {"glorot2010": {r.run_id: r for r in GLOROT},
                                               "ablation": {r.run_id: r for r in ABLATION}}) == packs
    with pytest.raises(ValueError, match="no longer matches the run table"):
        read_plan(tmp_path / "packs.json", {"glorot2010": {r.run_id: r for r in GLOROT}})
    with pytest.raises(ValueError, match="packs.json that the workflow wrote when it started is missing"):
        read_plan(tmp_path / "missing" / "packs.json", {})
