"""The learning-rate protocol of Glorot & Bengio (Sec. 3): per model, the lr with the lowest
validation error."""

from __future__ import annotations

import pandas as pd

from fanin.collect.selection import select_learning_rates

CONFIG = ["activation", "init", "lr"]


def runs(rows):
    return pd.DataFrame(rows, columns=["activation", "init", "lr", "seed", "final_valid_error",
                                       "final_test_error", "status"])


def chosen(frame):
    picked = frame[select_learning_rates(frame, CONFIG)]
    return sorted(set(zip(picked.activation, picked.init, picked.lr, strict=True)))


def grid():
    return runs([
        ("tanh", "standard", 0.1, 0, 0.80, 0.10, "completed"),
        ("tanh", "standard", 0.1, 1, 0.84, 0.10, "completed"),
        ("tanh", "standard", 0.01, 0, 0.75, 0.90, "completed"),
        ("tanh", "standard", 0.01, 1, 0.77, 0.90, "completed"),
        ("tanh", "glorot_uniform", 0.1, 0, 0.40, 0.5, "completed"),
        ("tanh", "glorot_uniform", 0.01, 0, 0.60, 0.3, "completed"),
    ])


def test_each_model_gets_the_lr_with_the_lowest_mean_validation_error():
    assert chosen(grid()) == [("tanh", "glorot_uniform", 0.1), ("tanh", "standard", 0.01)]


def test_test_error_never_chooses():
    frame = grid()
    frame["final_test_error"] = frame.final_test_error[::-1].to_numpy()
    assert chosen(frame) == chosen(grid())


def test_every_seed_of_the_selected_lr_is_selected():
    frame = grid()
    picked = frame[select_learning_rates(frame, CONFIG)]
    assert sorted(picked[picked.init == "standard"].seed) == [0, 1]


def test_a_diverged_lr_is_not_eligible_unless_all_diverged():
    frame = grid()
    frame.loc[(frame.init == "glorot_uniform") & (frame.lr == 0.1), "status"] = "diverged"
    assert ("tanh", "glorot_uniform", 0.01) in chosen(frame)
    frame.loc[frame.init == "glorot_uniform", "status"] = "diverged"
    assert ("tanh", "glorot_uniform", 0.1) in chosen(frame)


def test_ties_go_to_the_smaller_lr():
    frame = runs([("tanh", "standard", 0.1, 0, 0.5, 0.5, "completed"), ("tanh", "standard", 0.03, 0, 0.5, 0.5,
                                                                          "completed")])
    assert chosen(frame) == [("tanh", "standard", 0.03)]


def test_one_lr_per_model_is_always_selected():
    frame = runs([("tanh", "standard", 0.1, 0, 0.9, 0.9, "completed"),
                  ("sigmoid", "standard", 0.1, 0, 0.8, 0.8, "diverged")])
    assert select_learning_rates(frame, CONFIG).all()
