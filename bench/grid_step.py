"""Benchmark: ``grid_profiles`` against pandapower's own ``run_timeseries``, in the same run.

    python bench/grid_step.py [--grid CODE ...] [--steps N ...] [--repeat R] [--processes]

For each grid and length, both sides start from the same SimBench net and profiles and keep the
same quantities: every bus vm_pu, line and trafo loading_percent, ext_grid p_mw and q_mvar.

- cosim: the whole in-process run (starting simulators, building entities, every step,
  recording to Parquet, manifest).
- anchor: ConstControl + ``run_timeseries`` with an OutputWriter logging those quantities
  (``cosim.reference.run_pandapower_timeseries``).

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

from cosim import runner
from cosim.config import make_config
from cosim.reference import run_pandapower_timeseries
from cosim.scenario import load_scenario
from simulators.profiles.model import simbench_profiles
from simulators.simbench_nets import simbench_net

STEP_S = 900
LOGGED = (
    ("res_bus", "vm_pu", "bus"),
    ("res_line", "loading_percent", "line"),
    ("res_trafo", "loading_percent", "trafo"),
    ("res_ext_grid", "p_mw", "ext_grid"),
    ("res_ext_grid", "q_mvar", "ext_grid"),
)


def time_cosim(grid: str, steps: int, processes: bool) -> float:
    scenario = load_scenario("grid_profiles")
    cfg = make_config(scenario.config_class, grid=grid, steps=steps, step_s=STEP_S)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        outcome = runner.run(scenario, cfg, Path(tmp) / "run", processes=processes, progress=False)
        wall_s = time.perf_counter() - t0
    if outcome.status != "completed":
        raise SystemExit(f"cosim run failed: {outcome.error}")
    return wall_s


def time_pandapower(
    grid: str, steps: int, logged: tuple[tuple[str, str, str], ...] = LOGGED
) -> float:
    t0 = time.perf_counter()
    net = simbench_net(grid)
    run_pandapower_timeseries(net, simbench_profiles(net), steps, STEP_S, logged=logged)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", nargs="+", default=["1-LV-rural1--0-sw", "1-MV-rural--0-sw"])
    parser.add_argument("--steps", nargs="+", type=int, default=[96, 672])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processes", action="store_true", help="cosim simulators as processes")
    args = parser.parse_args()
    from cosim.cli import quiet_logging

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
