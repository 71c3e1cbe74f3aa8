"""EVs charging at home: hand calculations, session statistics, invariants, both process modes.

Wiring of the mosaik test (``cosim.run.testing.run_simulator``)::

    Series-0.series_k --p_set_mw--> Under-0.ev_k --p_mw, soc_frac, connected, ...--> Collector

once with the EV simulator in-process, once as ``python -m simulators.ev``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosim.core.errors import ConfigError
from cosim.run.testing import run_simulator
from simulators.ev import model
from simulators.ev.model import Fleet
from simulators.ev.params import EVParams, MobilityParams
from simulators.ev.sessions import Sessions, SessionTable
from simulators.ev.sim import OUTPUTS, EVSim

ALL_OUTPUTS = [a.name for a in OUTPUTS]
H = 3600  # s


def ev_sim(tmp_path: Path, csv: str | None, step_s: int = 900, **params: Any) -> EVSim:
    """An EV simulator with one EV whose sessions are ``csv`` (None: generated)."""
    sim = EVSim()
    sim.init("EV-0", time_resolution=1.0, step_s=step_s)
    if csv is not None:
        path = tmp_path / "sessions.csv"
        path.write_text(csv)
        params["sessions"] = str(path)
    sim.create(1, "EV", **params)
    return sim


def run(sim: EVSim, until_s: int, p_set: dict[int, float] | None = None) -> dict[int, Any]:
    """Step from 0 to ``until_s``; ``p_set`` maps t_s to a set point. All outputs of ev_0."""
    out = {}
    for t in range(0, until_s, sim.step_s):
        inputs = {}
        if p_set and t in p_set:
            inputs = {"ev_0": {"p_set_mw": {"ctl": p_set[t]}}}
        sim.step(t, inputs, 0)
        out[t] = sim.get_data({"ev_0": ALL_OUTPUTS})["ev_0"]
    return out


# --- hand calculations ------------------------------------------------------------------------

# arrives 18:00 (64800 s) needing 0.02079 MWh, leaves 08:00 next day (115200 s)
CSV_1800 = "ev,arrival_t_s,departure_t_s,e_needed_mwh\n0,64800,115200,0.02079\n"


def test_arrival_at_1800_finishes_at_hand_computed_time(tmp_path: Path) -> None:
    # 0.02079 MWh to store at eta 0.9 = 0.0231 MWh from the grid; at 11 kW that takes
    # 0.0231 / 0.011 = 2.1 h -> charging ends at 18:00 + 2 h 06 min = 20:06 (72360 s).
    # 900 s steps: 8 full steps 18:00-19:45 at 0.011 MW, then 6 of 15 min: 0.011 * 6/15 = 0.0044
    out = run(ev_sim(tmp_path, CSV_1800), 86400)
    p = {t: v["p_mw"] for t, v in out.items()}
    assert all(p[t] == 0.0 for t in range(0, 64800, 900))
    assert [p[t] for t in range(64800, 72000, 900)] == pytest.approx([0.011] * 8)
    assert p[72000] == pytest.approx(0.0044, abs=1e-12)
    assert all(p[t] == 0.0 for t in range(72900, 86400, 900))
    assert out[72000]["soc_frac"] == pytest.approx(1.0, abs=1e-12)  # soc_target_frac 1.0
    assert out[64800]["t_departure_s"] == 115200 and out[0]["t_departure_s"] == -1
    assert not out[63900]["connected"] and out[64800]["connected"] and out[85500]["connected"]
    # 60 s steps: the last charging step is 20:05 (72300 s), full power to the end
    out = run(ev_sim(tmp_path, CSV_1800, step_s=60), 75000)
    charging = [t for t, v in out.items() if v["p_mw"] > 0]
    assert charging[0] == 64800 and charging[-1] == 72300
    assert out[72300]["p_mw"] == pytest.approx(0.011) and out[72300]["e_needed_mwh"] < 1e-15
    assert out[72240]["e_needed_mwh"] == pytest.approx(0.011 * 0.9 / 60, rel=1e-9)


def test_early_departure_leaves_unmet_energy(tmp_path: Path) -> None:
    # the same need, but leaving at 19:00: 1 h at 11 kW stores 0.011 * 0.9 = 0.0099 MWh,
    # unmet 0.02079 - 0.0099 = 0.01089 MWh
    csv = "ev,arrival_t_s,departure_t_s,e_needed_mwh\n0,64800,68400,0.02079\n"
    out = run(ev_sim(tmp_path, csv), 86400)
    # the departure ends the step 18:45-19:00: its output counts the unmet energy
    assert out[66600]["e_unmet_mwh"] == 0.0
    assert out[67500]["e_unmet_mwh"] == pytest.approx(0.01089, abs=1e-12)
    assert out[67500]["connected"] and out[67500]["p_mw"] == pytest.approx(0.011)
    assert out[85500]["e_unmet_mwh"] == pytest.approx(0.01089, abs=1e-12)
    assert not out[68400]["connected"] and out[68400]["p_mw"] == 0.0
    assert out[68400]["t_departure_s"] == -1 and out[68400]["e_needed_mwh"] == 0.0


def test_arrival_within_a_step_charges_for_the_part_plugged_in(tmp_path: Path) -> None:
    # arrives 18:05: plugged in 600 of the 900 s of the 18:00 step -> 0.011 * 600/900 MW mean
    csv = "ev,arrival_t_s,departure_t_s,soc_arrival_frac\n0,65100,115200,0.5\n"
    out = run(ev_sim(tmp_path, csv), 66600)
    assert out[64800]["connected"] and out[64800]["p_mw"] == pytest.approx(0.011 * 600 / 900)
    assert out[64800]["p_loss_mw"] == pytest.approx(0.011 * 600 / 900 * 0.1)
    # SoC: 0.5 + 0.011 MW * 0.9 * (600 s + 900 s) / 3600 / 0.06 MWh
    assert out[65700]["soc_frac"] == pytest.approx(0.5 + 0.011 * 0.9 * 1500 / 3600 / 0.06)


V2G = dict(e_max_mwh=0.05, soc_target_frac=0.9, soc_min_frac=0.2, v2g=True)
V2G_CSV = "ev,arrival_t_s,departure_t_s,soc_arrival_frac\n0,0,14400,0.8\n"


def test_v2g_keeps_the_target_reachable(tmp_path: Path) -> None:
    # 0.05 MWh, target 0.9 (0.045 MWh), floor 0.2 (0.01 MWh), eta 1, 11 kW both ways,
    # plugged in 0-4 h at SoC 0.8 (0.04 MWh), 1 h steps, the controller asks -0.011 MW:
    # step 1: after it 3 h left -> 0.033 MWh can come back: floor max(0.01, 0.045 - 0.033)
    #         = 0.012 -> may give 0.011 -> 0.029 MWh
    # step 2: 2 h left -> floor 0.045 - 0.022 = 0.023 -> gives 0.006 -> 0.023 MWh
    # then p_min_mw = (0.045 - 0.011 - 0.023) / 1 h = 0.011 MW: must charge full power
    params = dict(V2G, eta_charge=1.0, eta_discharge=1.0)
    p_set = {0: -0.011, H: -0.011, 2 * H: 0.011, 3 * H: 0.011}
    out = run(ev_sim(tmp_path, V2G_CSV, step_s=H, **params), 4 * H, p_set)
    assert [out[t]["p_mw"] for t in range(0, 4 * H, H)] == pytest.approx(
        [-0.011, -0.006, 0.011, 0.011], abs=1e-12
    )
    assert out[0]["p_min_mw"] == pytest.approx(-0.006, abs=1e-12)  # for step 2
    assert out[H]["p_min_mw"] == pytest.approx(0.011, abs=1e-12)  # for step 3
    assert out[H]["p_max_mw"] == pytest.approx(0.011, abs=1e-12)
    assert out[3 * H]["soc_frac"] == pytest.approx(0.9) and out[3 * H]["e_unmet_mwh"] < 1e-15
    # a controller that keeps asking -0.011 MW is clipped to 0 (never below the floor) but
    # may curtail charging: the 0.022 MWh missing at departure are unmet
    p_set = dict.fromkeys(range(0, 4 * H, H), -0.011)
    out = run(ev_sim(tmp_path, V2G_CSV, step_s=H, **params), 4 * H, p_set)
    assert [out[t]["p_mw"] for t in (2 * H, 3 * H)] == [0.0, 0.0]
    assert out[3 * H]["e_unmet_mwh"] == pytest.approx(0.022, abs=1e-12)


def test_sessions_shorter_than_a_step_are_served_or_skipped(tmp_path: Path) -> None:
    # 900 s steps, five sessions of one EV each needing 0.005 MWh; one session per step:
    rows = [(300, 900), (1200, 1500), (1560, 7200), (7260, 7320), (7380, 7500)]
    csv = "ev,arrival_t_s,departure_t_s,e_needed_mwh\n" + "".join(
        f"0,{a},{d},0.005\n" for a, d in rows
    )
    out = run(ev_sim(tmp_path, csv), 9000)
    # step 0: 600 s at 11 kW store 0.011 * 0.9 * 600 / 3600 = 0.00165 -> unmet 0.00335
    assert out[0]["p_mw"] == pytest.approx(0.011 * 600 / 900)
    assert out[0]["e_unmet_mwh"] == pytest.approx(0.00335)
    # step 900: the 300 s session stores 0.000825 -> unmet + 0.004175 = 0.007525; the third
    # session arrives in this step too (1560 s) and is served from the next step on
    assert out[900]["p_mw"] == pytest.approx(0.011 * 300 / 900)
    assert out[900]["e_unmet_mwh"] == pytest.approx(0.007525)
    assert out[1800]["p_mw"] == pytest.approx(0.011) and out[1800]["t_departure_s"] == 7200
    # step 7200: the fourth session, 60 s; the fifth lies wholly in the same step: skipped at
    # the next step with its whole 0.005 MWh unmet
    assert out[7200]["p_mw"] == pytest.approx(0.011 * 60 / 900)
    assert out[8100]["e_unmet_mwh"] - out[7200]["e_unmet_mwh"] == pytest.approx(0.005)
    assert not out[8100]["connected"]


def test_set_point_is_ignored_when_absent_and_without_v2g(tmp_path: Path) -> None:
    out = run(ev_sim(tmp_path, CSV_1800), 64800, dict.fromkeys(range(0, 64800, 900), 0.011))
    assert all(v["p_mw"] == 0.0 and not v["connected"] for v in out.values())
    csv = "ev,arrival_t_s,departure_t_s,soc_arrival_frac\n0,0,7200,0.8\n"
    out = run(ev_sim(tmp_path, csv), 3600, dict.fromkeys(range(0, 3600, 900), -0.011))
    assert all(v["p_mw"] == 0.0 and v["connected"] for v in out.values())  # no v2g


# --- generated sessions -----------------------------------------------------------------------


def generated(seed: int, n: int = 50, days: int = 14, chunk_s: int | None = None) -> SessionTable:
    sessions = Sessions()
    sessions.add_generated(n, EVParams(), MobilityParams(), seed, datetime(2016, 1, 4))
    until = days * 86400
    for t in range(chunk_s or until, until + 1, chunk_s or until):
        sessions.cover(t)
    return sessions.table


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63), other=st.integers(1, 2**20), chunk_s=st.sampled_from([60, 900]))
def test_same_seed_same_sessions_different_seed_different(
    seed: int, other: int, chunk_s: int
) -> None:
    # generated in one go or step by step (lazily, in 4-week blocks): the same sessions
    a, b = generated(seed, n=10), generated(seed, n=10, chunk_s=chunk_s * 96)
    c = generated(seed + other, n=10)
    for name in ("arrival_t_s", "departure_t_s", "soc_arrival_frac", "count"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.arrival_t_s[:, :3], c.arrival_t_s[:, :3])


def test_generated_statistics_match_their_sources() -> None:
    # one year of 200 EVs from Monday 2016-01-04: times of day, plug-ins per week
    table = generated(3, n=200, days=364)
    rows = [table.sessions_of(i) for i in range(200)]
    arr = np.concatenate([r[:, 0] for r in rows])
    dep = np.concatenate([r[:, 1] for r in rows])
    weekday = (arr // 86400) % 7 < 5  # day 0 is a Monday
    arr_h, dep_h = (arr % 86400) / H, (dep % 86400) / H
    assert np.mean(arr_h[weekday]) == pytest.approx(18.0, abs=0.15)
    assert np.mean(arr_h[~weekday]) == pytest.approx(17.0, abs=0.4)  # truncated below
    dep_weekday = (dep // 86400) % 7 < 5
    assert np.mean(dep_h[dep_weekday]) == pytest.approx(7.5, abs=0.1)
    assert np.mean(dep_h[~dep_weekday]) == pytest.approx(10.0, abs=0.15)
    assert (dep > arr).all() and (dep - arr >= 4 * H).all()
    per_week = arr.size / 200 / 52
    assert 2.0 <= per_week <= 3.0  # Electric Nation: 2-3 plug-ins a week


def test_a_year_of_100_evs_steps_fast_and_draws_their_driving_energy() -> None:
    # uncontrolled: the grid supplies what the EVs drive, 37 km/day * 0.18 kWh/km
    # = 2.43 MWh per EV and year (less where long trips hit the 10 % arrival floor)
    sessions = Sessions()
    sessions.add_generated(100, EVParams(), MobilityParams(), 5, datetime(2016, 1, 1))
    fleet = Fleet.of([EVParams()] * 100)
    dt, n_steps = 900, 35040
    sessions.cover(dt)
    state = model.initial_state(fleet, sessions.table, 0)
    no_set = np.zeros(100), np.zeros(100, dtype=bool)
    energy = np.zeros(100)
    for k in range(n_steps):
        sessions.cover((k + 1) * dt)
        state, r = model.step(state, sessions.table, k * dt, dt, *no_set, fleet)
        energy += r.p_mw * dt / H
    assert np.mean(energy) == pytest.approx(37 * 365 * 0.18e-3, rel=0.08)
    assert state.e_unmet_mwh.max() < 0.005  # uncontrolled charging fills nearly every EV


# --- invariants -------------------------------------------------------------------------------


def ev_sessions(dt_s: int) -> st.SearchStrategy[list[tuple[int, int, float]]]:
    """Sessions of one EV, each and each gap 1 to 12 steps long (one session per step)."""

    @st.composite
    def sessions(draw: st.DrawFn) -> list[tuple[int, int, float]]:
        t, out = draw(st.integers(-3000, 3000)), []
        for _ in range(draw(st.integers(0, 4))):
            arr = t + draw(st.integers(dt_s if out else 0, 12 * dt_s))
            t = arr + draw(st.integers(dt_s, 12 * dt_s))
            out.append((arr, t, draw(st.floats(0.0, 1.0))))
        return out

    return sessions()


@settings(max_examples=60, deadline=None)
@given(dt_s=st.sampled_from([60, 900, 3600]), data=st.data())
def test_never_charges_when_absent_and_energy_balance_closes(
    dt_s: int, data: st.DataObject
) -> None:
    per_ev = data.draw(
        st.lists(st.tuples(ev_sessions(dt_s), st.booleans()), min_size=1, max_size=4)
    )
    n = len(per_ev)
    units = [EVParams(v2g=v2g, soc_target_frac=0.9) for _, v2g in per_ev]
    fleet, table = Fleet.of(units), SessionTable()
    table.add_evs(n)
    for i, (sessions, _) in enumerate(per_ev):
        if sessions:
            arr, dep, soc = (np.array(x) for x in zip(*sessions, strict=True))
            table.append(np.full(len(arr), i), arr, dep, soc)
    flat = [(i, a, d) for i, (sessions, _) in enumerate(per_ev) for a, d, _ in sessions]
    ses_ev, ses_arr, ses_dep = np.array(flat, dtype=np.int64).reshape(-1, 3).T
    state = model.initial_state(fleet, table, 0)
    dt_h = dt_s / H
    # set points per EV, cycled over the steps (NaN: no set point)
    set_points = st.lists(st.one_of(st.just(np.nan), st.floats(-0.03, 0.03)), min_size=1)
    cycles = [np.array(data.draw(set_points)) for _ in range(n)]
    until_s = int(ses_dep.max(initial=0)) + 2 * dt_s
    for k, t in enumerate(range(0, until_s, dt_s)):
        p_set = np.array([c[k % c.size] for c in cycles])
        has_set = ~np.isnan(p_set)
        before = state.e_unmet_mwh
        state, r = model.step(state, table, t, dt_s, p_set, has_set, fleet)
        overlap = np.minimum(ses_dep, t + dt_s) - np.maximum(ses_arr, t) > 0
        present = np.bincount(ses_ev, weights=overlap, minlength=n) > 0
        np.testing.assert_array_equal(r.connected, present)
        assert (r.p_mw[~present] == 0.0).all()
        np.testing.assert_allclose(
            state.e_mwh - r.e_start_mwh, (r.p_mw - r.p_loss_mw) * dt_h, rtol=0, atol=1e-12
        )
        assert (state.e_mwh <= np.maximum(r.e_start_mwh, fleet.e_target_mwh) + 1e-12).all()
        assert (state.e_mwh >= np.minimum(r.e_start_mwh, fleet.e_min_mwh) - 1e-12).all()
        assert (r.p_loss_mw >= -1e-12).all() and (state.e_unmet_mwh >= before).all()
        v2g = fleet.p_discharge_max_mw > 0
        assert (r.p_mw[~v2g] >= 0).all()


# --- bad parameters and files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"e_max_mwh": -0.05}, r"e_max_mwh=-0\.05 must be in \(0, inf\]"),
        ({"eta_charge": 1.2}, r"eta_charge=1\.2 must be in \(0, 1\]"),
        ({"soc_min_frac": 0.9, "soc_target_frac": 0.8}, "soc_min_frac=0.9 must be < soc_target"),
        ({"p_charger_max_mw": 0}, "p_charger_max_mw=0"),
        ({"v2g": 1}, "v2g=1 must be True or False"),
        ({"battery_kwh": 60}, "EV param 'battery_kwh' is unknown; known: e_max_mwh"),
        ({"plug_in_prob": 1.5}, "plug_in_prob=1.5"),
        ({"weekday_departure_h": 20.0}, "weekday_departure_h=20.0 must be in"),
        ({"distance_mean_km": -3}, "distance_mean_km=-3"),
    ],
)
def test_bad_params_raise_config_error(params: dict[str, Any], match: str) -> None:
    sim = EVSim()
    sim.init("EV-0")
    with pytest.raises(ConfigError, match=match):
        sim.create(1, "EV", **params)


@pytest.mark.parametrize(
    ("csv", "match"),
    [
        ("0,7200,3600,0.01", r"row 0: departure_t_s=3600 must be after arrival_t_s=7200"),
        ("0,0,3600,0.01\n0,3000,9000,0.01", r"row 1: arrival_t_s=3000 of ev 0 .*row 0"),
        ("2,0,3600,0.01", r"row 0: ev=2 must be in 0\.\.1"),
        ("0,0.5,3600,0.01", r"row 0: arrival_t_s=0\.5 must be an integer"),
        ("0,0,3600,abc", r"row 0: e_needed_mwh='abc' must be a finite number"),
        ("0,0,3600,0.07", r"row 0: e_needed_mwh=0\.07 must be in \[0, 0\.06\]"),
    ],
)
def test_bad_sessions_file_names_row_and_field(tmp_path: Path, csv: str, match: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text("ev,arrival_t_s,departure_t_s,e_needed_mwh\n" + csv + "\n")
    sim = EVSim()
    sim.init("EV-0")
    with pytest.raises(ConfigError, match=match) as info:
        sim.create(2, "EV", sessions=str(path))
    assert str(path) in str(info.value)


def test_bad_sessions_file_columns_and_combinations(tmp_path: Path) -> None:
    sim = EVSim()
    sim.init("EV-0")
    cases = [
        ("ev,arrival_t_s,departure_t_s\n0,0,1\n", "exactly one of the columns e_needed_mwh"),
        ("ev,arrival_t_s,e_needed_mwh\n0,0,1\n", "column 'departure_t_s' is missing"),
        ("ev,arrival_t_s,departure_t_s,soc_arrival_frac,km\n0,0,1,0.5,3\n", "'km' is unknown"),
        ("ev,arrival_t_s,departure_t_s,soc_arrival_frac\n0,0,1,1.5\n", "soc_arrival_frac=1.5"),
    ]
    for k, (text, match) in enumerate(cases):
        path = tmp_path / f"s{k}.csv"
        path.write_text(text)
        with pytest.raises(ConfigError, match=match):
            sim.create(1, "EV", sessions=str(path))
    with pytest.raises(ConfigError, match="does not exist"):
        sim.create(1, "EV", sessions=str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match=r"\['plug_in_prob'\] describe generated sessions"):
        sim.create(1, "EV", sessions=str(tmp_path / "s0.csv"), plug_in_prob=0.5)


def test_bad_sim_params_and_order() -> None:
    for init, match in [
        ({"seed": -1}, "seed=-1 must be an int >= 0"),
        ({"seed": 1.5}, "seed=1.5"),
        ({"step_s": 90.0}, "step_s=90.0"),
        ({"rng": 1}, "sim param='rng' is unknown; known: seed, start, step_s"),
    ]:
        with pytest.raises(ConfigError, match=match):
            EVSim().init("EV-0", **init)
    sim = EVSim()
    sim.init("EV-0")
    sim.create(2, "EV")
    sim.step(0, {}, 0)
    with pytest.raises(ConfigError, match="before the first step"):
        sim.create(1, "EV")


# --- mosaik: in-process and as its own process give the same values --------------------------


def test_own_process_equals_in_process() -> None:
    # a Monday; uncontrolled until 18:00, then a controller caps at 3.7 kW (None: absent)
    p_set: list[float | None] = [None] * 72 + [0.0037] * 24
    kwargs: dict[str, Any] = dict(
        init={"step_s": 900, "seed": 11, "start": "2016-01-04 00:00:00"},
        model="EV",
        create={"v2g": True, "plug_in_prob": 1.0},
        num=3,
        inputs={"p_set_mw": p_set},
        outputs=ALL_OUTPUTS,
        steps=96,
    )
    in_process = run_simulator("simulators.ev", processes=False, **kwargs)
    own_process = run_simulator("simulators.ev", processes=True, **kwargs)
    assert own_process == in_process
    last = in_process[95 * 900]
    assert all(v["connected"] is True for v in last.values())  # plug_in_prob 1: home at night
    assert all(type(v["t_departure_s"]) is int for v in last.values())
    assert all(v["p_mw"] <= 0.0037 + 1e-15 for v in last.values())
