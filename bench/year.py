"""Benchmark: a year at 15 min against pandapower and a plain mosaik scenario, in one run.

    python bench/year.py [--steps 35040] [--grids LV,MV] [--skip-anchors] [--jobs 1]
                         [--neighbourhood-set KEY=V ...] [--skip-neighbourhood]

For each grid (``LV`` = 1-LV-rural1--0-sw, ``MV`` = 1-MV-rural--0-sw, or any SimBench code),
each case runs in its own fresh Python process, timed from spawn to exit (imports, loading,
building, every step, writing results), and its peak resident memory is that process's own
(``os.wait4``):

- ``grid_profiles``: cosim, recording bus vm_pu, line and trafo loading_percent, ext_grid p_mw
  and q_mvar to Parquet.
- ``run_timeseries``: pandapower's ``run_timeseries`` with ConstControl and an OutputWriter
  logging the same quantities (``bench/_common.anchor_run``).
- ``mosaik-pandapower-2``: a plain mosaik scenario of community parts: the mosaik-pandapower-2
  grid simulator on the same net, fed by a minimal profile source with the same SimBench
  profiles, recording what it exposes of the same quantities (bus Vm, line loading, ext_grid
  P and Q; it has no trafo results) into memory. Its loads and sgens take no inputs, so the
  source feeds each element's value to its bus (``P_load[MW]``, ``Q_load[MVar]``,
  ``P_gen[MW]``), where the simulator sums them into one load and one sgen per bus; the
  net's own elements keep only what no profile drives.
- ``neighbourhood`` (on its default LV grid, with every unit type; with
  ``controller=demand_response`` once its Config has a ``controller`` field): its resident
  memory is sampled every tenth of the run, to show that it stays flat.

Printed: wall time, ms per step, steps per second, peak memory, the ratios against
``run_timeseries`` and mosaik-pandapower-2 on the same grid (< 1: faster), the same ratios of
CPU time (user + system of the case's process: the fairer measure on a shared machine, and
with ``--jobs 2``, which measures the grids side by side), and how far the first day's bus
voltages and line loadings of each side are from ``run_timeseries``. Install the benchmark's
extra parts with ``pip install -e .[bench]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd
from _common import STEP_S, anchor_run, cosim_run
from _mpp2 import MPP2, MPP2_MODULE, mpp2_day, mpp2_world

GRIDS = {"LV": "1-LV-rural1--0-sw", "MV": "1-MV-rural--0-sw"}
YEAR_STEPS = 35_040
DAY_STEPS = 96
RTS = "run_timeseries"


# --- inside a case's own process ------------------------------------------------------------


def rss_mib() -> float:
    """Resident memory of this process now [MiB] (``VmRSS`` of /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample_rss_per_step(steps: int, samples: int) -> list[tuple[int, float]]:
    """Sample this process's RSS every ``steps // samples`` recorder steps and at the last one.

    Wraps ``RecorderSim.step`` of this process (the benchmark's own instrumentation); the
    returned list fills while the run goes, as (step, MiB).
    """
    from cosim.run import recorder

    every = max(steps // max(samples, 1), 1)
    taken: list[tuple[int, float]] = []
    step = recorder.RecorderSim.step
    count = 0

    def sampled(self: Any, time: int, inputs: Any, max_advance: int) -> int:
        nonlocal count
        if count % every == 0 or count == steps - 1:
            taken.append((count, rss_mib()))
        count += 1
        return step(self, time, inputs, max_advance)

    recorder.RecorderSim.step = sampled  # type: ignore[method-assign]
    return taken


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep bus vm_pu and line loading_percent; columns ``bus_3.vm_pu``; rows by step."""
    keep = [
        (e, a)
        for e, a in frame.columns
        if (a == "vm_pu" and e.startswith("bus_")) or (a == "loading_percent" and "line_" in e)
    ]
    out = frame[keep].reset_index(drop=True)
    out.columns = [f"{e}.{a}" for e, a in keep]
    return out


def cosim_day(out_dir: Path, steps: int) -> pd.DataFrame:
    """The first ``steps`` steps of vm_pu and loading_percent from a cosim results folder."""
    import pyarrow.dataset as ds

    from cosim.analysis.results import SCHEMA, parts

    dataset = ds.dataset([str(p) for p in parts(out_dir)], format="parquet", schema=SCHEMA)
    wanted = (ds.field("t_s") < steps * STEP_S) & ds.field("attr").isin(
        ["vm_pu", "loading_percent"]
    )
    long = dataset.to_table(filter=wanted).to_pandas()
    long["entity"] = long["entity"].astype(str).str.removeprefix("Grid-0.")
    long["attr"] = long["attr"].astype(str)
    return flat(long.pivot_table(index="t_s", columns=["entity", "attr"], values="value"))


def run_case(case: str, grid: str, steps: int, work: Path, sets: list[str], samples: int) -> None:
    """One case in this process; writes ``<work>/<case>.json`` and ``<case>-day.parquet``."""
    from cosim.run.logs import quiet_logging

    quiet_logging()
    info: dict[str, Any] = {}
    day: Callable[[], pd.DataFrame | None] = lambda: None  # noqa: E731
    if case in ("grid_profiles", "neighbourhood"):
        rss = sample_rss_per_step(steps, samples)
        out = work / f"{case}-results"
        values = {"grid": grid} if case == "grid_profiles" else {}
        outcome = cosim_run(case, steps, out, overrides=sets, **values)
        info.update(loop_s=outcome.run_s, build_s=outcome.build_s, rss=rss)
        if case == "grid_profiles":
            day = lambda: cosim_day(out, min(steps, DAY_STEPS))  # noqa: E731
    elif case == RTS:
        t0 = time.perf_counter()
        frame = anchor_run(grid, steps)
        info.update(loop_s=time.perf_counter() - t0)
        day = lambda: flat(frame.iloc[:DAY_STEPS])  # noqa: E731
    elif case == MPP2:
        world, sink = mpp2_world(grid, steps)
        t0 = time.perf_counter()
        world.run(until=steps * STEP_S, print_progress=False)
        info.update(loop_s=time.perf_counter() - t0)
        if np.isnan(sink.values).any():
            raise SystemExit(f"{MPP2}: the sink missed values")
        day = lambda: mpp2_day(sink, DAY_STEPS)  # noqa: E731
    else:
        raise SystemExit(f"unknown case {case!r}")
    t0, cpu0 = time.perf_counter(), time.process_time()
    if (frame_day := day()) is not None:
        frame_day.to_parquet(work / f"{case}-day.parquet")
    info.update(check_s=time.perf_counter() - t0, check_cpu_s=time.process_time() - cpu0)
    (work / f"{case}.json").write_text(json.dumps(info))


# --- the parent: one process per case, the table ------------------------------------------


@dataclasses.dataclass
class Measured:
    case: str
    grid: str
    steps: int
    wall_s: float
    cpu_s: float
    loop_s: float
    peak_mib: float
    rss: list[tuple[int, float]]
    day: pd.DataFrame | None


def measure(case: str, grid: str, steps: int, sets: list[str], samples: int) -> Measured:
    """Run one case in a fresh process: its wall and CPU time from spawn to exit, less the
    agreement check's, and its peak resident memory."""
    with tempfile.TemporaryDirectory(prefix="cosim-year-") as tmp:
        work = Path(tmp)
        cmd = [sys.executable, __file__, "--case", case, "--grid", grid, "--steps", str(steps)]
        cmd += ["--work", str(work), "--rss-samples", str(samples)]
        cmd += [f"--set={s}" for s in sets]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall_s = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{case} on {grid} failed (exit {proc.returncode})")
        info = json.loads((work / f"{case}.json").read_text())
        day_path = work / f"{case}-day.parquet"
        day = pd.read_parquet(day_path) if day_path.is_file() else None
        shutil.rmtree(work / f"{case}-results", ignore_errors=True)
    return Measured(
        case,
        grid,
        steps,
        wall_s - info["check_s"],
        usage.ru_utime + usage.ru_stime - info["check_cpu_s"],
        info["loop_s"],
        usage.ru_maxrss / 1024,  # Linux: KiB
        [tuple(s) for s in info.get("rss", [])],
        day,
    )


def agreement(ours: pd.DataFrame, ref: pd.DataFrame) -> str:
    """Max |difference| of vm_pu [pu] and loading_percent [%] over the columns both have."""
    common = ours.columns.intersection(ref.columns)
    n = min(len(ours), len(ref))
    diff = (ours.loc[: n - 1, common] - ref.loc[: n - 1, common]).abs()
    vm = diff[[c for c in common if c.endswith(".vm_pu")]].to_numpy().max()
    loading = diff[[c for c in common if c.endswith(".loading_percent")]].to_numpy().max()
    return f"max |d vm_pu| = {vm:.1e} pu, max |d loading_percent| = {loading:.1e} % ({n} steps)"


def neighbourhood_sets(extra: list[str]) -> tuple[list[str], str]:
    """``--neighbourhood-set`` values, plus demand response where the Config offers it."""
    from cosim.run.config import make_config
    from cosim.run.scenario import load_scenario

    cls = load_scenario("neighbourhood").config_class
    sets = list(extra)
    if "controller" in {f.name for f in dataclasses.fields(cls)}:
        if not any(s.partition("=")[0].strip() == "controller" for s in sets):
            sets.append("controller=demand_response")
        note = ""
    else:
        note = (
            "note: neighbourhood's Config has no 'controller' field yet: "
            "it runs without demand response"
        )
    make_config(cls, sets, steps=2)  # a bad --neighbourhood-set fails now, not after an hour
    return sets, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=YEAR_STEPS)
    parser.add_argument(
        "--grids", default="LV,MV", help="LV, MV or SimBench codes, comma-separated"
    )
    parser.add_argument("--skip-anchors", action="store_true", help=f"no {RTS} and no {MPP2}")
    parser.add_argument("--skip-neighbourhood", action="store_true")
    parser.add_argument("--neighbourhood-set", action="append", default=[], metavar="KEY=V")
    parser.add_argument("--rss-samples", type=int, default=10, help="RSS samples over a run")
    parser.add_argument(
        "--jobs", type=int, default=1, help="grids measured at once (compare CPU s then)"
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--grid", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--set", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.grid, args.steps, Path(args.work), args.set, args.rss_samples)
        return

    from simulators.simbench_nets import simbench_net

    grids = [GRIDS.get(g.strip(), g.strip()) for g in args.grids.split(",") if g.strip()]
    anchors = [] if args.skip_anchors else [RTS, MPP2]
    if MPP2 in anchors and importlib.util.find_spec(MPP2_MODULE) is None:
        print(f"note: {MPP2} is not installed (pip install -e .[bench]): its case is skipped")
        anchors.remove(MPP2)
    sets, note = neighbourhood_sets(args.neighbourhood_set)
    if note and not args.skip_neighbourhood:
        print(note)
    plan = [(c, g, []) for g in grids for c in ["grid_profiles", *anchors]]
    if not args.skip_neighbourhood:
        from scenarios.neighbourhood import Config

        plan.append(("neighbourhood", Config.grid, sets))
    for grid in {g for _, g, _ in plan}:
        simbench_net(grid)  # fills the SimBench cache every case reads
    for case, grid, case_sets in {c: (c, g, s) for c, g, s in plan}.values():
        measure(case, grid, 2, case_sets, 1)  # warm-up: disk caches, bytecode
    lanes: dict[str, list[tuple[str, str, list[str]]]] = {}
    for item in plan:  # with --jobs > 1, one lane per grid; the cases of a lane run in turn
        lanes.setdefault(item[1] if args.jobs > 1 else "", []).append(item)

    def lane(items: list[tuple[str, str, list[str]]]) -> list[Measured]:
        done = []
        for case, grid, case_sets in items:
            try:
                m = measure(case, grid, args.steps, case_sets, args.rss_samples)
            except SystemExit as err:  # one failed case leaves the others' figures
                print(f"failed: {err}", flush=True)
                continue
            done.append(m)
            print(
                f"done: {case} on {grid}: {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU, "
                f"peak {m.peak_mib:.0f} MiB",
                flush=True,
            )
        return done

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        finished = [m for ms in pool.map(lane, lanes.values()) for m in ms]
    order = {(c, g): k for k, (c, g, _) in enumerate(plan)}
    report(sorted(finished, key=lambda m: order[m.case, m.grid]), sets)


def report(rows: list[Measured], sets: list[str]) -> None:
    wall = {(m.case, m.grid): m.wall_s for m in rows}
    cpu = {(m.case, m.grid): m.cpu_s for m in rows}

    def ratio(m: Measured, anchor: str, of: dict[tuple[str, str], float], mine: float) -> str:
        ref = of.get((anchor, m.grid))
        return f"{mine / ref:.2f}" if ref else "-"

    header = (
        f"{'case':18s} {'grid':18s} {'steps':>6s} {'wall s':>8s} {'ms/step':>8s} "
        f"{'steps/s':>8s} {'peak MiB':>9s} {'vs rts':>7s} {'vs mpp2':>8s} "
        f"{'CPU s':>8s} {'CPU vs rts':>11s} {'CPU vs mpp2':>12s} {'loop ms/step':>13s}"
    )
    print("\n" + header)
    for m in rows:
        label = m.case + (
            " +DR"
            if m.case == "neighbourhood" and any(s.startswith("controller=") for s in sets)
            else ""
        )
        print(
            f"{label:18s} {m.grid:18s} {m.steps:6d} {m.wall_s:8.1f} "
            f"{1000 * m.wall_s / m.steps:8.2f} {m.steps / m.wall_s:8.1f} {m.peak_mib:9.0f} "
            f"{ratio(m, RTS, wall, m.wall_s):>7s} {ratio(m, MPP2, wall, m.wall_s):>8s} "
            f"{m.cpu_s:8.1f} {ratio(m, RTS, cpu, m.cpu_s):>11s} "
            f"{ratio(m, MPP2, cpu, m.cpu_s):>12s} {1000 * m.loop_s / m.steps:13.2f}"
        )
    print(
        f"rts = {RTS}, mpp2 = {MPP2}, on the same grid (< 1: faster). wall s, CPU s: whole "
        "process, spawn to exit (imports, loading, build, steps, results); loop ms/step: the "
        "steps alone; peak MiB: the process's maximum resident memory"
    )
    days = {(m.case, m.grid): m.day for m in rows if m.day is not None}
    for (case, grid), day in days.items():
        ref = days.get((RTS, grid))
        if case != RTS and ref is not None:
            print(f"agreement with {RTS} on {grid}, first day: {case}: {agreement(day, ref)}")
    for m in rows:
        if m.case == "neighbourhood" and m.rss:
            text = ", ".join(f"{step}: {mib:.0f}" for step, mib in m.rss)
            print(f"neighbourhood resident memory by step [MiB]: {text}")


if __name__ == "__main__":
    main()
