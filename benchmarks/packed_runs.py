"""Packs against one process per run: a study's training through the pipeline, and one pack's step.

    python benchmarks/packed_runs.py [--study ablation] [--scale quick] [--cores 2] [--k 6] [--steps 300]

1. Pipeline. The study's training jobs (every run's summary.json; no collection, no figures) run through
   Snakemake twice, into two temporary folders, on the same machine with the same --cores: with
   `--config pack_size=1` (one process per run, as before packs) and with the default pack size. Prints
   `ratio <solo wall time / packed wall time>`; target >= 5 for the quick ablation study (issue 10).
2. Step. K 5x1000 tanh nets on Shapeset at batch 10, fanin's fused step with no Lightning and no probes: one
   pack of K against the same K nets stepped one after another as packs of one, alternating, --repeats
   times; per-network steps/s (medians), the bytes each network's update moves and the fraction of the
   machine's copy bandwidth reached; the same on CUDA when a GPU is there.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bytes_per_update, compose_config, copy_bandwidth, median, synchronize  # noqa: E402

from fanin.plan.studies import expand_study  # noqa: E402
from fanin.train.fused_sgd import FusedSGD  # noqa: E402
from fanin.train.pack import Pack  # noqa: E402
from fanin.train.run import prepare  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHAPESET = ["data=shapeset", "model.activation=tanh", "model.depth=5", "model.width=1000",
            "data.batch_size=10", "optim.lr=0.01", "data.valid_size=100", "data.test_size=100"]


def pipeline_training(study: str, scale: str, cores: int, pack_size: int | None) -> float:
    """Wall time of the study's training jobs through Snakemake in a fresh copy of the workflow."""
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        shutil.copy(REPO / "Snakefile", where)
        for folder in ("workflow", "conf", "config"):
            shutil.copytree(REPO / folder, where / folder)
        targets = [f"results/{scale}/{study}/runs/{run.run_id}/summary.json"
                   for run in expand_study(REPO / "config" / "studies", study, scale)]
        config = ["--config", f"studies=[{study}]", f"scale={scale}", "results=results"]
        if pack_size is not None:
            config.append(f"pack_size={pack_size}")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), *config, "--", *targets],
                       cwd=where, check=True, capture_output=True)
        return time.perf_counter() - start


def nets(k: int, device: str) -> tuple[list, list[dict], list]:
    """K differently seeded and initialized 5x1000 nets, their optimizer settings and 200 minibatches each."""
    models, optims, data = [], [], []
    for seed in range(k):
        config = compose_config([*SHAPESET, f"seed={seed}",
                                 f"init={'standard' if seed % 2 else 'glorot_uniform'}"])
        splits, model = prepare(config)
        models.append(model.to(device))
        optims.append(config["optim"])
        batches = splits.train.batches(10, seed)
        data.append([tuple(t.to(device) for t in next(batches)) for _ in range(200)])
    return models, optims, data


def steps_per_second(optimizer: FusedSGD, batches: list[tuple], steps: int, device: str) -> float:
    for batch in batches[:10]:  # warm-up: allocator, kernels
        optimizer.step(batch=batch)
    synchronize(device)
    start = time.perf_counter()
    for i in range(steps):
        optimizer.step(batch=batches[i % len(batches)])
    synchronize(device)
    return steps / (time.perf_counter() - start)


def pack_step(k: int, steps: int, repeats: int, device: str) -> None:
    models, optims, data = nets(k, device)
    packed = FusedSGD(Pack(models), optims)
    packed_batches = [(torch.stack([d[i][0] for d in data]), torch.stack([d[i][1] for d in data]))
                      for i in range(len(data[0]))]
    # Packs of one need their own copies of the nets: a Pack re-points its models' weights at its own storage.
    alone_models, alone_optims, _ = nets(k, device)
    alone = [FusedSGD(Pack([m]), [o]) for m, o in zip(alone_models, alone_optims, strict=True)]
    alone_batches = [[(x[None], y[None]) for x, y in d] for d in data]
    packed_rates, alone_rates = [], []
    for _ in range(repeats):
        packed_rates.append(k * steps_per_second(packed, packed_batches, steps, device))
        seconds = sum(1 / steps_per_second(o, b, steps, device)
                      for o, b in zip(alone, alone_batches, strict=True))
        alone_rates.append(k / seconds)
    moved, bandwidth = bytes_per_update(models[0]), copy_bandwidth(device)
    p, a = median(packed_rates), median(alone_rates)
    print(f"[{device}] K={k} nets, network-steps/s: one pack {p:.1f}, one after another {a:.1f}, "
          f"ratio {median([x / y for x, y in zip(packed_rates, alone_rates, strict=True)]):.3f} "
          f"(medians of {repeats})")
    print(f"[{device}] each network's update moves {moved / 1e6:.1f} MB; "
          f"copy bandwidth {bandwidth / 1e9:.1f} GB/s; "
          f"the pack reaches {p * moved / 1e9:.1f} GB/s, {p * moved / bandwidth:.0%} of that limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="ablation")
    parser.add_argument("--scale", default="quick")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pipeline", action="store_true", help="only the step measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as every pipeline job
    if not args.skip_pipeline:
        n = len(expand_study(REPO / "config" / "studies", args.study, args.scale))
        solo = pipeline_training(args.study, args.scale, args.cores, pack_size=1)
        packed = pipeline_training(args.study, args.scale, args.cores, pack_size=None)
        print(f"{args.study} at {args.scale}: {n} runs on {args.cores} cores; "
              f"training jobs one process per run {solo:.1f} s, packed {packed:.1f} s")
        print(f"ratio {solo / packed:.2f}  (solo wall time / packed wall time; target >= 5)")
    pack_step(args.k, args.steps, args.repeats, "cpu")
    if torch.cuda.is_available():
        pack_step(args.k, 10 * args.steps, args.repeats, "cuda")


if __name__ == "__main__":
    main()
