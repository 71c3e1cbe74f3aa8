"""Islands in the grid model and the microgrid_outage scenario.

Model tests: the SimBench LV feeder with a grid-forming storage at bus 13; opening the
transformer's LV breaker (switch 8, the PCC) makes the feeder an island that the storage holds::

    ext_grid (bus 42) -- trafo 0 --[switch 8 open]-- bus 3 -- feeder ... bus 13: storage (forming)

It must equal pandapower run directly on the same net with an ext_grid standing in for the
storage at bus 13 (vm 1.0 pu, at the angle bus 13 had before). Scenario tests run
microgrid_outage (outage 16:00-20:00 of 2016-01-15) and check the balance of each island step
and, without a grid-forming unit, that the energy not served is the island's whole demand.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd
import pytest

from controllers.base import Measurements
from controllers.islanding import Islanding
from cosim.analysis import kpis, results
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from simulators.grid.model import GridModel
from simulators.simbench_nets import simbench_net

CODE = "1-LV-rural1--0-sw"
PCC, FORMING_BUS = 8, 13


@pytest.fixture(scope="module")
def net() -> pp.pandapowerNet:
    return simbench_net(CODE)


def _island(net: pp.pandapowerNet) -> tuple[GridModel, int, float]:
    model = GridModel(copy.deepcopy(net))
    idx = model.add_element("storage", FORMING_BUS, grid_forming=True, p_mw=0.002)
    model.solve()
    va_before = float(model.result("bus", "va_degree")[list(net.bus.index).index(FORMING_BUS)])
    model.set_values("switch", "closed", np.array([PCC]), np.array([False]))
    assert model.solve() and model.islanded
    return model, idx, va_before


def test_island_equals_pandapower_with_the_same_slack(net: pp.pandapowerNet) -> None:
    model, _, va_before = _island(net)
    ref = copy.deepcopy(net)
    pp.create_storage(ref, FORMING_BUS, p_mw=0.002, max_e_mwh=np.nan)
    ref.switch.loc[PCC, "closed"] = False
    pp.create_ext_grid(ref, FORMING_BUS, vm_pu=1.0, va_degree=va_before)
    pp.runpp(ref, tolerance_mva=1e-10)
    assert np.allclose(model.result("bus", "vm_pu"), ref.res_bus.vm_pu, atol=1e-9, rtol=0)
    assert np.allclose(model.result("line", "pl_mw"), ref.res_line.pl_mw, atol=1e-9, rtol=0)
    # the storage's power = its own 2 kW + what the island's source gives (storage sign)
    slack_mw = -ref.res_ext_grid.p_mw.iloc[1]
    assert model.result("storage", "p_slack_mw")[0] == pytest.approx(slack_mw, abs=1e-9)
    p_inj_mw = -(0.002 + slack_mw)
    assert model.result("storage", "p_mw")[0] == pytest.approx(-p_inj_mw, abs=1e-9)
    # droop: unrated (1 MVA basis), 5 %: f = 50 - 50 Hz * 0.05 * p / 1 MW
    f_hz = 50.0 - 2.5 * p_inj_mw
    island = net.bus.index != 42
    assert model.result("bus", "f_hz")[island] == pytest.approx(f_hz, abs=1e-9)
    assert model.result("bus", "f_hz")[~island] == 50.0  # bus 42: still on its ext_grid
    # the island's angles: pandapower's with the slip of one 900 s step added
    slip = 360.0 * (f_hz - 50.0) * 900.0
    va = model.result("bus", "va_degree")
    expected = (ref.res_bus.va_degree.to_numpy() + np.where(island, slip, 0.0) + 180) % 360 - 180
    assert np.allclose(va, expected, atol=1e-6)
    assert va[list(net.bus.index).index(FORMING_BUS)] == pytest.approx(
        (va_before + slip + 180) % 360 - 180, abs=1e-6
    )


def test_island_balance_and_late_booking(net: pp.pandapowerNet) -> None:
    model, idx, _ = _island(net)
    feeder = [b for b in net.bus.index if b != 42]  # bus 42: the MV side, outside the island
    on_feeder = net.line.from_bus.isin(feeder).to_numpy()
    for step in range(3):
        slack = float(model.result("storage", "p_slack_mw")[0])
        loads = model.result("load", "p_mw").sum() - model.result("sgen", "p_mw").sum()
        losses = model.result("line", "pl_mw")[on_feeder].sum()
        assert -model.result("storage", "p_mw")[0] == pytest.approx(loads + losses, abs=1e-9)
        # next step the unit reports the booked slack power: it must not flow a second time
        model.set_values("storage", "p_mw", np.array([idx]), np.array([slack]))
        model.set_values("load", "p_mw", np.array([0]), np.array([0.001 * (step + 2)]))
        assert model.solve()
    model.set_values("switch", "closed", np.array([PCC]), np.array([True]))
    model.set_values("storage", "p_mw", np.array([idx]), np.array([0.003]))  # last booking
    assert model.solve() and not model.islanded
    assert model.result("storage", "p_mw")[0] == 0.0  # a booking, not an injection
    assert np.isnan(model.result("storage", "p_slack_mw")[0])


def _microgrid(tmp_path: Path, name: str, **values: object) -> pd.DataFrame:
    scenario = load_scenario("microgrid_outage")
    cfg = make_config(scenario.config_class, steps=88, **values)
    out = runner.run(scenario, cfg, tmp_path / name, progress=False)
    assert out.status == "completed", out.error
    return out.out_dir


def test_microgrid_rides_through_and_balances(tmp_path: Path) -> None:
    folder = _microgrid(tmp_path, "mg")
    data = results.load(folder)
    islanded = data[("Grid-0.grid", "islanded")].astype(bool)
    assert islanded.sum() >= 15  # 16:00 until resynchronised after 20:00
    for t_s in data.index[islanded]:
        row = data.loc[t_s]
        load = row.xs("p_mw", level="attr").filter(like="load_").sum()
        sgen = row.xs("p_mw", level="attr").filter(like="sgen_").sum()
        losses = row.xs("pl_mw", level="attr").filter(like="line_").sum()
        if row[("Grid-0.switch_8", "closed")]:  # the PCC still closed: the trafo is in the island
            losses += row[("Grid-0.trafo_0", "pl_mw")]
        storage = row[("Grid-0.storage_0", "p_mw")]
        assert -storage == pytest.approx(load + losses - sgen, abs=1e-6), t_s
    # energy: the battery books exactly what the grid drew from it (one step late)
    grid_side = data[("Grid-0.storage_0", "p_mw")].sum()
    unit_side = data[("Battery-0.battery_0", "p_mw")].sum()
    assert unit_side == pytest.approx(grid_side, abs=1e-9)
    values = kpis.to_frame(kpis.compute(folder)).set_index("name")["value"]
    assert values["switching_operations"] >= 2  # PCC opened and closed
    assert data[("Grid-0.switch_8", "closed")].iloc[-1]  # resynchronised
    # loss of mains within the step: at 16:00 the relay has opened the PCC, nothing crosses it
    assert not data.loc[16 * 3600, ("Grid-0.switch_8", "closed")]
    assert data.loc[16 * 3600, ("Grid-0.trafo_0", "loading_percent")] == 0.0
    assert data.loc[16 * 3600, ("Grid-0.grid", "islanded")]
    # the battery within its limits and its SoC window (0..1 by default) all day
    assert not data[("Battery-0.battery_0", "limit_violated")].any()
    soc = data[("Battery-0.battery_0", "soc_frac")]
    assert soc.min() >= 0.0 and soc.max() <= 1.0
    assert values["limit_violated_steps"] == 0


def test_a_battery_too_small_for_its_island_leaves_it_dark(tmp_path: Path) -> None:
    """10 kW battery, no controller: the island collapses when it needs more than 10 kW, and
    every load in it is unserved while it is dark."""
    folder = _microgrid(tmp_path, "small", battery_p_mw=0.01, controller="")
    data = results.load(folder)
    dark = data[("Grid-0.storage_0", "tripped")].astype(bool)
    assert dark.any()
    held = data[("Grid-0.grid", "islanded")].astype(bool)
    # while held, the battery gives at most 10 kW (and its booking next step is the same)
    assert (-data.loc[held, ("Grid-0.storage_0", "p_mw")] <= 0.01 + 1e-9).all()
    assert not data[("Battery-0.battery_0", "limit_violated")].any()
    # while dark, what the loads are not served is their whole demand from the profiles
    demand = data.xs("p_unserved_mw", level="attr", axis=1).filter(like="load_")
    served = data.xs("p_mw", level="attr", axis=1).filter(like="load_")
    assert (served[dark] == 0).all().all()
    # the same loads on a day without an outage (it would start after the run's 22 h): their
    # served power at the dark steps is the demand the dark island did not serve
    reference = results.load(_microgrid(tmp_path, "ref", outage_start_h=30.0, controller=""))
    wanted = reference.xs("p_mw", level="attr", axis=1).filter(like="load_")
    assert demand[dark].to_numpy() == pytest.approx(wanted[dark].to_numpy(), abs=1e-12)
    assert (demand[dark].sum(axis=1) > 0.01).all()  # more than the battery could give
    values = kpis.to_frame(kpis.compute(folder)).set_index("name")["value"]
    unserved_mwh = wanted[dark].sum().sum() * 0.25  # MW x 0.25 h per step
    assert values["energy_not_served_mwh"] == pytest.approx(unserved_mwh, rel=1e-12)
    assert values["island_collapsed_h"] == pytest.approx(dark.sum() * 0.25)
    assert values["islanded_h"] + values["island_collapsed_h"] == pytest.approx(4.0)


def test_without_grid_forming_unit_the_island_demand_is_not_served(tmp_path: Path) -> None:
    folder = _microgrid(tmp_path, "dark", battery_grid_forming=False, controller="")
    data = results.load(folder)
    outage = (data.index >= 16 * 3600) & (data.index < 20 * 3600)
    demand = data.xs("p_unserved_mw", level="attr", axis=1)
    assert (
        (data.xs("vm_pu", level="attr", axis=1)[outage].drop(columns="Grid-0.ext_grid_0") == 0)
        .all()
        .all()
    )
    expected_mwh = demand[outage].sum().sum() * 0.25
    assert expected_mwh > 0.05
    values = kpis.to_frame(kpis.compute(folder)).set_index("name")["value"]
    assert values["energy_not_served_mwh"] == pytest.approx(expected_mwh, rel=1e-12)
    assert demand[~outage].sum().sum() == 0.0


def _islanding(**options: Any) -> tuple[Islanding, Callable[..., Measurements]]:
    """An Islanding controller over two loads ("high" 0.03 MW served, "low" 0.02 MW) and a
    0.1 MWh battery of 0.05 MW, and a maker of its measurements."""
    ctrl = Islanding(
        pcc_switch="s", upstream="u", island_bus="bi", upstream_bus="bu", battery="b",
        battery_grid="bg", loads=["high", "low"], reserve_soc_frac=0.2, **options,
    )  # fmt: skip
    observed = {e: {a for e2, a in ctrl.observes() if e2 == e} for e, _ in ctrl.observes()}

    def seen(
        upstream: float,
        soc: float,
        draw: float,
        va_island: float = -150.0,
        low_on: bool = True,
        f_island: float = 50.0,
        tripped: bool = False,
    ) -> Measurements:
        low = 0.02 if low_on else 0.0  # a shed load reports its demand as unserved
        if tripped:  # the island is dark: nothing served, nothing drawn
            low, draw, f_island = 0.0, 0.0, 0.0
        values = {
            "u": {"vm_pu": upstream},
            "bi": {"vm_pu": 0.0 if tripped else 1.0, "va_degree": va_island, "f_hz": f_island},
            "bu": {"vm_pu": upstream, "va_degree": 0.0, "f_hz": 50.0 if upstream else 0.0},
            # 0.05 MW inverter; the SoC window leaves it its full power
            "b": {
                "soc_frac": soc,
                "e_max_mwh": 0.1,
                "p_available_charge_mw": 0.05,
                "p_available_discharge_mw": 0.05,
            },
            "bg": {"p_mw": -draw, "tripped": tripped},
            "high": {"p_mw": 0.0 if tripped else 0.03, "p_unserved_mw": 0.03 if tripped else 0.0},
            "low": {"p_mw": low, "p_unserved_mw": 0.02 - low},
        }
        return Measurements(values, observed)

    return ctrl, seen


def test_controller_sheds_lowest_priority_first_and_resynchronises() -> None:
    ctrl, seen = _islanding(pcc_shift_degree=150.0)
    assert ctrl.decide(0, seen(0.0, 0.9, 0.0)) == {"s": {"closed": False}}
    # 0.06 MW drawn > 0.05 MW limit: shed "low" (0.02 MW), which suffices
    shed = ctrl.decide(900, seen(0.0, 0.9, 0.06))
    assert shed.pop("low") == {"in_service": False}
    assert shed == {"bg": {"f_set_hz": 50.0}}  # at nominal: secondary control holds
    # upstream back but 30 degrees apart (IEEE 1547 Table 39: 20 deg): wait and steer the phase
    # by -30 deg over the 900 s step: f_set = 50 + (50 - 50) - 30 / (360 * 900) Hz
    waits = ctrl.decide(1800, seen(1.0, 0.8, 0.04, va_island=-120.0, low_on=False))
    assert waits == {"bg": {"f_set_hz": pytest.approx(50.0 - 30.0 / 324000.0, abs=1e-12)}}
    # in phase but 0.4 Hz fast (> 0.3 Hz): wait; secondary control takes 0.4 Hz off f_set
    waits = ctrl.decide(2700, seen(1.0, 0.8, 0.04, f_island=50.4, low_on=False))
    assert waits == {"bg": {"f_set_hz": pytest.approx(50.0 - 30.0 / 324000.0 - 0.4)}}
    assert ctrl.decide(3600, seen(1.0, 0.8, 0.04, f_island=50.2, low_on=False)) == {
        "s": {"closed": True},
        "low": {"in_service": True},
        "bg": {"f_set_hz": 50.0},
    }
    assert ctrl.report()["switching_operations"] == 4


def test_a_shed_load_stays_off_for_min_off_s_in_the_island() -> None:
    ctrl, seen = _islanding(min_off_s=3600)
    assert ctrl.decide(0, seen(0.0, 0.9, 0.0)) == {"s": {"closed": False}}
    shed = ctrl.decide(900, seen(0.0, 0.9, 0.06))
    assert shed["low"] == {"in_service": False}  # shed at 900 s
    # 0.02 MW drawn: with "low" back 0.04 MW, within the headroom 0.9 x 0.05 MW (the battery's
    # limit; its energy above the reserve allows more), but it has been off only 900 s
    assert "low" not in ctrl.decide(1800, seen(0.0, 0.9, 0.02, low_on=False))
    assert "low" not in ctrl.decide(3600, seen(0.0, 0.9, 0.02, low_on=False))  # off 2700 s
    assert ctrl.decide(4500, seen(0.0, 0.9, 0.02, low_on=False))["low"] == {"in_service": True}


def test_after_a_collapse_the_controller_sheds_until_a_black_start_fits() -> None:
    ctrl, seen = _islanding()
    ctrl.decide(0, seen(0.0, 0.9, 0.0))
    # dark island: 0.03 + 0.02 MW unserved; the battery gives 0.05 MW but only
    # (0.9 - 0.2) x 0.1 MWh / 0.25 h = 0.28 MW above the reserve: 0.05 MW fits, nothing to shed
    assert ctrl.decide(900, seen(0.0, 0.9, 0.0, tripped=True)) == {}
    # at SoC 0.3: (0.3 - 0.2) x 0.1 / 0.25 = 0.04 MW < 0.05 MW: shed "low" (0.02 MW)
    assert ctrl.decide(1800, seen(0.0, 0.3, 0.0, tripped=True)) == {"low": {"in_service": False}}


def test_synchronisation_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match=r"sync_df_hz=0\.0 must be > 0"):
        _islanding(sync_df_hz=0.0)
