"""python -m fanin.figures NAME --tables results/<study>/tables --out results/<study>/figures/NAME"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fanin.figures import figure
from fanin.figures.common import StudyTables, save_figure, style


def main() -> None:
    parser = argparse.ArgumentParser(description="Draw one figure from a study's tables (PDF and PNG).")
    parser.add_argument("name")
    parser.add_argument("--tables", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="output path without suffix")
    args = parser.parse_args()
    try:
        draw = figure(args.name)
        style()
        save_figure(draw(StudyTables.load(args.tables)), args.out)
    except (ValueError, FileNotFoundError) as error:
        sys.exit(f"fanin.figures: {error}")


if __name__ == "__main__":
    main()
