"""The data contract between stages: the tables every run writes, and their columns (DESIGN.md)."""

STAT_COLUMNS = ("mean", "std", "p2", "p98", "abs_p98", "frac_saturated")
QUANTITIES = ("preact", "act", "backprop", "weight_grad")

RUN_TABLES = {
    "metrics": ("step", "epoch", "split", "loss", "error"),
    "layer_stats": ("step", "layer", "quantity", *STAT_COLUMNS),
    "histograms": ("step", "layer", "quantity", "bin_left", "bin_right", "count"),
    "jacobian": ("step", "layer", "sv_mean", "sv_min", "sv_max"),
}
TABLES = tuple(RUN_TABLES)

# Written only by runs on 2-D inputs (toy2d), at the last step: for decision-boundary pictures.
OPTIONAL_TABLES = {"boundary": ("step", "kind", "x1", "x2", "p1", "label")}
