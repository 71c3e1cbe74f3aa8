"""Benchmark: the grid's two power-flow engines, pandapower and power-grid-model, in one run.

    python bench/engine.py [--grid CODE ...] [--steps 96] [--repeat 3]

For each grid, two levels, each engine on the same net and the same SimBench profile rows:

- ``model``: the physics alone, no mosaik. Per step: every load and sgen p_mw and q_mvar from
  its SimBench profile (``GridModel.set_values``), one ``solve()``, and the results
  ``grid_profiles`` records (bus vm_pu, line and trafo loading_percent, ext_grid p_mw and
  q_mvar) read with ``result()``. Engines: ``GridModel`` (pandapower's recycled Newton-Raphson,
  lightsim2grid) and ``PgmGridModel`` (power-grid-model's Newton-Raphson on a model kept
  between steps).
- ``grid_profiles``: the whole in-process co-simulation with ``engine=...`` (simulators,
  entities, every step, recording to Parquet).

Each gets a warm-up (numba and caches) and the best of ``--repeat`` counts. Printed: ms per step
of each engine and the ratio power-grid-model / pandapower (< 1: power-grid-model is faster).

Measured here, one run (``--steps 96 --repeat 3``, warm SimBench cache, 2-core machine shared
with other jobs; ratios are what to compare)::

    grid                   level          buses  pandapower ms/step  pgm ms/step  pgm/pp
    1-MV-rural--0-sw       model             97                1.10         0.58    0.52
    1-MV-rural--0-sw       grid_profiles     97                4.64         4.18    0.90
    1-MVLV-rural-all-0-sw  model           5479               10.03         4.93    0.49
    1-MVLV-rural-all-0-sw  grid_profiles   5479               79.66        75.66    0.95

The engine halves the grid's own step (power-grid-model's Newton-Raphson: about 3.2 ms of the
4.9 on the MV/LV grid, 4 iterations). A whole ``grid_profiles`` run gains 5-10 %: on the MV/LV
grid its step is spent on one mosaik entity and connection per element, not in the power flow
(an earlier run of the same command gave 1.24 for that row while other jobs shared the cores;
profiled alone, 48 steps took 9.2 s with power-grid-model and 9.7 s with pandapower).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from _common import cosim_run

from simulators.grid.model import GridModel
from simulators.grid.sim import ENGINES
from simulators.profiles.simbench import simbench_table
from simulators.simbench_nets import simbench_net

STEP_S = 900
RECORDED = {
    "bus": ("vm_pu",),
    "line": ("loading_percent",),
    "trafo": ("loading_percent",),
    "ext_grid": ("p_mw", "q_mvar"),
}


def time_model(engine: type[GridModel], grid: str, steps: int) -> float:
    """Seconds for ``steps`` model steps (profiles in, solve, recorded results out)."""
    net = simbench_net(grid, profiles=False)
    table = simbench_table(grid)
    rows = table.rows_at(STEP_S * np.arange(steps))
    groups = [(e, a, idx, pos) for (e, a), (idx, pos) in table.groups().items()]
    model = engine(copy.deepcopy(net))
    t0 = time.perf_counter()
    for row in rows:
        for element, attr, idx, pos in groups:
            model.set_values(element, attr, idx, row[pos])
        assert model.solve()
        for element, attrs in RECORDED.items():
            for attr in attrs:
                model.result(element, attr)
    return time.perf_counter() - t0


def time_cosim(engine: str, grid: str, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cosim_run("grid_profiles", steps, Path(tmp) / "run", grid=grid, engine=engine)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", nargs="+", default=["1-MV-rural--0-sw", "1-MVLV-rural-all-0-sw"])
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from cosim.run.logs import quiet_logging

    quiet_logging()
    engines = list(ENGINES)  # pandapower first: the reference
    print(
        f"{'grid':22s} {'level':14s} {'buses':>5s} {'pandapower ms/step':>19s} "
        f"{'pgm ms/step':>12s} {'pgm/pp':>7s}"
    )
    for grid in args.grid:
        buses = len(simbench_net(grid, profiles=False).bus)
        for level, run in (("model", _model_case), ("grid_profiles", time_cosim)):
            for engine in engines:  # warm-up
                run(engine, grid, 2)
            ms = [
                1000 * min(run(engine, grid, args.steps) for _ in range(args.repeat)) / args.steps
                for engine in engines
            ]
            print(
                f"{grid:22s} {level:14s} {buses:5d} {ms[0]:19.2f} {ms[1]:12.2f} "
                f"{ms[1] / ms[0]:7.2f}",
                flush=True,
            )


def _model_case(engine: str, grid: str, steps: int) -> float:
    return time_model(ENGINES[engine], grid, steps)


if __name__ == "__main__":
    main()
