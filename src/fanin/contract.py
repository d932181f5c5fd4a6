"""The data contract between stages: the tables every run writes, and their columns."""

STAT_COLUMNS = ("mean", "std", "p2", "p98", "abs_p98", "frac_saturated")
QUANTITIES = ("preact", "act", "backprop", "weight_grad")

RUN_TABLES = {
    "metrics": ("step", "epoch", "split", "loss", "error"),
    "layer_stats": ("step", "layer", "quantity", *STAT_COLUMNS),
    "histograms": ("step", "layer", "quantity", "bin_left", "bin_right", "count"),
    "jacobian": ("step", "layer", "sv_mean", "sv_min", "sv_max"),
    # at the Jacobian steps: each hidden layer's length and χ₁, measured and mean-field (fanin.probes.signal)
    "signal": ("step", "layer", "q", "sigma_w2", "sigma_b2", "q_map", "q_theory", "chi1", "chi1_theory"),
}
TABLES = tuple(RUN_TABLES)

# Written only by some runs, for one figure each: decision boundaries of runs on 2-D inputs (toy2d, last
# step); a few test images (probe.examples > 0, Glorot & Bengio's Fig 1); the cost over two weights of a
# one-hidden-layer net (probe.cost_surface, their Fig 5, last step).
OPTIONAL_TABLES = {
    "boundary": ("step", "kind", "x1", "x2", "p1", "label"),
    "examples": ("example", "label", "class_name", "row", "col", "value"),
    "cost_surface": ("step", "cost", "w1", "w2", "value", "w1_now", "w2_now", "unit", "input",
                     "output_class"),
    # probe.spectrum: every singular value of ∂s^l/∂s^1 at a few layers (Pennington et al.'s Fig 1, last step)
    "spectrum": ("step", "layer", "example", "index", "singular_value"),
}
