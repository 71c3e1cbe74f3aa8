"""Shared by the benchmarks: the recorded quantities and the two sides every comparison has.

- :func:`cosim_run`: a whole in-process cosim run of a scenario (start, build, every step,
  recording to Parquet, manifest).
- :func:`anchor_run`: pandapower's own ``run_timeseries`` (ConstControl + OutputWriter,
  ``cosim.builtin.reference.run_pandapower_timeseries``) on the same SimBench net and profiles,
  logging
  the same quantities as ``grid_profiles`` records.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

STEP_S = 900
"""Step of every benchmark run: SimBench's 15-min rows [s]."""

LOGGED: tuple[tuple[str, str, str], ...] = (
    ("res_bus", "vm_pu", "bus"),
    ("res_line", "loading_percent", "line"),
    ("res_trafo", "loading_percent", "trafo"),
    ("res_ext_grid", "p_mw", "ext_grid"),
    ("res_ext_grid", "q_mvar", "ext_grid"),
)
"""(result table, column, element): what ``grid_profiles`` records, logged by the anchor."""


def cosim_run(
    name: str,
    steps: int,
    out_dir: Path,
    *,
    processes: bool = False,
    overrides: Iterable[str] = (),
    **values: Any,
) -> runner.RunOutcome:
    """Run scenario ``name`` for ``steps`` x :data:`STEP_S` into ``out_dir``; raise if it fails.

    ``values`` are Config fields, ``overrides`` ``KEY=VALUE`` strings as ``cosim run --set``.
    """
    scenario = load_scenario(name)
    cfg = make_config(scenario.config_class, overrides, steps=steps, step_s=STEP_S, **values)
    outcome = runner.run(scenario, cfg, out_dir, processes=processes, progress=False)
    if outcome.status != "completed":
        raise SystemExit(f"{name} failed: {outcome.error}")
    return outcome


def anchor_run(
    grid: str, steps: int, logged: tuple[tuple[str, str, str], ...] = LOGGED
) -> pd.DataFrame:
    """pandapower's ``run_timeseries`` on SimBench ``grid`` with its own profiles.

    Loads the net (from cosim's SimBench cache, as cosim does) and its profiles, then runs
    ``steps`` power flows logging ``logged``; returns the logged values, indexed by ``t_s`` [s]
    with ``(entity, attr)`` columns (see ``cosim.builtin.reference.run_pandapower_timeseries``).
    """
    from cosim.builtin.reference import run_pandapower_timeseries
    from simulators.profiles.simbench import simbench_table
    from simulators.simbench_nets import simbench_net

    net = simbench_net(grid, profiles=False)
    return run_pandapower_timeseries(net, simbench_table(grid), steps, STEP_S, logged=logged)
