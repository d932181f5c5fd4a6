"""Steps per second of a full fanin run against a hand-written PyTorch loop on the same net and data.

    python benchmarks/step_throughput.py [--steps 5000] [--repeats 3] [--threads 1]

Net: 5 hidden tanh layers of 1000, minibatch 10, Shapeset-3x2, SGD; fanin measures at its default probe
schedule (step 0, 1, 2, 5, ..., every 1000, last). Both sides get identical data (the same seeded stream,
rendered on the fly for both) and the same initial weights. The hand-written loop is the usual one (autograd
computes every dC/dW, torch.optim.SGD applies it) and evaluates valid and test error at the same steps as
fanin does, since any study needs those numbers; what the ratio charges to fanin is Lightning and the probes,
what it credits is the fused step (fanin.train.fused_sgd). Runs alternate (hand, fanin, hand, fanin, ...)
so machine noise hits both; medians are reported.

Also measured: the bare fused step (no Lightning, no probes), the bytes it moves per update (every weight read
by the forward pass, read again for the δ of the layer below, read and written by the update), the machine's
copy bandwidth (a 256 MB tensor copy), and the fraction of that limit the step reaches; the same on a GPU when
one is available; and the Shapeset renderer's images per second.
Targets: fanin / hand >= 1.5 (issue 14); renderer >= 20,000 images/s (issue 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bytes_per_update, compose_config, copy_bandwidth, median, synchronize  # noqa: E402

from fanin.data.shapeset import render_shapeset  # noqa: E402
from fanin.probes.schedule import probe_steps  # noqa: E402
from fanin.train.evaluate import evaluate  # noqa: E402
from fanin.train.fused_sgd import FusedSGD  # noqa: E402
from fanin.train.pack import Pack  # noqa: E402
from fanin.train.run import prepare, train_run  # noqa: E402

OVERRIDES = ["data=shapeset", "model.activation=tanh", "model.depth=5", "model.width=1000", "init=standard",
             "data.batch_size=10", "optim.lr=0.01"]


def hand_loop(config: dict, evaluate_at: set[int]) -> float:
    """The loop a researcher would write by hand, data preparation included as in fanin's run; steps
    per second."""
    start = time.perf_counter()
    splits, model = prepare(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=config["optim"]["lr"])
    batches = splits.train.batches(config["data"]["batch_size"], config["seed"])
    max_steps = config["trainer"]["max_steps"]
    for step in range(max_steps + 1):
        if step in evaluate_at:
            evaluate(model, *splits.valid)
            evaluate(model, *splits.test)
        if step == max_steps:
            break
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return max_steps / (time.perf_counter() - start)


def fanin_run(config: dict) -> tuple[float, float]:
    """A full fanin run (Lightning, probes, tables); returns (steps per second, the run's own wall time)."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = train_run(config, out)
        elapsed = time.perf_counter() - start
    return config["trainer"]["max_steps"] / elapsed, summary["wall_time_s"]


def bare_step_throughput(config: dict, steps: int, device: str, fused: bool) -> float:
    """Training steps alone (no Lightning, probes or evaluations) on `device`, on 500 pre-drawn minibatches:
    fanin's fused step, or the hand-written loop's autograd + torch.optim.SGD step; steps per second."""
    splits, model = prepare(config)
    model.to(device)
    lr = config["optim"]["lr"]
    if fused:
        optimizer = FusedSGD(Pack([model]), [config["optim"]])
        step = lambda x, y: optimizer.step(batch=(x[None], y[None]))  # noqa: E731  # a pack of one
    else:
        sgd = torch.optim.SGD(model.parameters(), lr=lr)

        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            sgd.zero_grad(set_to_none=True)
            loss.backward()
            sgd.step()
    batches = splits.train.batches(config["data"]["batch_size"], config["seed"])
    data = [tuple(t.to(device) for t in next(batches)) for _ in range(500)]
    for x, y in data[:20]:  # warm-up: allocator, kernels
        step(x, y)
    synchronize(device)
    start = time.perf_counter()
    for i in range(steps):
        step(*data[i % len(data)])
    synchronize(device)
    return steps / (time.perf_counter() - start)


def report_limit(config: dict, device: str, steps: int, full_run_rate: float | None) -> None:
    _, model = prepare(config)
    moved, bandwidth = bytes_per_update(model), copy_bandwidth(device)
    hand, fused = [], []
    for _ in range(3):
        hand.append(bare_step_throughput(config, steps, device, fused=False))
        fused.append(bare_step_throughput(config, steps, device, fused=True))
    bare = median(fused)
    print(f"[{device}] steps alone: hand-written {median(hand):.1f} steps/s, fused {bare:.1f} steps/s, "
          f"step ratio {median([f / h for f, h in zip(fused, hand, strict=True)]):.3f}")
    print(f"[{device}] bytes moved per fused update: {moved / 1e6:.1f} MB; "
          f"copy bandwidth {bandwidth / 1e9:.1f} GB/s")
    print(f"[{device}] fused step: {bare * moved / 1e9:.1f} GB/s, "
          f"{bare * moved / bandwidth:.0%} of the copy limit")
    if full_run_rate is not None:
        print(f"[{device}] full fanin run: {full_run_rate * moved / bandwidth:.0%} of the copy limit")


def renderer_throughput(repeats: int, n: int = 10_000) -> float:
    generator = torch.Generator().manual_seed(0)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        render_shapeset(n, generator)
        rates.append(n / (time.perf_counter() - start))
    return median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (the pipeline gives each run 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = compose_config([*OVERRIDES, f"trainer.max_steps={args.steps}", f"threads={args.threads}"])
    p = config["probe"]
    schedule = set(probe_steps(args.steps, p["every"], p["per_decade"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} steps, "
          f"{len(schedule)} measurement steps, {args.repeats} repeats")

    hand, fanin = [], []
    for _ in range(args.repeats):
        hand.append(hand_loop(config, schedule))
        fanin.append(fanin_run(config)[0])
        print(f"  hand {hand[-1]:7.1f} steps/s   fanin {fanin[-1]:7.1f} steps/s   "
              f"ratio {fanin[-1] / hand[-1]:.3f}")
    ratio = median([f / h for f, h in zip(fanin, hand, strict=True)])
    print(f"hand-written loop: {median(hand):.1f} steps/s (median)")
    print(f"fanin full run:    {median(fanin):.1f} steps/s (median)")
    print(f"ratio {ratio:.3f}  (fanin / hand-written loop, median of per-pair ratios; target >= 1.5)")
    report_limit(config, "cpu", min(args.steps, 1000), median(fanin))
    if torch.cuda.is_available():
        gpu = {**config, "trainer": {**config["trainer"], "accelerator": "gpu"}}
        print(f"GPU: {torch.cuda.get_device_name()}; fanin full run {fanin_run(gpu)[0]:.1f} steps/s")
        report_limit(config, "cuda", 2000, None)
    print(f"Shapeset renderer: {renderer_throughput(5):,.0f} images/s "
          "(median of 5 x 10,000; target >= 20,000)")


if __name__ == "__main__":
    main()
