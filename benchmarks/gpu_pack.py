"""One pack of the glorot2010 Shapeset block on a GPU: its steps/s, its GPU memory, and the block's projected
wall time at the paper's budget (issue 10, item 4).

    python benchmarks/gpu_pack.py [--steps 100000] [--device cuda]

The pack: the five Shapeset 5 x 1000 models of the quick scale (tanh, Tanh N, softsign, Softsign N, sigmoid,
each at its selected learning rate, seed 0), trained together by `fanin.train.run.train_pack` for --steps
updates with the study's probes (every 1000 updates and 3 per decade before), exactly as a pipeline job trains
them. Prints the pack's updates/s (and network-updates/s, 5 x that), the peak GPU memory, and the projection:
the paper's block is 5 models x 5 learning rates x 3 seeds = 75 runs of 2.5 x 10^6 updates (2.5 x 10^7
examples), 15 packs of 5 one after another on one GPU, each taking --steps' wall time x 2.5 x 10^6 / --steps
(an upper bound: the paper scale probes every 50,000 updates, not every 1000).

First, before anything is timed, it checks that the GPU path gives the CPU's results: 20,000 Shapeset images
rendered on the device against the same generator's on the CPU (identical pixels expected: the rasterization
is integer arithmetic), and a pack of three small Shapeset runs (5 x 100, 300 updates) trained on the device
against the same pack on the CPU: their errors and layer statistics side by side (batched kernels round
differently, so not to the bit; each run's valid error must move from step 0, which it would not if the runs'
networks had been left behind on the host when Lightning moved the pack).

Without CUDA it says so and exits 2 (nothing measured); `--device cpu --steps 200` checks the script itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import compose_config  # noqa: E402

from fanin.contract import STAT_COLUMNS  # noqa: E402
from fanin.data.shapeset import render_shapeset  # noqa: E402
from fanin.plan.studies import expand_study  # noqa: E402
from fanin.train.run import train_pack  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PAPER_UPDATES = 2_500_000
PAPER_RUNS = 5 * 5 * 3


def shapeset_block() -> list[list[str]]:
    """The overrides of the quick scale's five 5 x 1000 Shapeset runs."""
    runs = [r for r in expand_study(REPO / "config" / "studies", "glorot2010", "quick")
            if r.axes["data"] == "shapeset" and r.axes["depth"] == 5]
    assert len(runs) == 5, [r.run_id for r in runs]
    return [list(r.overrides) for r in runs]


SMALL_PACK = ["data=shapeset", "model.depth=5", "model.width=100", "trainer.max_steps=300", "probe.every=100",
              "data.valid_size=500", "data.test_size=500", "probe.size=200"]


def check_against_cpu(accelerator: str, device: str) -> None:
    """The device's Shapeset pixels and a small pack's tables against the CPU's (see the docstring)."""
    cpu = render_shapeset(20_000, torch.Generator().manual_seed(0))
    there = render_shapeset(20_000, torch.Generator().manual_seed(0), device=device)
    differ = int((there[0].cpu() != cpu[0]).sum()) + int((there[1].cpu() != cpu[1]).sum())
    print(f"Shapeset, 20,000 images rendered on {device} vs cpu: "
          + ("identical" if differ == 0 else f"{differ} values differ"))
    tables = {}
    with tempfile.TemporaryDirectory() as out:
        for where in ("cpu", accelerator):
            configs = [compose_config([*SMALL_PACK, f"seed={seed}", f"trainer.accelerator={where}"])
                       for seed in range(3)]
            folders = [Path(out) / where / f"run{k}" for k in range(3)]
            train_pack(configs, folders)
            tables[where] = [(pd.read_parquet(f / "metrics.parquet"),
                              pd.read_parquet(f / "layer_stats.parquet")) for f in folders]
    pairs = zip(tables["cpu"], tables[accelerator], strict=True)
    for k, ((m_cpu, s_cpu), (m_dev, s_dev)) in enumerate(pairs):
        valid = m_dev[m_dev.split == "valid"].error.to_numpy()
        stats = list(STAT_COLUMNS)
        scale = s_cpu[stats].abs().max().clip(lower=1e-30)
        print(f"  pack run {k}: max |error difference| {(m_dev.error - m_cpu.error).abs().max():.2e}, "
              f"max |loss difference| {(m_dev.loss - m_cpu.loss).abs().max():.2e}, layer statistics within "
              f"{((s_dev[stats] - s_cpu[stats]).abs() / scale).max().max():.2e} of their column's scale; "
              f"valid error {valid[0]:.3f} at step 0 -> {valid[-1]:.3f} (must move)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here (torch.cuda.is_available() is False): nothing measured")
        sys.exit(2)
    accelerator = "gpu" if args.device == "cuda" else "cpu"
    check_against_cpu(accelerator, args.device)
    configs = [compose_config([*overrides, f"trainer.max_steps={args.steps}",
                               f"trainer.accelerator={accelerator}", "study_name=glorot2010"])
               for overrides in shapeset_block()]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summaries = train_pack(configs, [Path(out) / f"run{k}" for k in range(len(configs))])
        wall = time.perf_counter() - start
    device = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    print(f"{device}: a pack of {len(configs)} Shapeset 5x1000 runs, {args.steps} updates in {wall:.1f} s "
          f"(statuses: {', '.join(s['status'] for s in summaries)})")
    print(f"  {args.steps / wall:.1f} updates/s, {len(configs) * args.steps / wall:.1f} network-updates/s")
    if args.device == "cuda":
        print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    pack_hours = wall * PAPER_UPDATES / args.steps / 3600
    packs = PAPER_RUNS // len(configs)
    print(f"  projected: one pack at the paper's {PAPER_UPDATES:,} updates {pack_hours:.1f} h; the block's "
          f"{PAPER_RUNS} runs in {packs} packs on one device {packs * pack_hours:.0f} h")


if __name__ == "__main__":
    main()
