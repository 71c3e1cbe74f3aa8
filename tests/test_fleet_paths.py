"""The fleet path and the single-entity path of a scenario give the same results folder.

Same scenario, parameters and seed, once with one mosaik entity per unit and grid element and
once with one fleet entity per unit type and element table (``cosim.core.fleet``): the same
columns (every unit named alike) and the same values, in-process and with every simulator as
its own OS process, with and without a controller that names single units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.analysis import results
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

STEPS = 12  # three hours of 15 min: the midday PV, battery and EV activity below
START = "2016-06-06 10:00:00"
SUM_ORDER_ATOL = 1e-9
"""Where the arithmetic differs only in the order of a sum (several sources of one input),
the issue's bound; everything else is compared bit for bit."""


def _run(
    tmp_path: Path, name: str, fleets: bool, processes: bool = False, **values
) -> pd.DataFrame:
    scenario = load_scenario(name)
    values = {"start": START, **values}
    cfg = make_config(scenario.config_class, steps=STEPS, fleets=fleets, **values)
    out = tmp_path / f"{name}-{fleets}-{processes}"
    outcome = runner.run(scenario, cfg, out, processes=processes, progress=False)
    assert outcome.status == "completed", outcome.error
    return results.load(out)


def _same(units: pd.DataFrame, fleets: pd.DataFrame) -> None:
    assert list(units.columns) == list(fleets.columns)
    assert units.index.equals(fleets.index)
    a, b = units.to_numpy(dtype=float), fleets.to_numpy(dtype=float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    diff = np.nan_to_num(np.abs(a - b))
    assert diff.max() <= SUM_ORDER_ATOL, units.columns[int(np.argmax(diff.max(axis=0)))]


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "processes"])
def test_neighbourhood_fleets_equal_single_entities(tmp_path: Path, processes: bool) -> None:
    units = _run(tmp_path, "neighbourhood", False, processes)
    fleets = _run(tmp_path, "neighbourhood", True, processes)
    assert len(units.columns) > 100  # every element and unit of the feeder
    _same(units, fleets)
    # the grid sees the units: bit for bit, the same arithmetic on both paths
    vm = [c for c in units.columns if c[1] == "vm_pu"]
    assert np.array_equal(units[vm].to_numpy(), fleets[vm].to_numpy())


def test_controller_of_single_units_runs_fleets_alike(tmp_path: Path) -> None:
    """demand_response names every battery, EV and flexible load by its unit id; on the
    fleet path the controller host observes and sets them inside their fleets."""
    given = {"controller": "demand_response", "start": "2016-01-01 10:00:00"}  # farms' peak
    units = _run(tmp_path, "neighbourhood", False, **given)
    fleets = _run(tmp_path, "neighbourhood", True, **given)
    _same(units, fleets)
    acted = [c for c in units.columns if c[1] == "p_reduced_mw"]
    assert units[acted].to_numpy().max() > 0  # the controller did reduce some demand


def test_grid_profiles_fleets_equal_single_entities(tmp_path: Path) -> None:
    units = _run(tmp_path, "grid_profiles", False, grid="1-MV-rural--0-sw")
    fleets = _run(tmp_path, "grid_profiles", True, grid="1-MV-rural--0-sw")
    _same(units, fleets)
    assert np.array_equal(units.to_numpy(), fleets.to_numpy())  # the same arithmetic
