"""The papers' figures, each drawn from a study's tables alone (never from a run or a model).

A figure is a function `draw(tables: StudyTables) -> matplotlib Figure` registered under the name of its
file (`glorot2010_fig6_activation_hist`); `python -m fanin.figures NAME --tables DIR --out STEM` writes
STEM.pdf and STEM.png. Modules are imported lazily by name prefix, so drawing one figure loads one module.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

FIGURES: dict[str, Callable] = {}
MODULES = ("glorot2010", "he2015", "katanforoosh2019", "ablation", "schoenholz2017")


def register(name: str) -> Callable[[Callable], Callable]:
    def decorate(draw: Callable) -> Callable:
        FIGURES[name] = draw
        return draw

    return decorate


def load_all() -> dict[str, Callable]:
    for module in MODULES:
        import_module(f"fanin.figures.{module}")
    return FIGURES


def figure(name: str) -> Callable:
    prefix = name.split("_", 1)[0]
    if prefix in MODULES:
        import_module(f"fanin.figures.{prefix}")
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; valid: {', '.join(sorted(load_all()))}")
    return FIGURES[name]
