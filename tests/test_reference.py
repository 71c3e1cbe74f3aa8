"""The pandapower time-series reference against pandapower's runpp called directly.

Topology: SimBench 1-LV-rural1--0-sw (15 buses, 13 loads, 4 sgens, one ext_grid), its own
15-min profiles applied by ``run_pandapower_timeseries`` and, for the check, written into a
copy of the net before each plain ``pp.runpp``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandapower as pp
import pytest

from cosim.builtin.reference import run_pandapower_timeseries
from cosim.core.errors import ConfigError, SimulationError
from simulators.profiles import model
from simulators.profiles.model import ProfileTable

CODE = "1-LV-rural1--0-sw"
STEPS = 4


@pytest.fixture(scope="module")
def net() -> Any:
    return model.simbench_net(CODE)


@pytest.fixture(scope="module")
def table(net: Any) -> ProfileTable:
    return model.simbench_profiles(net)


@pytest.fixture(scope="module")
def result(net: Any, table: ProfileTable) -> Any:
    return run_pandapower_timeseries(net, table, STEPS, 900)


def direct_runs(net: Any, table: ProfileTable, chained: bool, **runpp: Any) -> list[Any]:
    """pp.runpp per step with the table's row written into the net (a fresh copy per step,
    or one copy warm-started from the previous step with init="results")."""
    nets, current = [], copy.deepcopy(net)
    for k in range(STEPS):
        current = current if chained else copy.deepcopy(net)
        for (element, index, attr), value in zip(table.columns, table.row_at(900 * k), strict=True):
            current[element].at[index, attr] = value
        pp.runpp(current, init="results" if chained and k else "auto", **runpp)
        nets.append(copy.deepcopy(current))
    return nets


def assert_equal_results(result: Any, nets: list[Any], atol_vm_pu: float) -> None:
    assert list(result.index) == [0, 900, 1800, 2700] and result.index.name == "t_s"
    assert result.columns.names == ["entity", "attr"]
    # atol per attr from vm_pu's: angles and loadings move more per pu of voltage error
    for (t_s, row), direct in zip(result.iterrows(), nets, strict=True):
        for res, attr, element, atol in [
            ("res_bus", "vm_pu", "bus", atol_vm_pu),
            ("res_bus", "va_degree", "bus", 100 * atol_vm_pu),
            ("res_line", "loading_percent", "line", 1e3 * atol_vm_pu),
            ("res_ext_grid", "p_mw", "ext_grid", atol_vm_pu),
        ]:
            expected = direct[res][attr]
            got = np.array([row[model.entity_id(element, i), attr] for i in expected.index])
            np.testing.assert_allclose(
                got, expected.to_numpy(), rtol=0, atol=atol, err_msg=f"{attr} at t_s={t_s}"
            )


def test_each_step_equals_a_fresh_runpp(net: Any, table: ProfileTable) -> None:
    # Both at tolerance_mva=1e-10: at the default 1e-8 MVA the warm start of run_timeseries and
    # a fresh runpp's dc start end up to 3.3e-9 pu apart (step 1), both within tolerance.
    tight = run_pandapower_timeseries(net, table, STEPS, 900, tolerance_mva=1e-10)
    assert_equal_results(tight, direct_runs(net, table, False, tolerance_mva=1e-10), 1e-9)


def test_defaults_equal_runpp_warm_started_from_the_last_step(
    net: Any, table: ProfileTable, result: Any
) -> None:
    # what the docstring says run_timeseries does: a full runpp, then init="results" each step
    assert_equal_results(result, direct_runs(net, table, True), 1e-12)
    assert_equal_results(result, direct_runs(net, table, False), 1e-8)  # solver tolerance
    # the profile really changes between steps, so the comparison is not trivial
    assert result["ext_grid_0", "p_mw"].nunique() == STEPS


def test_rows_are_held_at_a_shorter_step(net: Any, table: ProfileTable, result: Any) -> None:
    half = run_pandapower_timeseries(net, table, 4, 450)
    assert list(half.index) == [0, 450, 900, 1350]
    # t_s 0 and 450 use row 0, 900 and 1350 row 1 (zero-order hold)
    np.testing.assert_allclose(half.to_numpy(), result.to_numpy()[[0, 0, 1, 1]], rtol=0, atol=1e-9)


def test_the_callers_net_is_not_changed(net: Any, table: ProfileTable, result: Any) -> None:
    fresh = model.simbench_net(CODE)
    assert len(net.controller) == 0 and "output_writer" not in net
    assert net.load.p_mw.equals(fresh.load.p_mw) and net.sgen.p_mw.equals(fresh.sgen.p_mw)
    assert net.res_bus.empty


def test_bad_runs_raise_config_error(net: Any, table: ProfileTable) -> None:
    with pytest.raises(ConfigError, match="steps=0"):
        run_pandapower_timeseries(net, table, 0, 900)
    with pytest.raises(ConfigError, match=r"steps=35137 x step_s=900"):
        run_pandapower_timeseries(net, table, 35137, 900)
    with pytest.raises(ConfigError, match="tolerance_mva=0"):
        run_pandapower_timeseries(net, table, 2, 900, tolerance_mva=0)
    missing = ProfileTable((("load", 99, "p_mw"),), np.zeros((4, 1)), 900)
    with pytest.raises(ConfigError, match=r"load_99\.p_mw"):
        run_pandapower_timeseries(net, missing, 2, 900)


def test_divergence_names_the_step(net: Any) -> None:
    # 50 MW on one LV load (0.4 kV, 0.16 MVA transformer) cannot be supplied: NR diverges
    table = ProfileTable((("load", 3, "p_mw"),), np.array([[0.01], [0.02], [50.0], [0.01]]), 900)
    with pytest.raises(SimulationError, match=r"did not converge at t_s=1800 \(step 2 of 4\)"):
        run_pandapower_timeseries(net, table, 4, 900)
