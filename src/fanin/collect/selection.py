"""The papers' learning-rate protocol: per model, the learning rate with the lowest validation error.

Glorot & Bengio (2010, Sec. 3) "search for the best hyperparameters (learning rate and depth) separately for
each model", on the validation set, after a large number of updates. The rule here, one function: among the
runs of one configuration (the same data, activation, init, depth, width and other axes, differing only in
learning rate and seed), the learning rate whose runs have the lowest mean final validation error over seeds
is selected. A learning rate with a diverged seed is not eligible unless every one diverged; ties go to the
smaller learning rate. Test error never enters: figures and Table 1 then report the selected runs' test error.
"""

from __future__ import annotations

import pandas as pd

LR = "lr"


def select_learning_rates(runs: pd.DataFrame, configuration: list[str]) -> pd.Series:
    """Per run row of `runs` (columns `configuration`, `lr`, `final_valid_error`, `status`): is its
    lr selected?"""
    if runs.empty:
        return pd.Series(dtype=bool, index=runs.index)
    keys = [c for c in configuration if c != LR]
    per_lr = runs.groupby([*keys, LR], dropna=False, sort=True).agg(
        valid=("final_valid_error", "mean"), diverged=("status", lambda s: bool((s == "diverged").any())))
    per_lr = per_lr.reset_index()
    all_diverged = per_lr.groupby(keys, dropna=False).diverged.transform("all")
    ranked = per_lr[~per_lr.diverged | all_diverged].sort_values([*keys, "valid", LR], na_position="last")
    chosen = ranked.groupby(keys, dropna=False).head(1)[[*keys, LR]].assign(_selected=True)
    merged = runs[[*keys, LR]].merge(chosen, on=[*keys, LR], how="left")
    return pd.Series(merged["_selected"].fillna(False).astype(bool).to_numpy(), index=runs.index,
                     name="selected")
