"""The virtual power plant: envelope and allocation by hand, schedule following, grid awareness.

Wiring of the grid-aware case (no mosaik; the controller's decide() in a loop with pandapower)::

    ext_grid - bus0 -(1 km NAYY 4x50)- bus1 - ... - bus6      batteries B1..B3 at bus4..bus6
    set points decided at t apply at t + 1 (as the controller's default timing)
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandapower as pp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import flexibility as fx
from controllers.base import Measurements
from controllers.registry import find
from controllers.vpp import Vpp, request_at
from cosim.core.errors import ConfigError
from scenarios.vpp import sensitivities


def _schedule(tmp_path: Path, rows: list[tuple[int, float | str]]) -> str:
    path = tmp_path / "schedule.csv"
    path.write_text("t_s,p_mw\n" + "".join(f"{t},{p}\n" for t, p in rows))
    return str(path)


def test_unit_ranges_by_hand() -> None:
    # battery: available charge 3 kW, discharge 5 kW -> injection -0.003..0.005, own point 0
    r = fx.battery_range(np.array([0.003]), np.array([0.005]))
    assert (r.lo[0], r.hi[0], r.ref[0]) == (-0.003, 0.005, 0.0)
    # EV plugged in, p_min 4 kW (departure need), p_max 11 kW -> injection -0.011..-0.004,
    # own point full power -0.011; an EV not plugged in: 0..0
    r = fx.ev_range(np.array([0.004, 0.004]), np.array([0.011, 0.011]), np.array([True, False]))
    assert r.lo.tolist() == [-0.011, 0.0] and r.hi.tolist() == [-0.004, 0.0]
    assert r.ref.tolist() == [-0.011, 0.0]
    # PV available 6 kW: curtailed to 0..0.006, own point 0.006
    r = fx.pv_range(np.array([0.006]))
    assert (r.lo[0], r.hi[0], r.ref[0]) == (0.0, 0.006, 0.006)
    # CHP 20 kW rating, 10 kW minimum load: 0..0.020 with p_min_on 0.010
    r = fx.chp_range(np.array([0.02]), np.array([0.01]))
    assert (r.lo[0], r.hi[0], r.p_min_on[0]) == (0.0, 0.02, 0.01)
    # flexible load that can reduce 1 kW: 0..0.001
    r = fx.flex_range(np.array([0.001]))
    assert (r.lo[0], r.hi[0]) == (0.0, 0.001)


def test_envelope_and_proportional_allocation_by_hand() -> None:
    r = fx.join(
        fx.battery_range(np.array([0.003, 0.001]), np.array([0.005, 0.001])),
        fx.pv_range(np.array([0.006])),
    )
    # envelope: lo = -0.003 - 0.001 + 0 = -0.004, hi = 0.005 + 0.001 + 0.006 = 0.012
    assert fx.envelope(r) == pytest.approx((-0.004, 0.012))
    # own points 0, 0, 0.006; target 0.009: up-headroom 0.005, 0.001, 0 shares 0.003 as 5:1
    assert fx.allocate(0.009, r) == pytest.approx([0.0025, 0.0005, 0.006])
    # target 0.002: down-headroom 0.003, 0.001, 0.006 (sum 0.010) shares 0.004 -> 40 %
    assert fx.allocate(0.002, r) == pytest.approx([-0.0012, -0.0004, 0.0036])
    # beyond the envelope: every unit at its bound
    assert fx.allocate(1.0, r) == pytest.approx(r.hi)


_POWER = st.floats(0.0, 0.1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_POWER, _POWER, _POWER, st.floats(0.0, 1.0)), min_size=1, max_size=8),
    st.floats(-0.5, 0.5, allow_nan=False),
)
def test_allocation_holds_every_range_and_meets_the_clipped_target(units, target_mw) -> None:
    charge, discharge, pv, share = (np.array(c) for c in zip(*units, strict=True))
    r = fx.join(fx.battery_range(charge, discharge), fx.pv_range(pv * share))
    p = fx.allocate(target_mw, r)
    lo, hi = fx.envelope(r)
    assert (p >= r.lo - 1e-12).all() and (p <= r.hi + 1e-12).all()
    assert p.sum() == pytest.approx(min(max(target_mw, lo), hi), abs=1e-12)


def test_chp_below_minimum_load_snaps_and_others_take_the_rest() -> None:
    r = fx.join(fx.battery_range(np.array([0.01]), np.array([0.01])), fx.chp_range(
        np.array([0.02]), np.array([0.01])))  # fmt: skip
    # target 0.009: proportional share (headroom 0.01 : 0.02) gives CHP 0.006 < 0.010 min,
    # >= 0.005 (half of it) -> CHP 0.010, battery takes 0.009 - 0.010 = -0.001
    assert fx.allocate(0.009, r) == pytest.approx([-0.001, 0.01])
    # target 0.006: CHP share 0.004 < 0.005 -> off, battery 0.006
    assert fx.allocate(0.006, r) == pytest.approx([0.006, 0.0])


def _seen(values: dict[str, dict[str, float]], ctrl: Vpp) -> Measurements:
    observed: dict[str, set[str]] = {}
    for e, a in ctrl.observes():
        observed.setdefault(e, set()).add(a)
    return Measurements(values, observed)


def _batteries(n: int, charge_mw: float, discharge_mw: float) -> dict[str, dict[str, float]]:
    return {
        f"B.b{i}": {
            "p_mw": 0.0,
            "p_available_charge_mw": charge_mw,
            "p_available_discharge_mw": discharge_mw,
        }
        for i in range(n)
    }


def test_feasible_schedule_followed_and_infeasible_shortfall_exact(tmp_path: Path) -> None:
    # two batteries of 5 kW each way; EV plugged in until t=7200 with p_min 2 kW, p_max 11 kW
    schedule = _schedule(tmp_path, [(0, ""), (900, 0.006), (1800, -0.02), (2700, 0.05)])
    ctrl = Vpp(schedule=schedule, batteries=["B.b0", "B.b1"], evs=["E.e0"], step_s=900)
    values = _batteries(2, 0.005, 0.005)
    values["E.e0"] = {"p_mw": 0.011, "p_min_mw": 0.002, "p_max_mw": 0.011, "connected": 1,
                      "t_departure_s": 7200}  # fmt: skip
    # envelope: lo = -0.010 - 0.011 = -0.021, hi = 0.010 - 0.002 = 0.008
    out = ctrl.decide(0, _seen(values, ctrl))  # request for t=900: 0.006 (feasible)
    rep = ctrl.report()
    assert (rep["p_env_min_mw"], rep["p_env_max_mw"]) == pytest.approx((-0.021, 0.008))
    injection = -sum(out[e]["p_set_mw"] for e in ("B.b0", "B.b1", "E.e0"))
    assert injection == pytest.approx(0.006, abs=1e-12)  # tolerance: float rounding only
    assert rep["p_shortfall_mw"] == 0.0 and rep["p_requested_mw"] is None  # none at t=0
    # own points: batteries 0, EV -0.011 (sum -0.011); 0.017 up shared over headroom
    # 0.005 : 0.005 : 0.009 -> EV 0.009 * 0.017 / 0.019
    assert -out["E.e0"]["p_set_mw"] == pytest.approx(-0.011 + 0.009 * 0.017 / 0.019)
    ctrl.decide(900, _seen(values, ctrl))  # request for 1800: -0.020, inside -0.021
    assert ctrl.report()["p_set_mw"] == pytest.approx(-0.02)
    assert ctrl.report()["p_requested_mw"] == pytest.approx(0.006)  # the request at t=900
    ctrl.decide(1800, _seen(values, ctrl))  # request for 2700: 0.050, envelope max 0.008
    rep = ctrl.report()
    assert rep["p_set_mw"] == pytest.approx(0.008)
    assert rep["p_shortfall_mw"] == pytest.approx(0.05 - 0.008)  # = 0.042 MW by hand
    assert rep["p_flex_up_mw"] == pytest.approx(0.0)
    assert rep["p_flex_down_mw"] == pytest.approx(0.008 + 0.021)


def test_pcc_target_moves_the_fleet_by_the_import_error(tmp_path: Path) -> None:
    schedule = _schedule(tmp_path, [(0, 0.01)])  # import of 0.01 MW at the PCC
    ctrl = Vpp(schedule=schedule, target="pcc", pcc="G.ext", batteries=["B.b0"], step_s=900)
    values = {**_batteries(1, 0.05, 0.05), "G.ext": {"p_mw": 0.03}}
    values["B.b0"]["p_mw"] = 0.004  # charging 4 kW: injection -0.004
    ctrl.decide(0, _seen(values, ctrl))
    rep = ctrl.report()
    # fleet target = injection now + import now - requested import = -0.004 + 0.03 - 0.01
    assert rep["p_set_mw"] == pytest.approx(0.016)
    assert rep["p_delivered_mw"] == 0.03 and rep["p_requested_mw"] == 0.01  # PCC sign


def test_a_de_energised_bus_holds_no_limit(tmp_path: Path) -> None:
    # bus at 0 pu (de-energised); 1 pu/MW would lift it to 0.004 pu: far below the band,
    # yet the plant follows the request as if the bus were not watched
    ctrl = Vpp(schedule=_schedule(tmp_path, [(0, 0.004)]), batteries=["B.b0"], grid_aware=True,
               buses=["G.bus_0"], sens_vm_pu_per_mw=[[1.0]], step_s=900)  # fmt: skip
    values = {**_batteries(1, 0.005, 0.005), "G.bus_0": {"vm_pu": 0.0}}
    out = ctrl.decide(0, _seen(values, ctrl))
    assert out["B.b0"]["p_set_mw"] == pytest.approx(-0.004)
    assert ctrl.report()["p_grid_limited_mw"] == 0.0


def test_no_request_releases_every_unit(tmp_path: Path) -> None:
    ctrl = Vpp(schedule=_schedule(tmp_path, [(0, "")]), batteries=["B.b0"], pv=["P.p0"])
    values = {**_batteries(1, 0.005, 0.005), "P.p0": {"p_mw": 0.003, "p_available_mw": 0.003}}
    out = ctrl.decide(0, _seen(values, ctrl))
    assert out == {"B.b0": {"p_set_mw": None}, "P.p0": {"p_max_mw": None}}
    assert ctrl.report()["p_delivered_mw"] == pytest.approx(0.003)


def test_request_at_holds_the_last_row() -> None:
    times, p = np.array([0.0, 900.0]), np.array([np.nan, 0.01])
    assert math.isnan(request_at(0, times, p)) and request_at(5000, times, p) == 0.01
    assert math.isnan(request_at(-1, times, p))


def _feeder() -> tuple[pp.pandapowerNet, list[int]]:
    net = pp.create_empty_network()
    buses = [pp.create_bus(net, vn_kv=0.4) for _ in range(7)]
    pp.create_ext_grid(net, buses[0], vm_pu=1.0)
    for a, b in itertools.pairwise(buses):
        pp.create_line(net, a, b, length_km=0.1, std_type="NAYY 4x50 SE")
    for bus in buses[4:]:
        pp.create_storage(net, bus, p_mw=0.0, max_e_mwh=1.0)
    return net, buses


def _run_loop(grid_aware: bool, tmp_path: Path) -> tuple[float, float]:
    """Four steps of a 0.09 MW discharge request on the feeder; (highest vm, delivered MW)."""
    net, buses = _feeder()
    units = [4, 5, 6]
    sv, sl = sensitivities(net, units, buses, list(net.line.index), [])
    ids = [f"B.b{i}" for i in range(3)]
    ctrl = Vpp(
        schedule=_schedule(tmp_path, [(0, 0.09)]),
        batteries=ids,
        grid_aware=grid_aware,
        buses=[f"G.bus_{b}" for b in buses],
        branches=[f"G.line_{k}" for k in net.line.index],
        sens_vm_pu_per_mw=sv.tolist(),
        sens_loading_percent_per_mw=sl.tolist(),
        v_band_pu=[0.95, 1.05],
        step_s=900,
    )
    values = _batteries(3, 0.05, 0.05)  # large batteries: 50 kW each way
    vm_max = 0.0
    for step in range(4):
        pp.runpp(net)
        vm_max = max(vm_max, float(net.res_bus.vm_pu.max())) if step else vm_max
        for b in buses:
            values[f"G.bus_{b}"] = {"vm_pu": float(net.res_bus.vm_pu[b])}
        for k in net.line.index:
            values[f"G.line_{k}"] = {"loading_percent": float(net.res_line.loading_percent[k])}
        for i, e in enumerate(ids):
            values[e]["p_mw"] = float(net.storage.p_mw.iloc[i])
        out = ctrl.decide(step * 900, _seen(values, ctrl))
        for i, e in enumerate(ids):
            net.storage.loc[net.storage.index[i], "p_mw"] = out[e]["p_set_mw"]
    pp.runpp(net)
    return max(vm_max, float(net.res_bus.vm_pu.max())), -float(net.storage.p_mw.sum())


def test_grid_aware_removes_the_voltage_violations_of_grid_blind(tmp_path: Path) -> None:
    vm_blind, delivered_blind = _run_loop(False, tmp_path)
    vm_aware, delivered_aware = _run_loop(True, tmp_path)
    assert delivered_blind == pytest.approx(0.09)  # the fleet gives what is asked ...
    assert vm_blind > 1.05  # ... and lifts the feeder's end over the band
    assert vm_aware <= 1.05 + 1e-4  # linear estimate: within 0.1 mpu of the band's edge
    assert 0 < delivered_aware < 0.09  # the grid, not the fleet, limits delivery
    assert find("vpp") is Vpp


def test_bad_options_are_clear_errors(tmp_path: Path) -> None:
    good = _schedule(tmp_path, [(0, 0.01)])
    with pytest.raises(ConfigError, match="target='x' must be one of"):
        Vpp(schedule=good, batteries=["B.b0"], target="x")
    with pytest.raises(ConfigError, match="target='pcc' needs pcc"):
        Vpp(schedule=good, batteries=["B.b0"], target="pcc")
    with pytest.raises(ConfigError, match="no such file"):
        Vpp(schedule=str(tmp_path / "none.csv"), batteries=["B.b0"])
    with pytest.raises(ConfigError, match="no units"):
        Vpp(schedule=good)
    with pytest.raises(ConfigError, match="v_band_pu"):
        Vpp(schedule=good, batteries=["B.b0"], v_band_pu=[1.05, 0.95])
    with pytest.raises(ConfigError, match="sens_vm_pu_per_mw has shape"):
        Vpp(schedule=good, batteries=["B.b0"], buses=["G.bus_0"], sens_vm_pu_per_mw=[[1.0, 2.0]])
    with pytest.raises(ConfigError, match="schedule_scale=0 must be > 0"):
        Vpp(schedule=good, batteries=["B.b0"], schedule_scale=0)
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,p_mw\n900,0.1\n0,0.2\n")
    with pytest.raises(ConfigError, match="strictly increasing"):
        Vpp(schedule=str(bad), batteries=["B.b0"])
