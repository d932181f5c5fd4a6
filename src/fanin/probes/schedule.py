"""When to measure: step 0, log-spaced early steps, every `every` steps, and the last step."""

from __future__ import annotations


def log_spaced_steps(limit: int, per_decade: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... for per_decade=3: the integer points of 10^(k/per_decade), deduplicated.

    Mantissas are rounded to one significant digit for per_decade <= 3 so the steps read as 1-2-5.
    """
    if per_decade <= 0:
        return []
    steps, k = set(), 0
    while True:
        value = 10 ** (k / per_decade)
        if per_decade <= 3:
            magnitude = 10 ** int(f"{value:e}".split("e")[1])
            value = round(value / magnitude) * magnitude
        step = int(round(value))
        if step >= limit:
            return sorted(steps)
        steps.add(step)
        k += 1


def probe_steps(max_steps: int, every: int, per_decade: int) -> list[int]:
    """Every step at which probes run, sorted; always includes 0 (the initialization) and max_steps."""
    if max_steps < 0 or every < 1:
        raise ValueError(f"need trainer.max_steps >= 0 and probe.every >= 1, got {max_steps} and {every}")
    steps = {0, max_steps}
    steps.update(s for s in log_spaced_steps(min(every, max_steps), per_decade))
    steps.update(range(every, max_steps + 1, every))
    return sorted(steps)
