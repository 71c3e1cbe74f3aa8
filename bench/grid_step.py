"""Benchmark: ``grid_profiles`` against pandapower's own ``run_timeseries``, in the same run.

    python bench/grid_step.py [--grid CODE ...] [--steps N ...] [--repeat R] [--processes]

For each grid and length, both sides start from the same SimBench net and profiles and keep the
same quantities: every bus vm_pu, line and trafo loading_percent, ext_grid p_mw and q_mvar.

- cosim: the whole in-process run (starting simulators, building entities, every step,
  recording to Parquet, manifest).
- anchor: ConstControl + ``run_timeseries`` with an OutputWriter logging those quantities
  (``cosim.builtin.reference.run_pandapower_timeseries``).

- second anchor, for reference only: the same loop logging only bus vm_pu and line
  loading_percent, which lets pandapower take its own fast path (``only_v_results`` with batch
  line results); logging ext_grid or trafo results rules that out.

Both get a warm-up first (numba compiles on the first power flow of a process) and the best of
``--repeat`` runs counts. Printed: ms per step of each and the ratio cosim / pandapower
(< 1 means cosim is faster).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import LOGGED, anchor_run, cosim_run


def time_cosim(grid: str, steps: int, processes: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cosim_run("grid_profiles", steps, Path(tmp) / "run", processes=processes, grid=grid)
        return time.perf_counter() - t0


def time_pandapower(
    grid: str, steps: int, logged: tuple[tuple[str, str, str], ...] = LOGGED
) -> float:
    t0 = time.perf_counter()
    anchor_run(grid, steps, logged)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", nargs="+", default=["1-LV-rural1--0-sw", "1-MV-rural--0-sw"])
    parser.add_argument("--steps", nargs="+", type=int, default=[96, 672])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processes", action="store_true", help="cosim simulators as processes")
    args = parser.parse_args()
    from cosim.run.logs import quiet_logging

    quiet_logging()
    print(
        f"{'grid':20s} {'steps':>6s} {'cosim ms/step':>14s} {'pandapower ms/step':>19s} "
        f"{'ratio':>6s} {'pp vm+line only ms/step':>24s} {'ratio':>6s}"
    )
    for grid in args.grid:
        time_cosim(grid, 2, args.processes)  # warm-up: caches, numba, imports
        time_pandapower(grid, 2)
        for steps in args.steps:
            ours = min(time_cosim(grid, steps, args.processes) for _ in range(args.repeat))
            anchor = min(time_pandapower(grid, steps) for _ in range(args.repeat))
            fast = min(time_pandapower(grid, steps, LOGGED[:2]) for _ in range(args.repeat))
            print(
                f"{grid:20s} {steps:6d} {1000 * ours / steps:14.2f} "
                f"{1000 * anchor / steps:19.2f} {ours / anchor:6.2f} "
                f"{1000 * fast / steps:24.2f} {ours / fast:6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
