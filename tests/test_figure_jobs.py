"""A figure job reads tables only: loading every figure module imports neither torch nor the run stage."""

from __future__ import annotations

import subprocess
import sys

RUN_STAGE = ("torch", "lightning", "fanin.inits", "fanin.train")


def test_drawing_figures_imports_neither_torch_nor_the_run_stage():
    probe = ("import sys, fanin.figures, fanin.figures.__main__; fanin.figures.load_all(); "
             f"print(sorted(m for m in sys.modules for r in {RUN_STAGE!r} "
             "if m == r or m.startswith(r + '.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    assert loaded.strip() == "[]", loaded
