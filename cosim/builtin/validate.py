"""``cosim validate``: the co-simulation against pandapower's own time-series loop.

Runs ``grid_profiles`` on a SimBench grid with its SimBench profiles, and pandapower's
``run_timeseries`` on the same net and profiles, then reports the largest absolute difference
of every compared quantity. This is the built-in proof that the co-simulation adds no error,
with either power-flow engine of the Grid (``engine``: pandapower, or power-grid-model, which
must agree with pandapower's own loop within the same tolerances).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import simbench

from cosim.analysis.results import load
from cosim.builtin.reference import run_pandapower_timeseries
from cosim.core.errors import ConfigError, SimulationError
from cosim.core.simapi import DEFAULT_START, iso_datetime
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from simulators.profiles import model
from simulators.profiles.simbench import simbench_table
from simulators.simbench_nets import simbench_net

STEP_S = 900  # SimBench profiles are quarter-hourly
# largest allowed |co-simulation - run_timeseries|: both solve to pandapower's default
# tolerance_mva = 1e-8 or tighter (the power-grid-model engine: 1e-10 pu steps), so the differences
# are far below these
TOLERANCES = {"vm_pu": 1e-6, "va_degree": 1e-5, "loading_percent": 1e-4, "p_mw": 1e-6}


@dataclass(frozen=True)
class Report:
    grid: str
    steps: int
    start: str
    engine: str
    max_abs_diff: dict[str, float]
    compared: dict[str, int]  # number of columns compared per attr

    @property
    def ok(self) -> bool:
        return all(self.max_abs_diff[a] <= TOLERANCES[a] for a in TOLERANCES)


def compare(
    grid: str,
    steps: int,
    processes: bool = False,
    start: str | None = None,
    engine: str = "pandapower",
) -> Report:
    """Run both from ``start`` (None: the scenarios' default), the co-simulation with the
    Grid's power-flow ``engine``, and compare; ConfigError for a grid that is not a SimBench
    code or an unknown engine."""
    start = start or DEFAULT_START
    if grid not in simbench.collect_all_simbench_codes():
        raise ConfigError(f"grid={grid!r} is not a SimBench code (see simbench's code list)")
    scenario = load_scenario("grid_profiles")
    cfg = make_config(
        scenario.config_class,
        grid=grid,
        steps=steps,
        step_s=STEP_S,
        start=start,
        record_angles=True,
        engine=engine,
    )
    offset_s = model.offset_s(iso_datetime("start", start), model.SIMBENCH_ORIGIN, True)
    with tempfile.TemporaryDirectory() as tmp:
        outcome = runner.run(scenario, cfg, Path(tmp) / "run", processes=processes, progress=False)
        if outcome.status != "completed":
            raise SimulationError(f"co-simulation of {grid!r} failed: {outcome.error}")
        ours = load(outcome.out_dir)
    ours.columns = pd.MultiIndex.from_tuples(
        [(str(col[0]).split(".", 1)[1], col[1]) for col in ours.columns]
    )
    # the same net and profile values the co-simulation read (from the SimBench cache, whose
    # values equal simbench.get_simbench_net's and get_absolute_values' bit for bit)
    net = simbench_net(grid, profiles=False)
    table = simbench_table(grid)
    reference = run_pandapower_timeseries(net, table, steps, STEP_S, offset_s=offset_s, wraps=True)
    diffs: dict[str, float] = {}
    counts: dict[str, int] = {}
    for attr in TOLERANCES:
        cols = [c for c in reference.columns if c[1] == attr]
        missing = [c for c in cols if c not in ours.columns]
        if missing or not cols:
            raise SimulationError(f"co-simulation results lack {attr} of {missing[:5]}")
        delta = ours[cols].to_numpy() - reference[cols].to_numpy()
        diffs[attr] = float(abs(delta).max())
        counts[attr] = len(cols)
    return Report(grid, steps, start, engine, diffs, counts)


def render(report: Report) -> str:
    lines = [
        f"validate {report.grid}: {report.steps} steps from {report.start},"
        f" co-simulation ({report.engine}) vs pandapower run_timeseries"
    ]
    for attr, diff in report.max_abs_diff.items():
        verdict = "ok" if diff <= TOLERANCES[attr] else "FAIL"
        lines.append(
            f"  {attr:16s} max |diff| {diff:.3e}  (tolerance {TOLERANCES[attr]:.0e}, "
            f"{report.compared[attr]} columns)  {verdict}"
        )
    lines.append("PASS" if report.ok else "FAIL")
    return "\n".join(lines)
