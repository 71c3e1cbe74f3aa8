"""Benchmark: cosim from one LV feeder to a whole MV/LV grid, against pandapower, in one run.

    python bench/scale.py [--grid CODE ...] [--steps 16]

For each grid (default: the LV feeder ``1-LV-rural1--0-sw`` and two MV grids with all their
LV grids, ``1-MVLV-semiurb-all-0-sw`` and ``1-MVLV-rural-all-0-sw``; ``--grid`` picks others),
three cases each run in their own fresh Python process, so each peak resident memory is that
process's own (``os.wait4``):

- ``neighbourhood``: every house with its flexible load, PV, batteries, EVs and CHPs on the grid.
- ``grid_profiles``: the grid alone with its SimBench profiles, recording bus vm_pu, line and
  trafo loading_percent, ext_grid p_mw and q_mvar.
- ``run_timeseries`` (the anchor): pandapower's ``run_timeseries`` of the grid alone on the same
  net, profiles trimmed to the steps, logging the same quantities
  (``cosim.builtin.reference.run_pandapower_timeseries``). Its "build" is loading the net and
  the profile table and a one-step warm-up (numba compiles on a process's first power flow);
  its steps include setting up one ConstControl per profile column on a copy of the net.

Printed per grid and case: buses, units (neighbourhood: houses plus DER units; the others: the
grid's loads and sgens), build time, ms per step (the steps alone), the ratio
cosim / anchor (< 1: cosim is faster), wall time of the whole process and its peak memory; then
how cost grows from the first grid to each other one. A year is ``--steps 35040`` (hours on
an MV/LV grid: not the default).

Measured here, one run per engine (default grids, 96 steps, warm SimBench cache, 2-core
machine; ratios are what to compare; vs rts = ms/step over run_timeseries' on that grid)::

    grid                     case            buses  units  build s  ms/step  vs rts  peak MiB
    1-LV-rural1--0-sw        neighbourhood      15     18      2.3      4.0    0.55       434
    1-LV-rural1--0-sw        grid_profiles      15     17      2.0      1.5    0.20       411
    1-LV-rural1--0-sw        run_timeseries     15     17      3.2      7.2    1.00       408
    1-MVLV-semiurb-all-0-sw  neighbourhood    9099  18944      2.9     33.8    0.91       659
    1-MVLV-semiurb-all-0-sw  grid_profiles    9099   9566      2.3     19.1    0.52       561
    1-MVLV-semiurb-all-0-sw  run_timeseries   9099   9566      3.5     37.0    1.00       551
    1-MVLV-rural-all-0-sw    neighbourhood    5479  11384      2.9     21.4    0.91       609
    1-MVLV-rural-all-0-sw    grid_profiles    5479   5954      2.2     11.1    0.47       533
    1-MVLV-rural-all-0-sw    run_timeseries   5479   5954      3.5     23.6    1.00       510

    --engine power-grid-model (the cosim cases; run_timeseries is pandapower's):
    1-MVLV-semiurb-all-0-sw  neighbourhood    9099  18944      2.7     23.9    0.66       648
    1-MVLV-semiurb-all-0-sw  grid_profiles    9099   9566      1.9      9.3    0.26       554
    1-MVLV-rural-all-0-sw    neighbourhood    5479  11384      2.3     15.5    0.67       609
    1-MVLV-rural-all-0-sw    grid_profiles    5479   5954      1.8      6.0    0.26       532

From the LV feeder to 1-MVLV-semiurb-all-0-sw: buses x607, neighbourhood units x1052, ms/step
neighbourhood x8, grid_profiles x13, run_timeseries x5; the neighbourhood's step costs 1.6 us
more per added unit (25 us with one mosaik entity per unit, before fleets: 476 ms/step, 12.2x).
A year, ``--grid 1-MVLV-rural-all-0-sw --steps 35040 --cases neighbourhood``: 654 s wall,
17.8 ms/step, 722 MiB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import LOGGED, STEP_S, cosim_run

GRIDS = ["1-LV-rural1--0-sw", "1-MVLV-semiurb-all-0-sw", "1-MVLV-rural-all-0-sw"]
RTS = "run_timeseries"
CASES = ("neighbourhood", "grid_profiles", RTS)


def run_case(case: str, grid: str, steps: int, out: Path, engine: str) -> None:
    """One case in this process; writes its build and step times to ``out`` (JSON)."""
    from cosim.run.logs import quiet_logging

    quiet_logging()
    if case == RTS:
        from cosim.builtin.reference import run_pandapower_timeseries
        from simulators.profiles.simbench import simbench_table
        from simulators.simbench_nets import simbench_net

        t0 = time.perf_counter()
        net, table = simbench_net(grid, profiles=False), simbench_table(grid)
        run_pandapower_timeseries(net, table, 1, STEP_S, logged=LOGGED)  # numba compiles
        t1 = time.perf_counter()
        run_pandapower_timeseries(net, table, steps, STEP_S, logged=LOGGED)
        build_s, run_s = t1 - t0, time.perf_counter() - t1
    else:
        with tempfile.TemporaryDirectory(prefix="cosim-scale-") as tmp:
            outcome = cosim_run(case, steps, Path(tmp) / "run", grid=grid, engine=engine)
        build_s, run_s = outcome.build_s, outcome.run_s
    out.write_text(json.dumps({"build_s": build_s, "run_s": run_s}))


def measure(case: str, grid: str, steps: int, engine: str) -> dict[str, float]:
    """Run one case in a fresh process: its times, wall time and peak resident memory."""
    with tempfile.TemporaryDirectory(prefix="cosim-scale-") as tmp:
        out = Path(tmp) / "case.json"
        cmd = [sys.executable, __file__, "--case", case, "--grid", grid, "--steps", str(steps)]
        cmd += ["--engine", engine]
        t0 = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--out", str(out)])
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - t0
        if (code := os.waitstatus_to_exitcode(status)) != 0:
            raise SystemExit(f"{case} on {grid} failed (exit {code})")
        info = json.loads(out.read_text())
    return info | {"wall_s": wall_s, "peak_mib": usage.ru_maxrss / 1024}  # Linux: KiB


def sizes(grid: str) -> tuple[int, int, int]:
    """Buses, the grid's loads plus sgens, and neighbourhood's units (houses plus DER units)."""
    from cosim.run.config import make_config
    from scenarios._households import load_profiles
    from scenarios.neighbourhood import Config, layout
    from simulators.simbench_nets import simbench_net

    net = simbench_net(grid, profiles=False)
    types, _ = load_profiles(grid)
    where = layout(types, make_config(Config, (), grid=grid))
    units = len(types) + sum(len(u) for u in (where.pv, where.battery, where.ev, where.chp))
    return len(net.bus), len(net.load) + len(net.sgen), units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", nargs="+", default=GRIDS, help="SimBench codes")
    parser.add_argument("--steps", type=int, default=96, help="96: a day; 35040: a year")
    parser.add_argument(
        "--engine", default="pandapower", help="grid engine of the cosim cases (power-grid-model)"
    )
    parser.add_argument("--cases", nargs="+", choices=CASES, default=CASES, help="cases to run")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.grid[0], args.steps, Path(args.out), args.engine)
        return
    from cosim.run.logs import quiet_logging

    quiet_logging()
    size = {g: sizes(g) for g in args.grid}  # also fills the SimBench cache every case reads
    cases = [c for c in CASES if c in args.cases]
    for case in cases:
        measure(case, args.grid[0], 2, args.engine)  # warm-up: disk caches, bytecode
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for grid in args.grid:
        for case in cases:
            rows[case, grid] = m = measure(case, grid, args.steps, args.engine)
            print(f"done: {case} on {grid}: {m['wall_s']:.1f} s, {m['peak_mib']:.0f} MiB")
    report(rows, size, args.grid, args.steps, cases)


def report(
    rows: dict[tuple[str, str], Any],
    size: dict[str, tuple[int, int, int]],
    grids: list[str],
    steps: int,
    cases: list[str],
) -> None:
    print(
        f"\n{'grid':24s} {'case':14s} {'buses':>6s} {'units':>6s} {'build s':>8s} "
        f"{'ms/step':>8s} {'vs rts':>7s} {'wall s':>7s} {'peak MiB':>9s}"
    )
    for grid in grids:
        buses, elements, units = size[grid]
        anchor = rows[RTS, grid]["run_s"] if RTS in cases else float("nan")
        for case in cases:
            m = rows[case, grid]
            n = units if case == "neighbourhood" else elements
            print(
                f"{grid:24s} {case:14s} {buses:6d} {n:6d} {m['build_s']:8.1f} "
                f"{1000 * m['run_s'] / steps:8.1f} {m['run_s'] / anchor:7.2f} "
                f"{m['wall_s']:7.1f} {m['peak_mib']:9.0f}"
            )
    print(
        f"{steps} steps of {STEP_S} s; rts = {RTS} of the grid alone (< 1: cosim faster); "
        "ms/step: the steps alone; wall s and peak MiB: the whole process"
    )
    first = grids[0]
    for grid in grids[1:] if cases == list(CASES) else []:
        grows = ", ".join(
            f"{c} x{rows[c, grid]['run_s'] / rows[c, first]['run_s']:.0f}" for c in cases
        )
        added = size[grid][2] - size[first][2]
        extra_s = rows["neighbourhood", grid]["run_s"] - rows["neighbourhood", first]["run_s"]
        print(
            f"{first} -> {grid}: buses x{size[grid][0] / size[first][0]:.0f}, "
            f"neighbourhood units x{size[grid][2] / size[first][2]:.0f}; ms/step {grows}; "
            f"neighbourhood: {1e6 * extra_s / steps / added:.1f} us per added unit per step"
        )


if __name__ == "__main__":
    main()
