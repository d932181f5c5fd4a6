"""`python -m fanin.collect --runs-dir DIR --run-table FILE --out DIR`: a study's tables (fanin.collect)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fanin.collect import collect, read_run_table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fanin.collect",
                                     description="Concatenate a study's run tables into its study tables.")
    parser.add_argument("--runs-dir", required=True, type=Path)
    parser.add_argument("--run-table", required=True, type=Path, help="the study's run_table.json")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    collect(args.runs_dir, read_run_table(args.run_table), args.out)


if __name__ == "__main__":
    main()
