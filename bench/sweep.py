"""Benchmark: a ``cosim sweep`` on a local Dask cluster against the same runs one after another.

    python bench/sweep.py [--steps 96] [--workers 2]

The runs are ``neighbourhood`` with pv_share_frac 0.2, 0.4, 0.6, 0.8 x battery_share_frac 0, 0.5
(8 runs). The anchor runs them one after another in this process with the function each
worker runs (``cosim.study.sweep.run_one``: the run and its headline KPIs), the process cold at the
start like each worker: its first run pays the imports and numba's compilation. The sweep starts
its LocalCluster, runs them on ``--workers`` worker processes and writes the summary.

Printed: wall and CPU time [s] of both (CPU: this process and its finished child processes, the
workers) and the ratio sweep / one after another of each (below 1 the sweep takes less). On a
machine shared with other work the CPU times are the steadier figure. Both ways must give the
same values for every run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.analysis import results
from cosim.run.logs import quiet_logging
from cosim.run.scenario import load_scenario
from cosim.study.sweep import execute, plan, run_one, vary_values

VARY = {"pv_share_frac": "0.2,0.4,0.6,0.8", "battery_share_frac": "0,0.5"}


def cpu_s() -> float:
    """CPU time of this process and of its finished child processes [s]."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    quiet_logging()
    cls = load_scenario("neighbourhood").config_class
    runs = plan(cls, vary_values(cls, VARY), {"steps": args.steps})
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), cpu_s()
        for run in runs:
            done = run_one("neighbourhood", run.values, str(Path(tmp) / "one" / run.name))
            if done["status"] != "completed":
                raise SystemExit(f"{run.name} failed: {done['error']}")
        one_by_one_s, one_by_one_cpu_s = time.perf_counter() - t0, cpu_s() - c0
        t0, c0 = time.perf_counter(), cpu_s()
        table = execute("neighbourhood", runs, Path(tmp) / "sweep", args.workers, progress=False)
        sweep_s, sweep_cpu_s = time.perf_counter() - t0, cpu_s() - c0
        if (table["status"] != "completed").any():
            raise SystemExit(f"sweep failed:\n{table[['run', 'status', 'error']]}")
        for run in runs:  # same Config, same values
            ours = results.load(Path(tmp) / "sweep" / run.name)
            if not ours.equals(results.load(Path(tmp) / "one" / run.name)):
                raise SystemExit(f"{run.name}: the sweep's results differ")
    print(f"{len(runs)} neighbourhood runs of {args.steps} steps     wall s    CPU s")
    print(f"one after another in one process  {one_by_one_s:8.1f} {one_by_one_cpu_s:8.1f}")
    print(f"sweep on {args.workers} local workers         {sweep_s:8.1f} {sweep_cpu_s:8.1f}")
    print(
        f"ratio sweep / one after another   {sweep_s / one_by_one_s:8.2f} "
        f"{sweep_cpu_s / one_by_one_cpu_s:8.2f}"
    )


if __name__ == "__main__":
    main()
