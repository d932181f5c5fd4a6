"""What every figure shares: reading a study's tables, the look, and atomic PDF + PNG output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display is assumed anywhere

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from fanin.contract import OPTIONAL_TABLES, TABLES  # noqa: E402
from fanin.io import atomic_write  # noqa: E402

# Readable names for the legends, as the papers write them.
INIT_LABELS = {
    "standard": "standard U(±1/√n)",
    "glorot_uniform": "normalized (Glorot)",
    "xavier_he_baseline": "Xavier N(0, 1/n)",
    "he_normal": "He N(0, 2/n)",
    "zeros": "zero",
    "too_small": "too small",
    "too_large": "too large",
    "standard_normal": "standard normal",
}


@dataclass
class StudyTables:
    """A study's collected tables (results/<study>/tables/): one column per run axis, then the
    run's columns."""

    metrics: pd.DataFrame
    layer_stats: pd.DataFrame
    histograms: pd.DataFrame
    jacobian: pd.DataFrame
    summary: pd.DataFrame
    signal: pd.DataFrame | None = None  # written by every run, empty where no run measures it
    # the optional tables (fanin.contract.OPTIONAL_TABLES): None where the study has none
    boundary: pd.DataFrame | None = None
    examples: pd.DataFrame | None = None
    cost_surface: pd.DataFrame | None = None
    spectrum: pd.DataFrame | None = None

    @classmethod
    def load(cls, tables_dir: str | Path) -> StudyTables:
        tables_dir = Path(tables_dir)
        frames = {name: pd.read_parquet(tables_dir / f"{name}.parquet") for name in TABLES}
        for name in OPTIONAL_TABLES:
            path = tables_dir / f"{name}.parquet"
            frame = pd.read_parquet(path) if path.exists() else None
            frames[name] = frame if frame is not None and len(frame) else None
        return cls(**frames, summary=pd.read_csv(tables_dir / "summary.csv"))


def select(frame: pd.DataFrame, **axes) -> pd.DataFrame:
    """Rows whose axis columns equal the given values (a list means any of them)."""
    mask = pd.Series(True, index=frame.index)
    for key, value in axes.items():
        mask &= frame[key].isin(value) if isinstance(value, (list, tuple, set)) else frame[key] == value
    return frame[mask]


def selected_runs(frame: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """Rows of `frame` from runs whose learning rate the validation set selected (summary.csv's `selected`).

    Rows are matched on the axis columns the two tables share; with one learning rate per configuration
    every run is selected and `frame` comes back whole.
    """
    runs = summary[(summary.level == "run") & summary.selected.astype(bool)]
    keys = [c for c in frame.columns if c in runs.columns]
    return frame[frame.set_index(keys).index.isin(runs.set_index(keys).index)]


def require(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """A figure with nothing to draw is an error naming what was missing, never a blank picture."""
    if frame.empty:
        raise ValueError(f"no rows for {what} in the study tables; does the study's grid include these runs?")
    return frame


def init_label(name: str) -> str:
    return INIT_LABELS.get(name, name)


def style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)


def save_figure(fig: plt.Figure, out_stem: str | Path) -> list[Path]:
    """Write `<out_stem>.pdf` and `<out_stem>.png`, each atomically, and close the figure."""
    out_stem = Path(out_stem)
    paths = []
    for suffix, kwargs in ((".pdf", {}), (".png", {"dpi": 150})):
        path = out_stem.with_suffix(suffix)
        atomic_write(path, lambda tmp, kw=kwargs, s=suffix:
                     fig.savefig(tmp, format=s[1:], bbox_inches="tight", **kw))
        paths.append(path)
    plt.close(fig)
    return paths
