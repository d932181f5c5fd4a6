"""`python -m fanin.figures NAME --tables DIR --out STEM` (DIR: results/<scale>/<study>/tables)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fanin.figures import figure
from fanin.figures.common import StudyTables, save_figure, style
from fanin.io import atomic_write


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw one figure from a study's tables (PDF and PNG).")
    parser.add_argument("name")
    parser.add_argument("--tables", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="output path without suffix")
    args = parser.parse_args()
    try:
        draw = figure(args.name)
        style()
        drawn = draw(StudyTables.load(args.tables))
        # a table figure (Table 1) also returns its numbers, written beside it as CSV
        fig, table = drawn if isinstance(drawn, tuple) else (drawn, None)
        save_figure(fig, args.out)
        if table is not None:
            atomic_write(args.out.with_suffix(".csv"), lambda tmp: table.to_csv(tmp, index=False))
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"fanin.figures: {error}")


if __name__ == "__main__":
    main()
