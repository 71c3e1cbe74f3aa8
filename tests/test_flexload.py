"""The flexible household load simulator: model, adapter, and mosaik in- and out-of-process.

Wiring of the mosaik tests (cosim.run.testing.run_simulator):
Series --p_base_mw, p_reduce_mw--> FlexLoad-0.flexload_<k> --p_mw, e_backlog_mwh, ...--> Collector
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim.core.errors import ConfigError, SimulationError
from cosim.run.testing import run_simulator
from simulators.flexload import model
from simulators.flexload.sim import OUTPUTS, FlexLoadSim

# A 10 kW household, half of it flexible, recovering at up to 0.5 kW, owing up to 5 kWh.
HOUSE = model.Params(
    flex_share_frac=0.5, p_recover_max_mw=0.0005, e_backlog_max_mwh=0.005, p_base_mw=0.01
)


def run(
    params: model.Params | list[model.Params],
    p_reduce: list[float],
    p_base: list[float] | None = None,
    allowed: list[bool] | None = None,
    q_base: list[float] | None = None,
    dt_s: float = 900,
) -> list[tuple[model.State, model.Flows]]:
    """Step units with ``params`` through the series (one value per step, every unit)."""
    groups = [(p, 1) for p in (params if isinstance(params, list) else [params])]
    fleet, state = model.Fleet.of(groups), model.State.initial(len(groups))
    n = len(groups)
    out = []
    for k, reduce in enumerate(p_reduce):
        state, flows = model.step(
            state,
            fleet,
            dt_s,
            fleet.p_base_mw if p_base is None else np.full(n, p_base[k]),
            np.full(n, reduce),
            np.full(n, True if allowed is None else allowed[k]),
            np.full(n, np.nan if q_base is None else q_base[k]),
        )
        out.append((state, flows))
    return out


# --- hand calculations ------------------------------------------------------------------------


def test_reducing_1_kw_for_1_h_then_recovering_at_half_a_kw_takes_2_h() -> None:
    # 4 steps of 900 s at -1 kW: backlog 0.001 MW * 1 h = 1 kWh. Recovering at 0.5 kW takes
    # 1 kWh / 0.5 kW = 2 h = 8 steps, each 0.0005 MW * 0.25 h = 0.125 kWh.
    out = run(HOUSE, p_reduce=[0.001] * 4 + [0.0] * 10)
    backlog = [s.e_backlog_mwh[0] for s, _ in out]
    p_mw = [f.p_mw[0] for _, f in out]
    assert backlog[:4] == pytest.approx([0.00025, 0.0005, 0.00075, 0.001])
    assert p_mw[:4] == pytest.approx([0.009] * 4)  # 10 kW - 1 kW
    assert p_mw[4:12] == pytest.approx([0.0105] * 8)  # 10 kW + 0.5 kW
    assert backlog[11] == pytest.approx(0.0, abs=1e-18) and backlog[10] > 0
    assert p_mw[12:] == pytest.approx([0.01, 0.01])  # done: back to base
    state = out[-1][0]
    assert state.e_shifted_mwh[0] == pytest.approx(0.001) and state.e_curtailed_mwh[0] == 0
    assert state.e_consumed_mwh[0] == pytest.approx(state.e_demanded_mwh[0], abs=1e-15)


def test_curtailed_energy_is_lost() -> None:
    out = run(replace(HOUSE, mode="curtail"), p_reduce=[0.002] * 4 + [0.0] * 4)
    state = out[-1][0]
    # 2 kW for 1 h: 2 kWh curtailed, nothing owed, nothing recovered; 8 steps of 10 kW demanded
    assert state.e_curtailed_mwh[0] == pytest.approx(0.002)
    assert state.e_backlog_mwh[0] == 0 and state.e_shifted_mwh[0] == 0
    assert state.e_demanded_mwh[0] == pytest.approx(0.02)
    assert state.e_consumed_mwh[0] == pytest.approx(0.018)
    assert [f.p_mw[0] for _, f in out] == pytest.approx([0.008] * 4 + [0.01] * 4)


def test_reduction_is_limited_by_the_flexible_share_and_the_backlog_room() -> None:
    # flexible share 0.5 * 10 kW = 5 kW: a 8 kW request gives 5 kW
    (_, flows), *_ = run(HOUSE, p_reduce=[0.008])
    assert flows.p_reduced_mw[0] == pytest.approx(0.005)
    # backlog room 5 kWh: at 5 kW per 900 s step (1.25 kWh) full after 4 steps, then 0
    out = run(HOUSE, p_reduce=[0.008] * 6)
    assert [f.p_reduced_mw[0] for _, f in out] == pytest.approx([0.005] * 4 + [0, 0])
    assert out[-1][0].e_backlog_mwh[0] == pytest.approx(0.005)
    # what is still available: min(5 kW, room / dt) -> 5 kW, 5 kW, 5 kW, 0 (room gone)
    assert [f.p_flex_available_mw[0] for _, f in out[:4]] == pytest.approx([0.005] * 3 + [0])
    # no base demand, nothing to reduce; a negative base (net generation) is not flexible
    assert run(HOUSE, [0.001], p_base=[0.0])[0][1].p_reduced_mw[0] == 0
    assert run(HOUSE, [0.001], p_base=[-0.002])[0][1].p_mw[0] == -0.002


def test_recovery_waits_for_permission_and_for_no_request() -> None:
    allowed = [True, False, False, True, True]
    out = run(HOUSE, p_reduce=[0.001, 0.0, 0.0, -0.1, 0.0], allowed=allowed)
    # step 0 owes 0.25 kWh; 1-2 not allowed; 3: a negative request is no request: recovers
    # 0.125 kWh; 4: the last 0.125 kWh
    assert [f.p_recovered_mw[0] for _, f in out] == pytest.approx([0, 0, 0, 0.0005, 0.0005])
    assert out[-1][0].e_backlog_mwh[0] == pytest.approx(0, abs=1e-18)
    # asked to reduce: no recovery in the same step, even when nothing more can be reduced
    out = run(replace(HOUSE, e_backlog_max_mwh=0.00025), p_reduce=[0.001, 0.001])
    assert [f.p_reduced_mw[0] for _, f in out] == pytest.approx([0.001, 0.0])
    assert out[1][1].p_recovered_mw[0] == 0


def test_reactive_power_from_cos_phi_or_the_base() -> None:
    # cos phi 0.97 inductive: tan phi = sqrt(1 - 0.9409) / 0.97 = 0.243105 / 0.97 = 0.250624;
    # p = 10 kW - 2 kW = 0.008 MW, q = 0.008 * 0.250624 = 0.0020050 Mvar (load sign: consumes)
    (_, flows), *_ = run(HOUSE, p_reduce=[0.002])
    assert flows.q_mvar[0] == pytest.approx(0.0020050, abs=1e-7)
    # given q of the base demand, the 2 kW reduction takes its q at cos phi 0.97 off it:
    # 0.003 - 0.002 * 0.250624 = 0.0024987 Mvar
    (_, flows), *_ = run(HOUSE, p_reduce=[0.002], q_base=[0.003])
    assert flows.q_mvar[0] == pytest.approx(0.0024987, abs=1e-7)
    (_, flows), *_ = run(HOUSE, p_reduce=[0.0], p_base=[0.0], q_base=[-0.001])
    assert flows.q_mvar[0] == -0.001  # no base power: q as given


# --- parameters and adapter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"flex_share_frac": 1.2}, r"flex_share_frac=1.2 must be in \[0, 1\]"),
        ({"p_recover_max_mw": -0.001}, "p_recover_max_mw=-0.001 must be >= 0"),
        ({"e_backlog_max_mwh": -1}, "e_backlog_max_mwh=-1 must be >= 0"),
        ({"cos_phi": 0}, r"cos_phi=0 must be in \(0, 1\]"),
        ({"mode": "drop"}, "mode='drop' is unknown; known: curtail, shift"),
        ({"flex_share_frac": "0.1"}, "flex_share_frac='0.1' must be a number"),
        ({"p_base_mw": math.inf}, "p_base_mw=inf must be finite"),
        ({"flex_frac": 0.1}, "FlexLoad param='flex_frac' is unknown; known: cos_phi, e_backlog"),
    ],
)
def test_bad_params_raise_config_error(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        model.Params.from_dict(params)
    sim = FlexLoadSim()
    sim.init("FlexLoad-0")
    with pytest.raises(ConfigError, match=match):
        sim.create(1, "FlexLoad", **params)


@pytest.mark.parametrize(
    ("init", "match"),
    [
        ({"time_resolution": 2.0}, "time_resolution=2.0"),
        ({"step_s": -900}, "step_s=-900 must be a positive int"),
        ({"start": "2016-13-01"}, "start='2016-13-01' is not an ISO date"),
        ({"heat_demand": "x.csv"}, "sim param='heat_demand' is unknown; known: start, step_s"),
    ],
)
def test_bad_sim_params(init: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        FlexLoadSim().init("FlexLoad-0", **init)


def test_adapter_inputs_outputs_and_errors() -> None:
    sim = FlexLoadSim()
    sim.init("FlexLoad-0", step_s=900)
    with pytest.raises(SimulationError, match="before create"):
        sim.step(0, {}, 10**9)
    created = sim.create(2, "FlexLoad", p_base_mw=0.004) + sim.create(1, "FlexLoad")
    assert [c["eid"] for c in created] == ["flexload_0", "flexload_1", "flexload_2"]
    with pytest.raises(ConfigError, match="model='Load' is unknown; known: FlexLoad"):
        sim.create(1, "Load")
    inputs = {
        "flexload_0": {"p_reduce_mw": {"a": 0.0002, "b": 0.0001}},
        "flexload_1": {"p_base_mw": {"p1": 0.003, "p2": 0.002}, "p_reduce_mw": {"a": None}},
        "flexload_2": {"p_recover_allowed": {"a": True, "b": False}},
    }
    assert sim.step(0, inputs, 10**9) == 900
    data = sim.get_data({e: [a.name for a in OUTPUTS] for e in sim.eids})
    assert data["flexload_0"]["p_mw"] == pytest.approx(0.004 - 0.0003)  # summed requests
    assert data["flexload_1"]["p_mw"] == pytest.approx(0.005)  # summed base inputs
    assert data["flexload_2"]["p_mw"] == 0.0  # default p_base_mw param 0
    assert all(type(v) is float for values in data.values() for v in values.values())
    with pytest.raises(SimulationError, match="'p_mw' of 'flexload_0' is unknown; inputs: p_base"):
        sim.step(900, {"flexload_0": {"p_mw": {"x": 0.01}}}, 10**9)
    with pytest.raises(SimulationError, match="flexload_1: p_base_mw=nan must be finite"):
        sim.step(900, {"flexload_1": {"p_base_mw": {"x": math.nan}}}, 10**9)
    with pytest.raises(SimulationError, match="'p_reduce_mw' is not an output"):
        sim.get_data({"flexload_0": ["p_reduce_mw"]})


# --- invariants -------------------------------------------------------------------------------


@st.composite
def flex_params(draw: st.DrawFn) -> model.Params:
    return model.Params(
        flex_share_frac=draw(st.floats(0, 1)),
        p_recover_max_mw=draw(st.floats(0, 0.01)),
        e_backlog_max_mwh=draw(st.sampled_from([0.0, 0.0001, 0.002, 0.05])),
        mode=draw(st.sampled_from(model.MODES)),
        cos_phi=draw(st.floats(0.5, 1)),
    )


@settings(max_examples=150, deadline=None)
@given(
    params=st.lists(flex_params(), min_size=1, max_size=4),
    dt_s=st.sampled_from([1, 60, 900, 3600]),
    series=st.lists(
        st.tuples(st.floats(0, 0.02), st.floats(-0.01, 0.02), st.booleans()),
        min_size=1,
        max_size=40,
    ),
)
def test_invariants(params: list[model.Params], dt_s: int, series: list[Any]) -> None:
    fleet, state = model.Fleet.of([(p, 1) for p in params]), model.State.initial(len(params))
    n = len(params)
    for base, reduce, allowed in series:
        state, f = model.step(state, fleet, dt_s, np.full(n, base), np.full(n, reduce),
                              np.full(n, allowed), np.full(n, np.nan))  # fmt: skip
        total = state.e_consumed_mwh + state.e_backlog_mwh + state.e_curtailed_mwh
        np.testing.assert_allclose(total, state.e_demanded_mwh, rtol=0, atol=1e-9)
        assert (f.p_mw >= 0).all()
        assert (state.e_backlog_mwh >= 0).all()
        assert (state.e_backlog_mwh <= fleet.e_backlog_max_mwh + 1e-15).all()
        assert (state.e_backlog_mwh[~fleet.shift] == 0).all()
        assert (f.p_reduced_mw <= fleet.flex_share_frac * base * (1 + 1e-12)).all()
        assert (f.p_recovered_mw <= fleet.p_recover_max_mw).all()
        assert (f.p_flex_available_mw >= 0).all()


def test_a_year_of_100_units_is_vectorised_and_keeps_the_energy_invariant() -> None:
    groups = [(HOUSE, 50), (replace(HOUSE, mode="curtail", flex_share_frac=0.2), 50)]
    fleet, state = model.Fleet.of(groups), model.State.initial(100)
    rng = np.random.default_rng(1)
    base = rng.uniform(0.0002, 0.003, (96, 100))  # one day of 15-min demand, repeated
    reduce = np.where(np.arange(96) % 16 < 2, 0.0005, 0.0)  # 30 min of every 4 h
    allowed, nan = np.ones(100, dtype=bool), np.full(100, np.nan)
    for k in range(35040):
        state, _ = model.step(
            state, fleet, 900, base[k % 96], np.full(100, reduce[k % 96]), allowed, nan
        )
    total = state.e_consumed_mwh + state.e_backlog_mwh + state.e_curtailed_mwh
    np.testing.assert_allclose(total, state.e_demanded_mwh, rtol=0, atol=1e-9)
    # 6 requests a day of 0.5 kW x 0.5 h = 1.5 kWh/day (where the base demand allows it)
    assert 0.3 < state.e_shifted_mwh[:50].mean() / 365 / 0.0015 <= 1
    assert state.e_curtailed_mwh[50:].mean() > 0 and (state.e_shifted_mwh[50:] == 0).all()


# --- mosaik: in-process and as its own process give the same values --------------------------


def test_own_process_equals_in_process() -> None:
    kwargs: dict[str, Any] = dict(
        init={"step_s": 900},
        model="FlexLoad",
        create={"flex_share_frac": 0.5, "p_recover_max_mw": 0.0005},
        num=2,
        inputs={
            "p_base_mw": [0.004, 0.004, 0.003, 0.002, 0.004, 0.004],
            "p_reduce_mw": [0.001, 0.001, 0.0, 0.0, 0.0, 0.0],
        },
        outputs=[a.name for a in OUTPUTS],
        steps=6,
    )
    in_process = run_simulator("simulators.flexload", processes=False, **kwargs)
    own_process = run_simulator("simulators.flexload", processes=True, **kwargs)
    assert own_process == in_process
    # 1 kW shifted for 0.5 h (0.5 kWh), recovered at 0.5 kW over the next hour
    p_mw = [in_process[t]["flexload_1"]["p_mw"] for t in sorted(in_process)]
    assert p_mw == pytest.approx([0.003, 0.003, 0.0035, 0.0025, 0.0045, 0.0045])
    assert in_process[5 * 900]["flexload_0"]["e_backlog_mwh"] == pytest.approx(0, abs=1e-18)
