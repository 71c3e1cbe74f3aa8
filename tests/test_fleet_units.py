"""Fleets of the DER simulators (``<Model>Fleet``, simulators/adapter.py) against single units.

The same units, stepped with the same inputs, as one entity per unit and as one fleet entity:
every output must be identical bit for bit (the arithmetic is the same numpy call over the
same arrays). Inputs cover absent values, several sources of one attribute (each reduction)
and a routed source fleet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from cosim.core.errors import ConfigError, SimulationError
from cosim.run.testing import run_simulator
from simulators.adapter import UnitSim
from simulators.battery.sim import BatterySim
from simulators.chp.sim import ChpSim
from simulators.ev.sim import EVSim
from simulators.flexload.sim import FlexLoadSim
from simulators.pv.sim import PVSim

NAN = math.nan


@dataclass
class Case:
    """Units of one type (``params``: one value per unit, or a scalar for all), their inputs
    per step as fleet arrays (NaN: none from that source), and the routes of source fleets."""

    sim: type[UnitSim[Any]]
    init: dict[str, Any]
    params: dict[str, Any]
    n: int
    steps: list[dict[str, dict[str, Any]]]
    routes: dict[str, list[int]] = field(default_factory=dict)
    one_call: bool = False  # the single units come from one create(n) call (EV sessions)


def _single_inputs(case: Case, step: dict[str, dict[str, Any]], eids: list[str]) -> dict:
    """The fleet inputs of one step as the single units receive them (NaN or -1: nothing)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for attr, sources in step.items():
        for src, value in sources.items():
            for k, eid in enumerate(eids):
                if np.isscalar(value):
                    v = value
                else:
                    route = case.routes.get(src)
                    j = k if route is None else route[k]
                    if j < 0:
                        continue
                    v = value[j]
                if isinstance(v, float) and math.isnan(v):
                    continue
                out.setdefault(eid, {}).setdefault(attr, {})[src] = v
    return out


def _unit_params(case: Case, k: int) -> dict[str, Any]:
    return {p: v[k] if isinstance(v, list) else v for p, v in case.params.items()}


def _run_both(case: Case) -> tuple[list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    """Outputs per step of the single units (stacked) and of the fleet."""
    single, fleet = case.sim(), case.sim()
    single.init("Sim-0", **case.init)
    fleet.init("Sim-0", **case.init)
    model = case.sim.schema.model
    outputs = [a.name for a in case.sim.schema.outputs]
    if case.one_call:
        eids = [e["eid"] for e in single.create(case.n, model, **case.params)]
    else:
        eids = [single.create(1, model, **_unit_params(case, k))[0]["eid"] for k in range(case.n)]
    [created] = fleet.create(1, model + "Fleet", n_units=case.n, **case.params)
    assert created["extra_info"]["units"] == eids  # the single units' ids
    feid = created["eid"]
    for src, route in case.routes.items():
        fleet.route(feid, src, route)
    got_single, got_fleet = [], []
    for k, step in enumerate(case.steps):
        t_s = k * single.step_s
        single.step(t_s, _single_inputs(case, step, eids), 10**9)
        fleet.step(t_s, {feid: step} if step else {}, 10**9)
        by_unit = single.get_data({eid: outputs for eid in eids})
        got_single.append({a: np.array([by_unit[e][a] for e in eids]) for a in outputs})
        values = fleet.get_data({feid: outputs})[feid]
        assert all(isinstance(v, np.ndarray) for v in values.values())  # in-process: arrays
        got_fleet.append(values)
    return got_single, got_fleet


def _identical(single: list[dict[str, np.ndarray]], fleet: list[dict[str, np.ndarray]]) -> None:
    for k, (a, b) in enumerate(zip(single, fleet, strict=True)):
        assert a.keys() == b.keys()
        for attr in a:
            assert a[attr].dtype.kind == b[attr].dtype.kind, (k, attr)
            nan = a[attr].dtype.kind == "f"
            assert np.array_equal(a[attr], b[attr], equal_nan=nan), (k, attr, a[attr], b[attr])


CASES = {
    "battery": Case(
        BatterySim,
        {"step_s": 900},
        {
            "e_max_mwh": [1.0, 2.0, 0.5, 1.0],
            "mode": ["set_point", "self_consumption", "set_point", "set_point"],
            "grid_forming": [False, False, True, False],
            "soc_init_frac": 0.4,
        },
        4,
        [
            {"p_set_mw": {"Ctl-0.a": [0.3, NAN, NAN, -0.2], "Ctl-1.b": 0.1}},
            {},
            {
                "p_load_mw": {"Prof-0.load": [NAN, 0.4, NAN, NAN]},
                "p_gen_mw": {"PV-0.pv_fleet_0": [0.1, 0.7, 0.2]},  # routed
                "p_slack_mw": {"Grid-0.storage": [NAN, NAN, 0.25, NAN]},
            },
            {"p_set_mw": {"Ctl-0.a": [-0.6, NAN, 0.9, NAN]}},
        ],
        routes={"PV-0.pv_fleet_0": [-1, 1, -1, -1]},
    ),
    "pv": Case(
        PVSim,
        {"start": "2016-06-21 10:00:00", "weather": "clear_sky"},
        {
            "p_dc_peak_mw": [0.01, 0.02, 0.005],
            "q_mode": ["cos_phi", "q_u", "q_u"],
            "cos_phi": [0.95, 1.0, 1.0],
            "tilt_deg": 35.0,
        },
        3,
        [
            {"p_max_mw": {"Ctl-0.a": [0.004, NAN, 0.003], "Ctl-1.b": [0.002, 0.01, NAN]}},
            {"vm_pu": {"Grid-0.bus": [1.0, 1.05, 0.98, 1.08, 0.9]}},  # routed
            {},
        ],
        routes={"Grid-0.bus": [0, 3, 4]},
    ),
    "chp": Case(
        ChpSim,
        {"step_s": 900, "start": "2016-01-10 06:00:00"},
        {
            "mode": ["heat_led", "power_led", "power_led"],
            "grid_forming": [False, False, True],
            "p_el_max_mw": [0.02, 0.05, 0.03],
            "tank_init_frac": 0.1,
        },
        3,
        [
            {"p_set_mw": {"Ctl-0.a": [NAN, 0.03, NAN], "Ctl-1.b": [NAN, 0.01, 0.0]}},
            {
                "p_slack_mw": {"Grid-0.gen": [NAN, NAN, 0.02]},
                "p_heat_demand_mw": {"Heat-0.h": [0.5, 0.01]},  # routed
            },
            {},
            {"p_set_mw": {"Ctl-0.a": 0.02}},
        ],
        routes={"Heat-0.h": [1, -1, 0]},
    ),
    "ev": Case(
        EVSim,
        {"step_s": 900, "start": "2016-01-04 16:00:00", "seed": 3},
        {"p_charger_max_mw": 0.011, "v2g": True, "plug_in_prob": 1.0},
        5,
        [
            *[{}] * 5,
            {"p_set_mw": {"Ctl-0.a": [0.005, NAN, -0.003, NAN, 0.0], "Ctl-1.b": 0.002}},
            *[{}] * 8,
            {"p_set_mw": {"Ctl-0.a": [NAN, 0.004, NAN, 0.011, -0.011]}},
            *[{}] * 5,
        ],
        one_call=True,  # the neighbourhood creates its EVs with one create(n) call
    ),
    "ev_per_unit": Case(
        EVSim,
        {"step_s": 900, "start": "2016-01-04 16:00:00", "seed": 3},
        {"e_max_mwh": [0.04, 0.06, 0.08], "plug_in_prob": [0.9, 0.5, 1.0]},
        3,
        [{}] * 14 + [{"p_set_mw": {"Ctl-0.a": [0.0, NAN, 0.003]}}] * 6,
    ),
    "flexload": Case(
        FlexLoadSim,
        {"step_s": 900},
        {"p_base_mw": [0.002, 0.004, 0.001], "mode": ["shift", "curtail", "shift"]},
        3,
        [
            {
                "p_reduce_mw": {"Ctl-0.a": [0.001, NAN, 0.0005], "Ctl-1.b": [0.0002, 0.001, NAN]},
                "p_base_mw": {"Prof-0.load": [0.003, NAN, 0.005, 0.004]},  # routed
            },
            {"p_recover_allowed": {"Ctl-0.a": [1.0, 0.0, NAN], "Ctl-1.b": [0.0, NAN, NAN]}},
            {"q_base_mvar": {"Prof-0.q": [NAN, 0.001, 0.0]}},
            {},
        ],
        routes={"Prof-0.load": [2, 0, -1]},
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_fleet_gives_the_single_units_results_bit_for_bit(name: str) -> None:
    single, fleet = _run_both(CASES[name])
    _identical(single, fleet)
    assert any((step["p_mw"] != 0).any() for step in fleet)  # something happened


def test_fleet_with_scalar_params_is_one_create_call() -> None:
    """Scalars only: the fleet is built as ``create(n)`` would build its units."""
    a, b = BatterySim(), BatterySim()
    a.init("B-0")
    b.init("B-0")
    a.create(2, "Battery", e_max_mwh=1.0, soc_init_frac=0.3)
    [fleet] = b.create(1, "BatteryFleet", e_max_mwh=1.0, soc_init_frac=0.3, n_units=2)
    for sim in (a, b):
        sim.step(0, {}, 10**9)
    assert fleet["extra_info"]["units"] == ["battery_0", "battery_1"]
    soc = b.get_data({"battery_fleet_0": ["soc_frac"]})["battery_fleet_0"]["soc_frac"]
    assert soc.tolist() == [a.get_data({e: ["soc_frac"]})[e]["soc_frac"] for e in a.eids]


def test_units_and_fleets_mixed_in_one_simulator() -> None:
    """Ids continue one counter over units and fleets; each entity reads its own positions."""
    sim = BatterySim()
    sim.init("B-0")
    sim.create(1, "Battery", e_max_mwh=1.0)
    [fleet] = sim.create(1, "BatteryFleet", e_max_mwh=[2.0, 4.0])
    sim.create(1, "Battery", e_max_mwh=8.0)
    assert fleet["eid"] == "battery_fleet_0"
    assert fleet["extra_info"]["units"] == ["battery_1", "battery_2"]
    assert sim.eids == ["battery_0", "battery_1", "battery_2", "battery_3"]
    sim.step(0, {"battery_fleet_0": {"p_set_mw": {"c": [NAN, 1.0]}}}, 10**9)
    data = sim.get_data({"battery_fleet_0": ["e_max_mwh", "p_mw"], "battery_3": ["e_max_mwh"]})
    assert data["battery_fleet_0"]["e_max_mwh"].tolist() == [2.0, 4.0]
    assert data["battery_fleet_0"]["p_mw"].tolist() == [0.0, 1.0]  # NaN: no set point
    assert data["battery_3"]["e_max_mwh"] == 8.0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"e_max_mwh": [1.0, 2.0], "mode": ["set_point"] * 3}, r"mode=\[.*\] has 3 values"),
        ({"e_max_mwh": [1.0, 2.0], "n_units": 3}, r"e_max_mwh=\[1.0, 2.0\] has 2 values"),
        ({"e_max_mwh": 1.0}, "n_units=None and no list param"),
        ({"e_max_mwh": 1.0, "n_units": 0}, "n_units=0 must be a positive int"),
        ({"e_max_mwh": [1.0], "capacity": [1]}, "BatteryFleet param='capacity' is unknown"),
        ({"e_max_mwh": [1.0, -1.0]}, r"unit 1 \(battery_1\): e_max_mwh=-1.0 must be > 0"),
        ({"n_units": 2}, "'e_max_mwh' is required"),
    ],
)
def test_bad_fleet_params_are_config_errors(params: dict[str, Any], match: str) -> None:
    sim = BatterySim()
    sim.init("B-0")
    with pytest.raises(ConfigError, match=match):
        sim.create(1, "BatteryFleet", **params)
    assert sim.eids == []  # nothing was added


def test_route_and_input_errors_name_the_unit() -> None:
    sim = BatterySim()
    sim.init("B-0")
    sim.create(1, "Battery", e_max_mwh=1.0)
    sim.create(1, "BatteryFleet", e_max_mwh=[1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="'battery_0' is not a fleet entity"):
        sim.route("battery_0", "PV-0.pv_fleet_0", [0])
    with pytest.raises(ConfigError, match="2 positions, need one int >= -1 for each of its 3"):
        sim.route("battery_fleet_0", "PV-0.pv_fleet_0", [0, 1])
    with pytest.raises(ConfigError, match="need one int >= -1"):
        sim.route("battery_fleet_0", "PV-0.pv_fleet_0", [0, -2, 1])
    with pytest.raises(SimulationError, match=r"battery_2: p_set_mw=inf must be finite"):
        sim.step(0, {"battery_fleet_0": {"p_set_mw": {"c": [0.0, math.inf, NAN]}}}, 10**9)
    with pytest.raises(ConfigError, match=r"'p_slack_mw' of 'battery_3' needs .*grid_forming"):
        sim.step(0, {"battery_fleet_0": {"p_slack_mw": {"g": [NAN, NAN, 0.1]}}}, 10**9)
    with pytest.raises(SimulationError, match="sent 2 values to fleet 'battery_fleet_0' of 3"):
        sim.step(0, {"battery_fleet_0": {"p_set_mw": {"c": [0.0, 0.1]}}}, 10**9)
    with pytest.raises(ConfigError, match="known: Battery, BatteryFleet"):
        sim.create(1, "Storage", e_max_mwh=1.0)


def test_meta_declares_both_models() -> None:
    models = BatterySim().meta["models"]
    unit, fleet = models["Battery"], models["BatteryFleet"]
    assert fleet["attrs"] == unit["attrs"]
    assert fleet["params"] == [*unit["params"], "n_units"]
    docs = {p["name"]: p["doc"] for p in fleet["schema"]["params"]}
    assert docs["e_max_mwh"].endswith("(scalar or one per unit)")
    assert BatterySim().meta["extra_methods"] == ["route"]


def test_fleet_as_its_own_process_sends_lists_equal_to_in_process() -> None:
    kwargs: dict[str, Any] = {
        "model": "BatteryFleet",
        "create": {"e_max_mwh": [1.0, 2.0, 0.5], "soc_init_frac": 0.5},
        "inputs": {"p_set_mw": [0.4, -0.3, 0.2]},  # a scalar per step: the same to every unit
        "outputs": ["p_mw", "soc_frac", "limit_violated"],
        "steps": 3,
    }
    own = run_simulator("simulators.battery", processes=True, **kwargs)
    local = run_simulator("simulators.battery", processes=False, **kwargs)
    assert own.keys() == local.keys() == {0, 900, 1800}
    for t_s in own:
        got, want = own[t_s]["battery_fleet_0"], local[t_s]["battery_fleet_0"]
        assert all(type(v) is list for v in got.values())
        assert all(isinstance(v, np.ndarray) for v in want.values())
        assert got == {a: v.tolist() for a, v in want.items()}
    units = run_simulator(
        "simulators.battery",
        processes=False,
        **{**kwargs, "model": "Battery", "create": {"e_max_mwh": 0.5}},
    )
    last = max(own)
    assert own[last]["battery_fleet_0"]["soc_frac"][2] == units[last]["battery_0"]["soc_frac"]
