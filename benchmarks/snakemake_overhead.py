"""Snakemake's own share of a pipeline run: DAG time and per-job overhead against the runs' own wall time.

    python benchmarks/snakemake_overhead.py [--study smoke] [--scale smoke] [--cores 2]

Three numbers, from one pipeline run of the study into a temporary folder:
- DAG: the time of a dry run of the default studies at quick scale (parsing, run table, DAG), repeated
  3 times;
- per job: each training job's process wall time (Snakemake's `benchmark:` file) minus its pack's own wall
  time (the longest `summary.json` wall time of its runs, measured inside `fanin.train.run.train_pack`):
  interpreter and library start-up;
- scheduling: the pipeline's elapsed time times cores, minus all jobs' process time, per job.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from fanin.plan.packing import pack_id

REPO = Path(__file__).resolve().parents[1]


def snakemake(where: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=where, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="smoke")
    parser.add_argument("--scale", default="smoke")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        shutil.copy(REPO / "Snakefile", where)
        for folder in ("workflow", "conf", "config"):
            shutil.copytree(REPO / folder, where / folder)
        dag = [snakemake(where, "-n", "--cores", "1") for _ in range(3)]
        print(f"DAG (dry run, default studies at quick scale): {statistics.median(dag):.2f} s (median of 3)")

        elapsed = snakemake(where, "--cores", str(args.cores), "--config", f"studies=[{args.study}]",
                            f"scale={args.scale}", "results=results")
        study = where / "results" / args.study
        packs: dict[str, float] = {}  # pack id -> the pack's own wall time
        for summary_file in (study / "runs").rglob("summary.json"):
            members = json.loads((summary_file.parent / "provenance.json").read_text())["pack"]["runs"]
            pack = pack_id([str(Path(m).relative_to(Path("results") / args.study / "runs")) for m in members])
            own = json.loads(summary_file.read_text())["wall_time_s"]
            packs[pack] = max(packs.get(pack, 0.0), own)
        jobs = []
        for pack, own in packs.items():
            job_s = float(pd.read_csv(study / "benchmarks" / "train" / f"{pack}.tsv", sep="\t")["s"].iloc[0])
            jobs.append((job_s, own))
        job_total = sum(j for j, _ in jobs)
        run_total = sum(r for _, r in jobs)
        startup = [j - r for j, r in jobs]
        print(f"{len(jobs)} training jobs (packs): packs' own wall time {run_total:.1f} s, "
              f"jobs' process time {job_total:.1f} s")
        print(f"per job start-up (process - run): median {statistics.median(startup):.2f} s "
              f"({statistics.median(startup) / statistics.median(r for _, r in jobs):.0%} of a median run)")
        scheduling = (elapsed * args.cores - job_total) / len(jobs)
        print(f"pipeline elapsed {elapsed:.1f} s on {args.cores} cores; scheduling, collection and figures: "
              f"{scheduling:.2f} core-s per training job")


if __name__ == "__main__":
    main()
