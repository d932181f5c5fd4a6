"""The figure vocabulary (fanin.figures.common): each run's last value, the seed mean, a curve that stays
below a threshold, one colour per init, the numbers box, the step axis: on tiny tables."""

from __future__ import annotations

import math

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns

from fanin.figures import common
from fanin.figures.common import (
    CORNERS,
    INIT_PALETTE,
    first_step_staying_below,
    hue_by_init,
    last_per_run,
    last_rows,
    numbers_box,
    run_axes,
    seed_mean,
    step_axis,
)
from fanin.plan.studies import expand_study
from tests.helpers import STUDIES_DIR


def metrics(runs: dict[tuple, list[tuple[int, float]]], extra: dict | None = None) -> pd.DataFrame:
    """Test-split metrics rows: runs[(init, seed)] = [(step, error), ...], in the order given."""
    rows = [{"init": init, "seed": seed, **(extra or {}).get((init, seed), {}), "step": step,
             "epoch": step / 10, "split": "test", "loss": 1.0, "error": error}
            for (init, seed), points in runs.items() for step, error in points]
    return pd.DataFrame(rows)


# --- each run's last value --------------------------------------------------------------------------------


def test_run_axes_are_the_columns_that_are_not_the_tables_own():
    assert run_axes(metrics({("he_normal", 0): [(0, 0.9)]}), "metrics") == ["init", "seed"]
    boundary = pd.DataFrame(columns=["data", "init", "step", "kind", "x1", "x2", "p1", "label"])
    assert run_axes(boundary, "boundary") == ["data", "init"]


def test_last_per_run_takes_each_runs_last_step_then_the_seed_mean():
    frame = metrics({("he_normal", 0): [(10, 0.3), (0, 0.9), (5, 0.5)],  # rows out of step order
                     ("he_normal", 1): [(0, 0.9), (10, 0.1)],
                     ("xavier_he_baseline", 0): [(0, 0.9), (20, 0.8)]})  # a run with a later last step
    last = last_rows(frame)
    assert sorted(zip(last.init, last.seed, last.step, strict=True)) == [
        ("he_normal", 0, 10), ("he_normal", 1, 10), ("xavier_he_baseline", 0, 20)]
    final = last_per_run(frame, "error")
    assert list(final.index) == ["he_normal", "xavier_he_baseline"]  # first appearance
    assert final.to_dict() == pytest.approx({"he_normal": 0.2, "xavier_he_baseline": 0.8})
    by_run = last_per_run(frame, "error", by=["init", "seed"])
    assert by_run[("he_normal", 0)] == pytest.approx(0.3)


def test_a_run_axis_only_some_runs_have_still_tells_runs_apart():
    # like init.scale: NaN for the runs without it; groupby would drop them without dropna=False
    frame = metrics({("scaled_identity", 0): [(0, 0.9), (10, 0.2)], ("zeros", 0): [(0, 0.9), (10, 0.9)]},
                    extra={("scaled_identity", 0): {"init.scale": 1.5}, ("zeros", 0): {"init.scale": np.nan}})
    assert len(last_rows(frame)) == 2
    assert last_per_run(frame, "error").to_dict() == pytest.approx({"scaled_identity": 0.2, "zeros": 0.9})


def test_seed_mean_gives_mean_sd_and_the_number_of_runs():
    frame = metrics({("he_normal", 0): [(0, 0.8), (10, 0.2)], ("he_normal", 1): [(0, 1.0), (10, 0.4)]})
    curves = seed_mean(frame, "error", by=["init", "step"])
    assert list(curves.columns) == ["init", "step", "error_mean", "error_std", "runs"]
    assert curves.error_mean.tolist() == pytest.approx([0.9, 0.3])
    assert curves.error_std.tolist() == pytest.approx([math.sqrt(0.02)] * 2)
    assert curves.runs.tolist() == [2, 2]
    both = seed_mean(frame, ["error", "loss"], by=["step"])
    assert {"error_mean", "loss_mean", "loss_std"} <= set(both.columns)


# --- a curve staying below a threshold -------------------------------------------------------------------


def curve(*values: float, steps=None) -> pd.Series:
    return pd.Series(values, index=steps if steps is not None else [10 * i for i in range(len(values))])


def test_first_step_staying_below_is_where_the_curve_stays_below_for_good():
    assert first_step_staying_below(curve(0.9, 0.6, 0.4, 0.3), 0.5) == 20.0
    assert first_step_staying_below(curve(0.4, 0.3), 0.5) == 0.0  # below from the start


def test_a_curve_that_dips_below_then_rises_is_not_staying_below():
    assert first_step_staying_below(curve(0.9, 0.1, 0.9, 0.9), 0.5) == math.inf  # a noisy early dip
    assert first_step_staying_below(curve(0.9, 0.1, 0.9, 0.4, 0.2), 0.5) == 30.0  # the last crossing counts
    assert first_step_staying_below(curve(0.9, 0.4, 0.6), 0.5) == math.inf  # ends above


def test_the_threshold_itself_and_nan():
    assert first_step_staying_below(curve(0.9, 0.5, 0.5), 0.5) == math.inf
    assert first_step_staying_below(curve(0.9, 0.5, 0.5), 0.5, or_equal=True) == 10.0
    assert first_step_staying_below(curve(0.9, 0.2, math.nan), 0.5) == math.inf  # diverged: never below
    assert first_step_staying_below(curve(), 0.5) == math.inf


def test_the_curve_is_read_in_step_order():
    assert first_step_staying_below(curve(0.2, 0.9, 0.3, steps=[20, 0, 10]), 0.5) == 10.0


# --- one colour per init -----------------------------------------------------------------------------------


def test_every_registered_init_and_every_init_of_a_study_has_its_own_colour():
    from fanin.inits import INIT_SCHEMES

    studies = [p.stem for p in STUDIES_DIR.glob("*.yaml")]
    used = {run.axes["init"] for study in studies for scale in ("smoke", "quick", "paper")
            for run in expand_study(STUDIES_DIR, study, scale)}
    assert set(INIT_SCHEMES) <= set(INIT_PALETTE) and used <= set(INIT_PALETTE), (
        sorted(set(INIT_SCHEMES) - set(INIT_PALETTE)), sorted(used - set(INIT_PALETTE)))
    colours = [mcolors.to_hex(c) for c in INIT_PALETTE.values()]
    assert len(set(colours)) == len(colours)


def test_the_colours_the_captions_name():
    # workflow/report/he2015_*.rst: Xavier blue, He red; schoenholz2017_isometry.rst: Gaussian blue and
    # orthogonal red (another blue and red: one colour per init)
    blue, red = mcolors.to_rgb("tab:blue"), mcolors.to_rgb("tab:red")
    assert INIT_PALETTE["xavier_he_baseline"] == "tab:blue" and INIT_PALETTE["he_normal"] == "tab:red"
    for name, hue in (("mean_field_normal", blue), ("mean_field_orthogonal", red)):
        rgb = np.array(mcolors.to_rgb(INIT_PALETTE[name]))
        assert int(np.argmax(rgb)) == int(np.argmax(hue)), name


def test_hue_by_init_colours_seaborn_lines_with_the_palette_and_labels_them():
    frame = metrics({("he_normal", 0): [(0, 0.9), (10, 0.2)], ("glorot_uniform", 0): [(0, 0.9), (10, 0.5)],
                     ("xavier_he_baseline", 0): [(0, 0.9), (10, 0.8)]})
    hue = hue_by_init(frame, order=("xavier_he_baseline", "he_normal"), labels={"he_normal": "He"})
    assert hue["hue_order"] == ["Xavier N(0, 1/n)", "He"]  # the order given; glorot_uniform is not in it
    fig, ax = plt.subplots()
    sns.lineplot(frame, x="step", y="error", **hue, ax=ax)
    drawn = {line.get_color() for line in ax.get_lines() if len(line.get_xdata())}
    assert drawn == {"tab:blue", "tab:red"}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Xavier N(0, 1/n)", "He"]
    assert set(frame["init"]) == {"he_normal", "xavier_he_baseline", "glorot_uniform"}  # rows untouched
    plt.close(fig)


# --- the numbers box and the step axis --------------------------------------------------------------------


@pytest.mark.parametrize("loc", list(CORNERS))
def test_numbers_box_sits_at_a_named_corner(loc):
    fig, ax = plt.subplots()
    text = numbers_box(ax, ["final error:", "  He: 0.110"], loc=loc)
    assert text in ax.texts and text.get_text() == "final error:\n  He: 0.110"
    assert text.get_position() == CORNERS[loc][:2] and text.get_transform() == ax.transAxes
    assert text.get_bbox_patch() is not None
    plt.close(fig)


def test_step_axis_is_symlog_from_zero_or_linear():
    fig, (log, linear) = plt.subplots(1, 2)
    log.plot([0, 1, 10, 1000], [1, 2, 3, 4])
    step_axis(log)
    assert log.get_xscale() == "symlog" and log.get_xlim()[0] == 0 and "symlog" in log.get_xlabel()
    linear.plot([0, 5], [1, 2])
    step_axis(linear, log=False, label="epoch")
    assert linear.get_xscale() == "linear" and linear.get_xlabel() == "epoch"
    plt.close(fig)


def test_the_old_names_still_work():
    for name in ("StudyTables", "select", "selected_runs", "require", "init_label", "INIT_LABELS", "style",
                 "save_figure"):
        assert hasattr(common, name), name
    assert common.init_label("he_normal") == "He N(0, 2/n)" and common.init_label("lsuv") == "lsuv"
