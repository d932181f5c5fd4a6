"""fanin: weight-initialization ablation studies, from one measured run to the papers' figures."""

__version__ = "0.1.0"
