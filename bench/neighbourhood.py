"""Benchmark: ``neighbourhood`` (every DER type) against ``grid_profiles`` on the same grid.

    python bench/neighbourhood.py [--steps N ...] [--repeat R]

Both are whole in-process runs (build, every step, recording, manifest) of the same SimBench LV
grid and length, measured in this run after a warm-up. Printed: ms per step of each, the ratio
neighbourhood / grid_profiles (the anchor), and the peak resident memory of the process.
``--steps 35040`` is a year at 15 min.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.logs import quiet_logging
from cosim.run.scenario import load_scenario


def wall_s(name: str, steps: int) -> float:
    scenario = load_scenario(name)
    cfg = make_config(scenario.config_class, steps=steps)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        outcome = runner.run(scenario, cfg, Path(tmp) / "run", progress=False)
        elapsed = time.perf_counter() - t0
    if outcome.status != "completed":
        raise SystemExit(f"{name} failed: {outcome.error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", nargs="+", type=int, default=[96, 672])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    quiet_logging()
    for name in ("grid_profiles", "neighbourhood"):
        wall_s(name, 2)  # warm-up: imports, numba, caches
    print(
        f"{'steps':>6s} {'grid_profiles ms/step':>22s} {'neighbourhood ms/step':>22s} {'ratio':>6s}"
    )
    for steps in args.steps:
        anchor = min(wall_s("grid_profiles", steps) for _ in range(args.repeat))
        ours = min(wall_s("neighbourhood", steps) for _ in range(args.repeat))
        print(
            f"{steps:6d} {1000 * anchor / steps:22.2f} {1000 * ours / steps:22.2f} "
            f"{ours / anchor:6.2f}",
            flush=True,
        )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
