"""Steps per second of a full fanin run against a hand-written PyTorch loop on the same net and data.

    python benchmarks/step_throughput.py [--steps 5000] [--repeats 3]

Net: 5 hidden tanh layers of 1000, minibatch 10, Shapeset-3x2, SGD; fanin measures at its default probe
schedule (step 0, 1, 2, 5, ..., every 1000, last). Both sides get identical data (the same seeded stream, rendered on
the fly for both) and the same initial weights. The hand-written loop evaluates valid
and test error at the same steps as fanin does, since any study needs those numbers; what the ratio charges
to fanin is Lightning and the probes. Runs alternate (hand, fanin, hand, fanin, ...) so machine noise hits
both; medians are reported. Also measured: the Shapeset renderer's images per second.
Targets (issue 2): fanin / hand >= 0.9; renderer >= 20,000 images/s.
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
from common import compose_config, median  # noqa: E402

from fanin.data.shapeset import render_shapeset  # noqa: E402
from fanin.evaluate import evaluate  # noqa: E402
from fanin.probes.schedule import probe_steps  # noqa: E402
from fanin.run import prepare, train_run  # noqa: E402

OVERRIDES = ["data=shapeset", "model.activation=tanh", "model.depth=5", "model.width=1000", "init=standard",
             "data.batch_size=10", "optim.lr=0.01"]


def hand_loop(config: dict, evaluate_at: set[int]) -> float:
    """The loop a researcher would write by hand, data preparation included as in fanin's run; steps per second."""
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
    args = parser.parse_args()
    config = compose_config([*OVERRIDES, f"trainer.max_steps={args.steps}"])
    p = config["probe"]
    schedule = set(probe_steps(args.steps, p["every"], p["per_decade"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.steps} steps, "
          f"{len(schedule)} measurement steps, {args.repeats} repeats")

    hand, fanin = [], []
    for _ in range(args.repeats):
        hand.append(hand_loop(config, schedule))
        fanin.append(fanin_run(config)[0])
        print(f"  hand {hand[-1]:7.1f} steps/s   fanin {fanin[-1]:7.1f} steps/s   ratio {fanin[-1] / hand[-1]:.3f}")
    ratio = median([f / h for f, h in zip(fanin, hand)])
    print(f"hand-written loop: {median(hand):.1f} steps/s (median)")
    print(f"fanin full run:    {median(fanin):.1f} steps/s (median)")
    print(f"ratio fanin / hand: {ratio:.3f} (target >= 0.9)")
    print(f"Shapeset renderer: {renderer_throughput(5):,.0f} images/s (median of 5 x 10,000; target >= 20,000)")


if __name__ == "__main__":
    main()
