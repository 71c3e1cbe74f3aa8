"""The CHP simulator: model physics, heat demand, adapter, and mosaik in- and out-of-process.

Wiring of the mosaik tests (cosim.run.testing.run_simulator):
Series --p_set_mw--> CHP-0.chp_<k> --p_mw, p_fuel_mw, ...--> Collector
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.core.errors import ConfigError, SimulationError
from cosim.run.testing import run_simulator
from simulators.chp import heat_demand as hd
from simulators.chp import model
from simulators.chp.sim import OUTPUTS, ChpSim

# A 20 kW_el unit, eta 0.30 / 0.60: full load 0.02 MW el, 0.04 MW heat; minimum part load
# 0.5: 0.01 MW el, 0.02 MW heat. No tank losses, no min on/off times unless a test sets them.
UNIT = model.Params(
    p_el_max_mw=0.02,
    eta_el=0.30,
    eta_th=0.60,
    min_part_load_frac=0.5,
    min_on_s=0,
    min_off_s=0,
    e_tank_max_mwh=0.04,
    tank_loss_per_h_frac=0.0,
    tank_init_frac=0.0,
    tank_low_frac=0.25,
    eta_boiler=0.9,
    co2_kg_per_mwh_fuel=201.6,
)


def run(
    params: model.Params | list[model.Params],
    demand: list[float],
    p_set: list[float] | None = None,
    p_slack: list[float] | None = None,
    dt_s: float = 900,
) -> list[tuple[model.State, model.Flows]]:
    """Step units with ``params`` through the series (one value per step, every unit)."""
    groups = [(p, 1) for p in (params if isinstance(params, list) else [params])]
    fleet, state = model.Fleet.of(groups), model.State.initial(groups)
    n = len(groups)
    out = []
    for k, d in enumerate(demand):
        state, flows = model.step(
            state,
            fleet,
            dt_s,
            np.full(n, d),
            np.full(n, p_set[k] if p_set else 0.0),
            np.full(n, p_slack[k] if p_slack else np.nan),
        )
        out.append((state, flows))
    return out


# --- hand calculations ------------------------------------------------------------------------


def test_fuel_heat_and_co2_for_a_known_electrical_output() -> None:
    prm = replace(UNIT, p_el_max_mw=0.05, eta_th=0.55, mode="power_led", e_tank_max_mwh=1.0)
    (state, flows), *_ = run(prm, demand=[0.0], p_set=[0.03])
    assert flows.p_mw[0] == pytest.approx(0.03)
    assert flows.p_fuel_mw[0] == pytest.approx(0.1)  # fuel = P_el / eta_el = 0.03 / 0.3
    assert flows.p_th_mw[0] == pytest.approx(0.055)  # heat = fuel * eta_th = 0.1 * 0.55
    assert flows.co2_kg_per_h[0] == pytest.approx(20.16)  # 0.1 MW * 201.6 kg/MWh
    assert state.e_tank_mwh[0] == pytest.approx(0.01375)  # 0.055 MW * 0.25 h into the tank
    assert flows.q_mvar[0] == 0.0 and state.on[0] and state.starts[0] == 1
    # cos phi 0.8 under-excited: q = -p tan(acos 0.8) = -0.03 * 0.75 (sgen sign: absorbs)
    (_, flows), *_ = run(replace(prm, cos_phi=0.8), demand=[0.0], p_set=[0.03])
    assert flows.q_mvar[0] == pytest.approx(-0.0225)


def test_boiler_covers_the_deficit_and_its_fuel_emits_co2() -> None:
    prm = replace(UNIT, mode="power_led", e_tank_max_mwh=0.1, tank_init_frac=0.05)
    # CHP at 0.015 MW el: 0.05 MW fuel, 0.03 MW heat. Tank 0.005 MWh. Demand 0.07 MW for
    # 0.25 h = 0.0175 MWh; CHP 0.0075 + tank 0.005 leave 0.005 MWh = 0.02 MW from the boiler,
    # whose fuel is 0.02 / 0.9 = 0.02222 MW; total fuel 0.07222 MW = 14.56 kg/h CO2.
    (state, flows), *_ = run(prm, demand=[0.07], p_set=[0.015])
    assert flows.p_boiler_th_mw[0] == pytest.approx(0.02)
    assert flows.p_fuel_mw[0] == pytest.approx(0.05 + 0.02 / 0.9)
    assert flows.co2_kg_per_h[0] == pytest.approx((0.05 + 0.02 / 0.9) * 201.6)
    assert state.e_tank_mwh[0] == 0.0
    # CHP off, empty tank: the boiler alone, 0.09 MW heat = 0.1 MW fuel = 20.16 kg/h CO2
    (_, flows), *_ = run(replace(prm, tank_init_frac=0.0), demand=[0.09], p_set=[0.0])
    assert flows.p_fuel_mw[0] == pytest.approx(0.1)
    assert flows.co2_kg_per_h[0] == pytest.approx(20.16)


@pytest.mark.parametrize("dt_s", [60, 900, 3600])
def test_tank_charges_over_an_hour(dt_s: int) -> None:
    # 0.02 MW el -> 0.04 MW heat, demand 0.01 MW: the tank gains (0.04 - 0.01) * 1 h = 0.03 MWh
    prm = replace(UNIT, mode="power_led", e_tank_max_mwh=0.1)
    steps = 3600 // dt_s
    out = run(prm, demand=[0.01] * steps, p_set=[0.02] * steps, dt_s=dt_s)
    assert out[-1][0].e_tank_mwh[0] == pytest.approx(0.03, abs=1e-15)
    assert all(f.p_boiler_th_mw[0] == 0 and f.p_heat_dumped_mw[0] == 0 for _, f in out)


def test_tank_standing_loss_is_exponential() -> None:
    # 0.1 MWh at 1 %/h, nothing in or out, 4 x 900 s: 0.1 * exp(-0.01) = 0.0990049834 MWh
    prm = replace(UNIT, e_tank_max_mwh=0.2, tank_init_frac=0.5, tank_loss_per_h_frac=0.01)
    out = run(replace(prm, tank_low_frac=0.0), demand=[0.0] * 4)
    assert out[-1][0].e_tank_mwh[0] == pytest.approx(0.1 * math.exp(-0.01), rel=1e-12)
    lost_mwh = sum(f.p_tank_loss_mw[0] * 0.25 for _, f in out)
    assert lost_mwh == pytest.approx(0.1 - 0.1 * math.exp(-0.01), rel=1e-9)
    assert not any(s.on[0] for s, _ in out)


def test_min_on_and_min_off_times_hold_the_state() -> None:
    # power_led, 900 s steps, min on 3600 s (4 steps), min off 1800 s (2 steps).
    prm = replace(UNIT, mode="power_led", min_on_s=3600, min_off_s=1800, e_tank_max_mwh=1.0)
    p_set = [0.02, 0, 0, 0, 0, 0.02, 0.02, 0.02]
    out = run(prm, demand=[0.0] * 8, p_set=p_set)
    # on at 0; asked off at 1, held on at minimum part load 0.01 MW until 3600 s have run;
    # off at 4; asked on at 5 but only 900 s off; on at 6 after 1800 s off.
    assert [bool(s.on[0]) for s, _ in out] == [True, True, True, True, False, False, True, True]
    assert [f.p_mw[0] for _, f in out] == pytest.approx([0.02, 0.01, 0.01, 0.01, 0, 0, 0.02, 0.02])
    assert out[-1][0].starts[0] == 2


def test_heat_led_hysteresis_fills_the_tank_and_stops_when_full() -> None:
    # Tank 0.04 MWh, start below 0.25 * 0.04 = 0.01 MWh, starts at 0.02 MWh, demand 0.03 MW
    # (0.0075 MWh per 900 s step).
    prm = replace(UNIT, tank_init_frac=0.5)
    out = run(prm, demand=[0.03] * 14 + [0.01] * 4)
    on = [bool(s.on[0]) for s, _ in out]
    tank = [s.e_tank_mwh[0] for s, _ in out]
    # step 0: 0.02 - 0.0075 = 0.0125 >= 0.01: stays off, tank 0.0125
    assert not on[0] and tank[0] == pytest.approx(0.0125)
    # step 1: 0.0125 - 0.0075 = 0.005 < 0.01: starts at full load 0.04 MW heat (0.02 MW el),
    # the tank gains (0.04 - 0.03) * 0.25 = 0.0025 MWh per step
    assert on[1] and out[1][1].p_mw[0] == pytest.approx(0.02) and tank[1] == pytest.approx(0.015)
    # full after (0.04 - 0.015) / 0.0025 = 10 more steps (step 11); then it follows the demand
    # modulated: 0.03 MW heat = 0.015 MW el
    assert tank[11] == pytest.approx(0.04) and tank[10] < 0.04
    assert out[12][1].p_th_mw[0] == pytest.approx(0.03) and on[13]
    # demand 0.01 MW < minimum part load 0.02 MW with a full tank: stops at once (no min on)
    assert not any(on[14:]) and out[-1][0].starts[0] == 1
    assert all(f.p_boiler_th_mw[0] == 0 and f.p_heat_dumped_mw[0] == 0 for _, f in out)
    # with min_on_s 3600 s it had started at step 1 and ran long enough: it still stops at 14
    assert not run(replace(prm, min_on_s=3600), [0.03] * 14 + [0.01])[-1][0].on[0]


def test_min_on_time_dumps_the_heat_a_full_tank_cannot_take() -> None:
    # No tank (heat follows demand), min on 3600 s = 4 steps of 900 s.
    prm = replace(UNIT, min_on_s=3600, e_tank_max_mwh=0.0)
    out = run(prm, demand=[0.05, 0.01, 0.01, 0.01, 0.01])
    # step 0: demand 0.05 MW > minimum part load 0.02: starts at full load 0.04 MW heat, the
    # boiler adds 0.01. Steps 1-3: demand 0.01 < 0.02 wants it off, but it has run < 3600 s:
    # held on at 0.02 MW heat, 0.01 MW dumped. Step 4: off after 3600 s, the boiler takes over.
    assert [bool(s.on[0]) for s, _ in out] == [True, True, True, True, False]
    assert [f.p_th_mw[0] for _, f in out] == pytest.approx([0.04, 0.02, 0.02, 0.02, 0])
    assert [f.p_heat_dumped_mw[0] for _, f in out] == pytest.approx([0, 0.01, 0.01, 0.01, 0])
    assert [f.p_boiler_th_mw[0] for _, f in out] == pytest.approx([0.01, 0, 0, 0, 0.01])
    # without a min on time it stops at step 1 and dumps nothing
    out = run(replace(prm, min_on_s=0), demand=[0.05, 0.01, 0.01, 0.01, 0.01])
    assert [bool(s.on[0]) for s, _ in out] == [True, False, False, False, False]
    assert sum(f.p_heat_dumped_mw[0] for _, f in out) == 0


def test_grid_forming_slack_takes_the_grid_output_and_reports_violations() -> None:
    prm = replace(UNIT, grid_forming=True, mode="power_led", min_off_s=3600)
    out = run(prm, demand=[0.0] * 3, p_slack=[0.015, 0.025, -0.004])
    flows = [f for _, f in out]
    assert [f.p_mw[0] for f in flows] == pytest.approx([0.015, 0.025, -0.004])
    # fuel = max(p, 0) / 0.3; heat = fuel * 0.6; beyond [0.01, 0.02] MW is a violation
    assert [f.p_fuel_mw[0] for f in flows] == pytest.approx([0.05, 0.025 / 0.3, 0.0])
    assert [f.p_th_mw[0] for f in flows] == pytest.approx([0.03, 0.05, 0.0])
    assert [f.p_limit_violation_mw[0] for f in flows] == pytest.approx([0, 0.005, -0.014])
    assert [bool(f.limit_violated[0]) for f in flows] == [False, True, True]
    assert all(s.on[0] for s, _ in out)  # slack: on, even within min_off_s


# --- heat demand ------------------------------------------------------------------------------


def test_siglinde_h_is_one_at_8_degc() -> None:
    # HEF33 at 8 degC: B / (8 - 40) = 1.161979; ^C = exp(5.6727847 * ln 1.161979) = 2.343488;
    # A / (1 + 2.343488) = 0.484808; + D = 0.556451; linear max(-0.04957 * 8 + 0.8401015,
    # -0.002209 * 8 + 0.1074468) = 0.443542; h = 0.999993 (BDEW: customer value at ~8 degC).
    assert hd.siglinde_h(8.0, "HEF33") == pytest.approx(1.0, abs=1e-5)
    assert hd.siglinde_h(8.0, "HMF33") == pytest.approx(1.0, abs=1e-5)
    h = hd.siglinde_h(np.array([-10.0, 0.0, 10.0, 20.0, 30.0]), "HEF33")
    assert (np.diff(h) < 0).all() and h[-1] > 0  # falls with temperature, hot water stays


def test_synthetic_temperature_follows_the_dwd_normals() -> None:
    temp = hd.daily_temperature_c()
    assert temp.mean() == pytest.approx(9.3)
    assert temp.argmin() == 15 and temp.min() == pytest.approx(0.6, abs=0.01)  # 9.3 - 8.7
    assert temp.argmax() in (197, 198) and temp.max() == pytest.approx(18.0, abs=0.01)


@pytest.mark.parametrize("dt_s", [900, 1000, 3600])
def test_synthetic_demand_sums_to_the_annual_demand(dt_s: int) -> None:
    demand = hd.HeatDemand(0)
    demand.add_synthetic(range(2), 250.0, "HMF33")
    steps = hd.SECONDS_PER_YEAR // dt_s
    p = np.array([demand.at(k * dt_s, dt_s) for k in range(steps)])
    assert p.sum(axis=0) * dt_s / 3600 == pytest.approx([250.0, 250.0], rel=1e-12)
    month = 31 * 86400 // dt_s
    january, july = p[:month, 0].mean(), p[181 * 86400 // dt_s :][:month, 0].mean()
    assert january > 4 * july > 0  # heating season vs hot water only
    assert (p >= 0).all()


def test_synthetic_demand_is_placed_in_the_year_by_start() -> None:
    jan = hd.HeatDemand(0)
    jul = hd.HeatDemand(182 * 86400)  # 2016-07-01 is day 182 of a leap year
    for demand in (jan, jul):
        demand.add_synthetic(range(1), 100.0, "HEF33")
    assert jul.at(0, 900)[0] == jan.at(182 * 86400, 900)[0] < jan.at(0, 900)[0]
    year = hd.SECONDS_PER_YEAR  # the synthetic year repeats
    assert jan.at(year + 3600, 900)[0] == pytest.approx(jan.at(3600, 900)[0], rel=1e-12)
    sim = ChpSim()
    sim.init("CHP-0", start="2016-07-01 00:00:00")
    assert sim.demand.offset_s == 182 * 86400


# --- heat demand files ------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "heat.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def stepped(sim: ChpSim, steps: int, attr: str = "p_heat_demand_mw") -> list[list[float]]:
    out = []
    for k in range(steps):
        sim.step(k * sim.step_s, {}, 10**9)
        out.append([sim.get_data({e: [attr]})[e][attr] for e in sim.eids])
    return out


def test_single_column_file_drives_every_unit_of_the_call(tmp_path: Path) -> None:
    sim = ChpSim()
    sim.init("CHP-0", step_s=450)
    sim.create(2, "CHP", heat_demand=write(tmp_path, "t_s,heat\n0,0.01\n900,0.02\n"))
    sim.create(1, "CHP", e_heat_annual_mwh=0.0)  # synthetic, zero demand
    first, second = [0.01, 0.01, 0.0], [0.02, 0.02, 0.0]  # rows held for 900 s = 2 steps
    assert stepped(sim, 4) == [first, first, second, second]
    with pytest.raises(SimulationError, match=r"t_s=1800 is outside heat_demand"):
        sim.step(1800, {}, 10**9)


def test_per_entity_columns_and_the_sim_level_file(tmp_path: Path) -> None:
    path = tmp_path / "heat.parquet"
    pd.DataFrame({"chp_1": [0.02, 0.03], "chp_0": [0.01, 0.04]}).to_parquet(path)
    sim = ChpSim()
    sim.init("CHP-0", step_s=900, heat_demand=str(path))  # no t_s: rows step_s apart
    sim.create(2, "CHP")
    assert stepped(sim, 2) == [[0.01, 0.02], [0.04, 0.03]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("t_s,chp_0,chp_1\n0,0.1,abc\n", "column 'chp_1' row 0: value 'abc'"),
        ("t_s,chp_0,chp_1\n0,0.1,-0.2\n", "column 'chp_1' row 0: value -0.2 is negative"),
        ("t_s,chp_0,chp_5\n0,0.1,0.2\n", r"no column for \['chp_1'\]"),
        ("t_s\n0\n", "no heat demand column"),
        ("t_s,chp_0\n0,0.1\n60,0.1\n120,0.1\n200,0.1\n", "'t_s' must rise uniformly"),
    ],
)
def test_bad_heat_demand_file(tmp_path: Path, text: str, match: str) -> None:
    sim = ChpSim()
    sim.init("CHP-0")
    with pytest.raises(ConfigError, match=match):
        sim.create(2, "CHP", heat_demand=write(tmp_path, text))
    with pytest.raises(ConfigError, match="does not exist"):
        sim.create(1, "CHP", heat_demand=str(tmp_path / "missing.csv"))
    assert sim.eids == []  # a failed create adds nothing


# --- parameters and adapter errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"eta_el": 0.45, "eta_th": 0.6}, r"eta_el=0.45 \+ eta_th=0.6 = 1.05 must be <= 1"),
        ({"eta_el": 1.0}, r"eta_el=1.0 must be in \(0, 1\)"),
        ({"e_tank_max_mwh": -0.1}, r"e_tank_max_mwh=-0.1 must be >= 0"),
        ({"p_el_max_mw": 0}, r"p_el_max_mw=0 must be > 0"),
        ({"min_part_load_frac": 1.0}, r"min_part_load_frac=1.0 must be in \[0, 1\)"),
        ({"min_on_s": -1}, "min_on_s=-1"),
        ({"eta_boiler": 0}, "eta_boiler=0"),
        ({"tank_init_frac": 1.5}, "tank_init_frac=1.5"),
        ({"p_el_max_mw": "0.02"}, "p_el_max_mw='0.02' must be a number"),
        ({"p_el_max_mw": math.nan}, "p_el_max_mw=nan must be finite"),
        ({"grid_forming": 1}, "grid_forming=1 must be True or False"),
        ({"mode": "electric"}, "mode='electric' is unknown; known: heat_led, power_led"),
        ({"heat_slp": "GHA33"}, "heat_slp='GHA33' is unknown; known: HEF33, HMF33"),
        ({"p_max_mw": 0.02}, "CHP param='p_max_mw' is unknown; known: .*eta_el"),
    ],
)
def test_bad_params_raise_config_error(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        model.Params.from_dict(params)
    sim = ChpSim()
    sim.init("CHP-0")
    with pytest.raises(ConfigError, match=match):
        sim.create(1, "CHP", **params)


@pytest.mark.parametrize(
    ("init", "match"),
    [
        ({"time_resolution": 60.0}, "time_resolution=60.0"),
        ({"step_s": 0}, "step_s=0 must be a positive int"),
        ({"step_s": 900.0}, "step_s=900.0 must be a positive int"),
        ({"start": "yesterday"}, "start='yesterday' is not an ISO date"),
        ({"step": 900}, "sim param='step' is unknown; known: heat_demand, start, step_s"),
    ],
)
def test_bad_sim_params(init: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ChpSim().init("CHP-0", **init)


def test_adapter_inputs_outputs_and_errors() -> None:
    sim = ChpSim()
    sim.init("CHP-0", step_s=900)
    with pytest.raises(ConfigError, match="model='Boiler' is unknown; known: CHP"):
        sim.create(1, "Boiler")
    with pytest.raises(SimulationError, match="before create"):
        sim.step(0, {}, 10**9)
    created = sim.create(2, "CHP", mode="power_led", tank_init_frac=0.0)
    created += sim.create(1, "CHP", grid_forming=True, mode="power_led")
    assert [c["eid"] for c in created] == ["chp_0", "chp_1", "chp_2"]
    with pytest.raises(SimulationError, match="before the first step"):
        sim.get_data({"chp_0": ["p_mw"]})
    inputs = {
        "chp_0": {"p_set_mw": {"a": 0.01, "b": 0.005}, "p_heat_demand_mw": {"h": 0.0}},
        "chp_1": {"p_set_mw": {"a": None}},
        "chp_2": {"p_slack_mw": {"grid": 0.012}},
    }
    assert sim.step(0, inputs, 10**9) == 900
    data = sim.get_data({e: [a.name for a in OUTPUTS] for e in sim.eids})
    assert data["chp_0"]["p_mw"] == pytest.approx(0.015)  # summed sources
    assert data["chp_0"]["p_heat_demand_mw"] == 0.0  # input overrides the synthetic profile
    assert data["chp_1"]["p_mw"] == 0.0 and data["chp_1"]["on"] is False  # default: off
    assert data["chp_2"]["p_mw"] == 0.012 and data["chp_2"]["on"] is True
    for values in data.values():
        assert {type(v) for v in values.values()} <= {float, bool, int}
        assert type(values["starts"]) is int and type(values["on"]) is bool
    with pytest.raises(SimulationError, match=r"p_slack_mw for \['chp_0'\].*not grid_forming"):
        sim.step(900, {"chp_0": {"p_slack_mw": {"grid": 0.01}}}, 10**9)
    with pytest.raises(SimulationError, match="'p_mw' of 'chp_0' is unknown; inputs: p_set"):
        sim.step(900, {"chp_0": {"p_mw": {"x": 0.01}}}, 10**9)
    with pytest.raises(SimulationError, match=r"p_heat_demand_mw=-1\.0 must be finite and >= 0"):
        sim.step(900, {"chp_1": {"p_heat_demand_mw": {"x": -1.0}}}, 10**9)
    with pytest.raises(SimulationError, match="chp_1: p_set_mw=nan must be finite"):
        sim.step(900, {"chp_1": {"p_set_mw": {"x": math.nan}}}, 10**9)
    with pytest.raises(SimulationError, match="'p_set_mw' is not an output"):
        sim.get_data({"chp_0": ["p_set_mw"]})


# --- invariants -------------------------------------------------------------------------------


@st.composite
def chp_params(draw: st.DrawFn) -> model.Params:
    eta_el = draw(st.floats(0.05, 0.5))
    return model.Params(
        p_el_max_mw=draw(st.floats(0.001, 0.1)),
        eta_el=eta_el,
        eta_th=draw(st.floats(0.05, 1 - eta_el)),
        min_part_load_frac=draw(st.floats(0, 0.99)),
        min_on_s=draw(st.sampled_from([0, 900, 3600])),
        min_off_s=draw(st.sampled_from([0, 900, 1800])),
        e_tank_max_mwh=draw(st.sampled_from([0.0, 0.001, 0.05, 0.3])),
        tank_loss_per_h_frac=draw(st.floats(0, 0.1)),
        tank_init_frac=draw(st.floats(0, 1)),
        tank_low_frac=draw(st.floats(0, 0.99)),
        eta_boiler=draw(st.floats(0.5, 1)),
        grid_forming=draw(st.booleans()),
        mode=draw(st.sampled_from(model.MODES)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.lists(chp_params(), min_size=1, max_size=4),
    dt_s=st.sampled_from([1, 60, 900, 3600]),
    series=st.lists(
        st.tuples(
            st.floats(0, 0.3),
            st.floats(-0.02, 0.12),
            st.one_of(st.none(), st.floats(-0.02, 0.12)),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_invariants(params: list[model.Params], dt_s: int, series: list[Any]) -> None:
    groups = [(p, 1) for p in params]
    fleet, state = model.Fleet.of(groups), model.State.initial(groups)
    dt_h = dt_s / 3600
    for demand, p_set, slack in series:
        p_slack = np.where(fleet.grid_forming, np.nan if slack is None else slack, np.nan)
        before = state
        state, f = model.step(state, fleet, dt_s, np.full(len(params), demand),
                              np.full(len(params), p_set), p_slack)  # fmt: skip
        balance = (f.p_th_mw + f.p_boiler_th_mw - f.p_heat_demand_mw - f.p_tank_loss_mw
                   - f.p_heat_dumped_mw) * dt_h  # fmt: skip
        np.testing.assert_allclose(balance, state.e_tank_mwh - before.e_tank_mwh, atol=1e-9)
        assert (f.p_fuel_mw >= 0).all() and (f.co2_kg_per_h >= 0).all()
        assert (f.p_th_mw >= 0).all() and (f.p_boiler_th_mw >= 0).all()
        assert (f.p_heat_dumped_mw >= 0).all() and (f.p_tank_loss_mw >= 0).all()
        assert (state.e_tank_mwh >= 0).all() and (state.e_tank_mwh <= fleet.e_tank_max_mwh).all()
        free = np.isnan(p_slack)
        running = state.on & free
        assert (f.p_mw[running] >= fleet.p_el_min_mw[running] * (1 - 1e-12)).all()
        assert (f.p_mw[running] <= fleet.p_el_max_mw[running] * (1 + 1e-12)).all()
        assert (f.p_mw[~state.on] == 0).all()
        switched = state.on != before.on
        held = np.where(before.on, fleet.min_on_s, fleet.min_off_s)
        assert (before.t_state_s[switched & free] >= held[switched & free]).all()


def test_a_year_of_100_units_is_vectorised_and_closes_the_heat_balance() -> None:
    groups = [(model.Params(), 50), (model.Params(heat_slp="HEF33", e_heat_annual_mwh=30), 50)]
    fleet, state = model.Fleet.of(groups), model.State.initial(groups)
    demand = hd.HeatDemand(0)
    demand.add_synthetic(range(50), 250.0, "HMF33")
    demand.add_synthetic(range(50, 100), 30.0, "HEF33")
    e0, zeros, nan = state.e_tank_mwh.copy(), np.zeros(100), np.full(100, np.nan)
    total = dict.fromkeys(["p_th_mw", "p_boiler_th_mw", "p_heat_demand_mw", "p_tank_loss_mw",
                           "p_heat_dumped_mw", "p_mw"], 0.0)  # fmt: skip
    for k in range(35040):  # 365 days of 900 s
        state, flows = model.step(state, fleet, 900, demand.at(k * 900, 900), zeros, nan)
        for name in total:
            total[name] = total[name] + getattr(flows, name) * 0.25
    balance = (total["p_th_mw"] + total["p_boiler_th_mw"] - total["p_heat_demand_mw"]
               - total["p_tank_loss_mw"] - total["p_heat_dumped_mw"])  # fmt: skip
    np.testing.assert_allclose(balance, state.e_tank_mwh - e0, atol=1e-9)
    np.testing.assert_allclose(total["p_heat_demand_mw"][:50], 250.0, rtol=1e-9)
    # the default unit covers most of the default building's heat in several 1000 full-load h
    assert 0.8 < total["p_th_mw"][0] / 250.0 < 1.0
    assert 4000 < total["p_mw"][0] / 0.02 < 7000


# --- mosaik: in-process and as its own process give the same values --------------------------


@pytest.mark.parametrize(
    ("create", "inputs"),
    [
        ({"mode": "power_led", "min_on_s": 1800}, {"p_set_mw": [0.02, 0.0, 0.015, 0.004, 0.0]}),
        ({"e_tank_max_mwh": 0.02, "tank_init_frac": 0.1}, None),  # heat_led, synthetic demand
    ],
)
def test_own_process_equals_in_process(create: dict[str, Any], inputs: Any) -> None:
    kwargs: dict[str, Any] = dict(
        init={"step_s": 900, "start": "2016-01-15 06:00:00"},
        model="CHP",
        create=create,
        num=2,
        inputs=inputs,
        outputs=[a.name for a in OUTPUTS],
        steps=5,
    )
    in_process = run_simulator("simulators.chp", processes=False, **kwargs)
    own_process = run_simulator("simulators.chp", processes=True, **kwargs)
    assert own_process == in_process
    assert sorted(in_process) == [0, 900, 1800, 2700, 3600]
    assert in_process[0]["chp_1"]["p_mw"] > 0  # both runs do run the unit
    if inputs:
        assert [in_process[t]["chp_0"]["p_mw"] for t in sorted(in_process)] == pytest.approx(
            [0.02, 0.01, 0.015, 0.0, 0.0]  # held on 1800 s at 0.01; 0.004 < min part: off
        )
