"""Stationary batteries: hand calculations, invariants, bad parameters, both process modes.

Wiring of the mosaik test (``cosim.run.testing.run_simulator``)::

    Series-0.series_k --p_set_mw--> Under-0.battery_k --p_mw, soc_frac, ...--> Collector

once with the battery simulator in-process, once as ``python -m simulators.battery``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim.core.errors import ConfigError, SimulationError
from cosim.run.testing import run_simulator
from simulators.battery import model
from simulators.battery.model import BatteryParams, Fleet
from simulators.battery.sim import OUTPUTS, BatterySim

ALL_OUTPUTS = [a.name for a in OUTPUTS]


def run_model(
    prm: BatteryParams, p_request: list[float], dt_s: int, slack: list[float] | None = None
) -> list[model.StepResult]:
    """Step one battery through ``p_request`` [MW]; ``slack`` (NaN = none) forces the power."""
    fleet = Fleet.of([prm])
    e = model.initial_energy([prm])
    out = []
    for k, p in enumerate(p_request):
        s = np.array([np.nan if slack is None else slack[k]])
        result = model.step(e, np.array([p]), s, dt_s, fleet)
        e = result.e_mwh
        out.append(result)
    return out


def sim_with(dt_s: int = 900, num: int = 1, **params: Any) -> BatterySim:
    sim = BatterySim()
    sim.init("Battery-0", time_resolution=1.0, step_s=dt_s)
    sim.create(num, "Battery", **params)
    return sim


# --- hand calculations ------------------------------------------------------------------------


def test_one_hour_charging_and_discharging() -> None:
    # charge: 1 MWh battery at SoC 0.2, 0.5 MW for 1 h, eta_charge 0.95
    #   stored = 0.5 MW * 0.95 * 1 h = 0.475 MWh -> e = 0.2 + 0.475 = 0.675 MWh, SoC 0.675
    #   loss = 0.5 - 0.475 = 0.025 MW
    prm = BatteryParams(
        e_max_mwh=1.0, soc_init_frac=0.2, p_charge_max_mw=1.0, self_discharge_per_day_frac=0.0
    )
    (r,) = run_model(prm, [0.5], 3600)
    assert r.p_mw[0] == 0.5
    assert r.e_mwh[0] == pytest.approx(0.675, abs=1e-12)
    assert r.p_loss_mw[0] == pytest.approx(0.025, abs=1e-12)
    # discharge: SoC 0.8, -0.4 MW for 1 h in four 900 s steps, eta_discharge 0.9
    #   removed = 0.4 MW / 0.9 * 1 h = 0.444444 MWh -> e = 0.8 - 0.444444 = 0.355556 MWh
    #   loss = 0.444444 - 0.4 = 0.044444 MW
    prm = BatteryParams(
        e_max_mwh=1.0, soc_init_frac=0.8, eta_discharge=0.9, self_discharge_per_day_frac=0.0
    )
    results = run_model(prm, [-0.4] * 4, 900)
    assert [r.p_mw[0] for r in results] == [-0.4] * 4
    assert results[-1].e_mwh[0] == pytest.approx(0.8 - 0.4 / 0.9, abs=1e-12)
    assert results[-1].p_loss_mw[0] == pytest.approx(0.4 / 0.9 - 0.4, abs=1e-12)


def test_power_limits_clip_the_request() -> None:
    # 2 MWh, limits 0.5 MW charge and 0.3 MW discharge: 2 MW -> 0.5 MW, -2 MW -> -0.3 MW
    prm = BatteryParams(e_max_mwh=2.0, p_charge_max_mw=0.5, p_discharge_max_mw=0.3)
    results = run_model(prm, [2.0, -2.0, 0.1], 900)
    assert [r.p_mw[0] for r in results] == [0.5, -0.3, 0.1]
    # default limits: 0.5 C -> 1 MW for a 2 MWh battery
    assert BatteryParams(e_max_mwh=2.0).p_charge_max_mw == 1.0


def test_soc_limit_clips_the_last_step() -> None:
    # 1 MWh, window 0.1..0.9, SoC 0.6, 0.4 MW at eta 0.8 in 900 s steps (0.25 h):
    #   each full step stores 0.4 * 0.8 * 0.25 = 0.08 MWh: 0.6 -> 0.68 -> 0.76 -> 0.84
    #   4th step: room 0.9 - 0.84 = 0.06 MWh -> p = 0.06 / (0.8 * 0.25) = 0.3 MW, SoC 0.9
    #   5th step: no room -> 0 MW
    prm = BatteryParams(
        e_max_mwh=1.0,
        soc_min_frac=0.1,
        soc_max_frac=0.9,
        soc_init_frac=0.6,
        eta_charge=0.8,
        self_discharge_per_day_frac=0.0,
    )
    results = run_model(prm, [0.4] * 5, 900)
    assert [r.p_mw[0] for r in results] == pytest.approx([0.4, 0.4, 0.4, 0.3, 0.0], abs=1e-12)
    assert [r.e_mwh[0] for r in results] == pytest.approx([0.68, 0.76, 0.84, 0.9, 0.9], abs=1e-12)
    # and down to soc_min: 0.9 -> 0.1 = 0.8 MWh at eta_discharge 0.95 gives 0.76 MWh to the grid
    results = run_model(prm, [0.4] * 4 + [-10.0] * 10, 900)
    assert results[-1].e_mwh[0] == pytest.approx(0.1, abs=1e-12)
    delivered_mwh = -sum(r.p_mw[0] for r in results[4:]) * 0.25
    assert delivered_mwh == pytest.approx(0.8 * 0.95, abs=1e-12)
    assert not any(r.limit_violated[0] for r in results)


@pytest.mark.parametrize("dt_s", [60, 900, 3600])
def test_self_discharge_over_a_day(dt_s: int) -> None:
    # 1 MWh full, 1 %/day, idle: after one day of any step size e = 1 * (1 - 0.01) = 0.99 MWh,
    # and the losses add up to the 0.01 MWh lost
    prm = BatteryParams(e_max_mwh=1.0, soc_init_frac=1.0, self_discharge_per_day_frac=0.01)
    results = run_model(prm, [0.0] * (86400 // dt_s), dt_s)
    assert results[-1].e_mwh[0] == pytest.approx(0.99, abs=1e-12)
    assert sum(r.p_loss_mw[0] for r in results) * dt_s / 3600 == pytest.approx(0.01, abs=1e-12)
    assert all(r.p_mw[0] == 0.0 for r in results)


def test_self_consumption_charges_surplus_and_discharges_deficit() -> None:
    sim = sim_with(
        dt_s=3600,
        e_max_mwh=0.01,
        p_charge_max_mw=0.005,
        p_discharge_max_mw=0.005,
        mode="self_consumption",
        soc_init_frac=0.5,
    )
    request = {"battery_0": ["p_mw"]}
    # PV 0.004 MW, load 0.001 MW: surplus 0.003 MW -> charges 0.003 MW
    sim.step(0, {"battery_0": {"p_gen_mw": {"pv": 0.004}, "p_load_mw": {"h": 0.001}}}, 0)
    assert sim.get_data(request)["battery_0"]["p_mw"] == pytest.approx(0.003)
    # load 0.002 MW from two sources, no PV: deficit 0.002 MW -> discharges 0.002 MW
    sim.step(3600, {"battery_0": {"p_load_mw": {"a": 0.0015, "b": 0.0005}}}, 0)
    assert sim.get_data(request)["battery_0"]["p_mw"] == pytest.approx(-0.002)
    # a set point overrides the own control for that step; None from a source is absent
    inputs = {"p_gen_mw": {"pv": 0.004}, "p_set_mw": {"ctl": -0.001, "other": None}}
    sim.step(7200, {"battery_0": inputs}, 0)
    assert sim.get_data(request)["battery_0"]["p_mw"] == pytest.approx(-0.001)
    sim.step(10800, {"battery_0": {"p_set_mw": {"ctl": None}}}, 0)
    assert sim.get_data(request)["battery_0"]["p_mw"] == 0.0


def test_set_point_mode_is_idle_without_input_and_sums_sources() -> None:
    sim = sim_with(e_max_mwh=1.0, num=2)
    sim.step(0, {"battery_0": {"p_set_mw": {"a": 0.1, "b": 0.05}}}, 0)
    data = sim.get_data({"battery_0": ["p_mw"], "battery_1": ["p_mw", "soc_frac"]})
    assert data == {
        "battery_0": {"p_mw": pytest.approx(0.15)},
        "battery_1": {"p_mw": 0.0, "soc_frac": pytest.approx(0.5 * (1 - 0.0005) ** (1 / 96))},
    }


def test_grid_forming_slack_is_taken_exactly_and_flags_violations() -> None:
    # 1 MWh at SoC 0.15 (window 0.1..1, eta 1): the island demands 0.5 MW for 1 h, 3x the
    # 0.15 MW discharge limit; energy stays true: 0.15 - 0.5 = -0.35 MWh
    prm = BatteryParams(
        e_max_mwh=1.0,
        soc_min_frac=0.1,
        soc_init_frac=0.15,
        p_discharge_max_mw=0.15,
        eta_discharge=1.0,
        self_discharge_per_day_frac=0.0,
        grid_forming=True,
    )
    results = run_model(prm, [0.0, 0.0], 3600, slack=[-0.02, -0.5])
    # first step within limits (0.02 MW <= 0.05 MWh above the floor / 1 h): no violation
    assert results[0].p_mw[0] == -0.02 and not results[0].limit_violated[0]
    assert results[1].p_mw[0] == -0.5 and results[1].limit_violated[0]
    assert results[1].e_mwh[0] == pytest.approx(0.15 - 0.02 - 0.5, abs=1e-12)
    # in the adapter: p_slack_mw wins over p_set_mw
    sim = sim_with(dt_s=3600, e_max_mwh=1.0, grid_forming=True, p_discharge_max_mw=0.1)
    sim.step(0, {"battery_0": {"p_slack_mw": {"grid": -0.3}, "p_set_mw": {"c": 0.2}}}, 0)
    data = sim.get_data({"battery_0": ["p_mw", "limit_violated"]})["battery_0"]
    assert data == {"p_mw": -0.3, "limit_violated": True}


def test_available_power_is_what_the_next_step_accepts() -> None:
    sim = sim_with(e_max_mwh=1.0, soc_init_frac=0.95, soc_max_frac=0.96, eta_charge=0.9)
    sim.step(0, {}, 0)
    avail = sim.get_data({"battery_0": ["p_available_charge_mw", "p_available_discharge_mw"]})
    charge = avail["battery_0"]["p_available_charge_mw"]
    assert 0 < charge < 0.5  # the SoC window limits it, not the 0.5 MW power limit
    assert avail["battery_0"]["p_available_discharge_mw"] == 0.5
    sim.step(900, {"battery_0": {"p_set_mw": {"c": 1.0}}}, 0)
    data = sim.get_data({"battery_0": ["p_mw", "soc_frac"]})["battery_0"]
    assert data["p_mw"] == pytest.approx(charge, rel=1e-12)
    assert data["soc_frac"] == pytest.approx(0.96, abs=1e-12)


# --- invariants -------------------------------------------------------------------------------


@st.composite
def battery_params(draw: st.DrawFn, mode: str) -> BatteryParams:
    lo = draw(st.floats(0.0, 0.5))
    hi = draw(st.floats(lo + 0.01, 1.0))
    e_max = draw(st.floats(0.001, 10.0))
    return BatteryParams(
        e_max_mwh=e_max,
        p_charge_max_mw=draw(st.floats(0.01, 2.0)) * e_max,
        p_discharge_max_mw=draw(st.floats(0.01, 2.0)) * e_max,
        eta_charge=draw(st.floats(0.5, 1.0)),
        eta_discharge=draw(st.floats(0.5, 1.0)),
        soc_min_frac=lo,
        soc_max_frac=hi,
        soc_init_frac=draw(st.floats(lo, hi)),
        self_discharge_per_day_frac=draw(st.sampled_from([0.0, 0.0005, 0.05])),
        mode=mode,
    )


@settings(max_examples=60, deadline=None)
@given(
    units=st.lists(
        st.one_of(battery_params("set_point"), battery_params("self_consumption")),
        min_size=1,
        max_size=5,
    ),
    dt_s=st.sampled_from([1, 60, 900, 3600]),
    data=st.data(),
)
def test_soc_stays_in_window_and_energy_balance_closes(
    units: list[BatteryParams], dt_s: int, data: st.DataObject
) -> None:
    fleet = Fleet.of(units)
    n, dt_h = fleet.size, dt_s / 3600
    e = model.initial_energy(units)
    scale = fleet.e_max_mwh * 3
    powers = st.lists(st.floats(-1.0, 1.0), min_size=n, max_size=n)
    for _ in range(data.draw(st.integers(1, 20))):
        p_set = np.array(data.draw(powers)) * scale
        has_set = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        p_load, p_gen = np.abs(np.array(data.draw(powers))) * scale, np.abs(p_set)
        request = model.requested_power(fleet, p_set, has_set, p_load, p_gen)
        r = model.step(e, request, np.full(n, np.nan), dt_s, fleet)
        # within the window (self-discharge alone may take it below soc_min, never power)
        decayed = e - model.self_discharge_mwh(e, dt_s, fleet)
        assert (r.e_mwh <= fleet.e_hi_mwh + 1e-12).all()
        assert (r.e_mwh >= np.minimum(fleet.e_lo_mwh, decayed) - 1e-12).all()
        # e(t + dt) - e(t) = (p - loss) dt, and = charged * eta - discharged / eta - self-disch.
        np.testing.assert_allclose(r.e_mwh - e, (r.p_mw - r.p_loss_mw) * dt_h, rtol=0, atol=1e-12)
        stored = np.where(r.p_mw > 0, r.p_mw * fleet.eta_charge, r.p_mw / fleet.eta_discharge)
        expected = stored * dt_h - model.self_discharge_mwh(e, dt_s, fleet)
        np.testing.assert_allclose(r.e_mwh - e, expected, rtol=0, atol=1e-12)
        assert (r.p_loss_mw >= -1e-12).all() and not r.limit_violated.any()
        e = r.e_mwh


# --- bad parameters and inputs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"e_max_mwh": -1.0}, r"e_max_mwh=-1\.0 must be > 0"),
        ({"e_max_mwh": 0}, "e_max_mwh=0"),
        ({"e_max_mwh": "big"}, "e_max_mwh='big' must be a number"),
        ({"e_max_mwh": 1, "eta_charge": 1.1}, r"eta_charge=1\.1 must be in \(0, 1\]"),
        ({"e_max_mwh": 1, "eta_discharge": 0}, "eta_discharge"),
        ({"e_max_mwh": 1, "soc_min_frac": 0.8, "soc_max_frac": 0.5}, "soc_min_frac=0.8"),
        ({"e_max_mwh": 1, "soc_init_frac": 0.95, "soc_max_frac": 0.9}, "soc_init_frac=0.95"),
        ({"e_max_mwh": 1, "p_charge_max_mw": -0.1}, "p_charge_max_mw=-0.1"),
        ({"e_max_mwh": 1, "self_discharge_per_day_frac": 1}, "self_discharge_per_day_frac"),
        ({"e_max_mwh": 1, "mode": "peak"}, "mode='peak' is unknown; known: set_point"),
        ({"e_max_mwh": 1, "grid_forming": "yes"}, "grid_forming='yes'"),
        ({"e_max_mwh": 1, "capacity": 2}, "param 'capacity' is unknown; known: e_max_mwh"),
        ({"eta_charge": 0.9}, "'e_max_mwh' is required"),
    ],
)
def test_bad_params_raise_config_error(params: dict[str, Any], match: str) -> None:
    sim = BatterySim()
    sim.init("Battery-0")
    with pytest.raises(ConfigError, match=match):
        sim.create(1, "Battery", **params)


@pytest.mark.parametrize(
    ("init", "match"),
    [
        ({"time_resolution": 60.0}, "time_resolution=60.0"),
        ({"step_s": 0}, "step_s=0 must be a positive int"),
        ({"start": "yesterday"}, "start='yesterday'"),
        ({"stepsize": 60}, "sim param='stepsize' is unknown; known: start, step_s"),
    ],
)
def test_bad_sim_params(init: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BatterySim().init("Battery-0", **init)


def test_misplaced_inputs_and_misuse() -> None:
    sim = sim_with(e_max_mwh=1.0)
    with pytest.raises(ConfigError, match=r"'p_slack_mw' of 'battery_0' needs .*grid_forming"):
        sim.step(0, {"battery_0": {"p_slack_mw": {"g": 0.1}}}, 0)
    with pytest.raises(ConfigError, match=r"'p_gen_mw' of 'battery_0' needs .*self_consumption"):
        sim.step(0, {"battery_0": {"p_gen_mw": {"pv": 0.1}}}, 0)
    with pytest.raises(ConfigError, match="input 'q_mvar' of 'battery_0' is unknown"):
        sim.step(0, {"battery_0": {"q_mvar": {"c": 0.1}}}, 0)
    with pytest.raises(SimulationError, match="battery_0: p_set_mw=nan must be finite"):
        sim.step(0, {"battery_0": {"p_set_mw": {"c": float("nan")}}}, 0)
    with pytest.raises(SimulationError, match="before the first step"):
        sim.get_data({"battery_0": ["p_mw"]})
    sim.step(0, {}, 0)
    with pytest.raises(SimulationError, match="'q_mvar' is not an output"):
        sim.get_data({"battery_0": ["q_mvar"]})
    with pytest.raises(ConfigError, match="model='Storage' is unknown; known: Battery"):
        sim.create(1, "Storage", e_max_mwh=1.0)


# --- mosaik: in-process and as its own process give the same values --------------------------


def test_own_process_equals_in_process() -> None:
    kwargs: dict[str, Any] = dict(
        init={"step_s": 900},
        model="Battery",
        create={"e_max_mwh": 1.0, "soc_init_frac": 0.3, "soc_max_frac": 0.9},
        num=2,
        inputs={"p_set_mw": [0.5, 0.5, 0.5, 0.5, 0.5, -0.2, 0.0, -2.0]},
        outputs=ALL_OUTPUTS,
        steps=8,
    )
    in_process = run_simulator("simulators.battery", processes=False, **kwargs)
    own_process = run_simulator("simulators.battery", processes=True, **kwargs)
    assert own_process == in_process
    assert sorted(in_process) == [900 * k for k in range(8)]
    first = in_process[0]["battery_0"]
    assert set(first) == set(ALL_OUTPUTS) and type(first["limit_violated"]) is bool
    # 0.5 MW x 0.25 h x 0.95 = 0.11875 MWh per step from 0.3 MWh (minus 15 min self-discharge)
    assert first["e_mwh"] == pytest.approx(0.3 * (1 - 0.0005) ** (1 / 96) + 0.11875)
    # five such steps: 0.3 + 5 x 0.11875 = 0.89375 (minus self-discharge); -2 MW clips to -0.5 MW
    assert in_process[3600]["battery_1"]["soc_frac"] == pytest.approx(0.89375, rel=1e-4)
    assert in_process[6300]["battery_1"]["p_mw"] == -0.5
