"""The neighbourhood scenario: every unit type on a SimBench LV grid, energy balances closed.

Wiring: see scenarios/neighbourhood.py (Profiles -> FlexLoad -> Grid loads; PV, CHP -> new
sgens; Battery, EV -> new storages; FlexLoad, PV, EV -> Battery; Grid bus vm_pu -> PV, one step
late).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.analysis import results
from cosim.analysis.balance import energy_balance
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from cosim.run.summary import render
from scenarios.neighbourhood import household_sizes, layout, load_kind, load_profiles

RURAL1 = "1-LV-rural1--0-sw"

STEPS = 96


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    scenario = load_scenario("neighbourhood")
    cfg = make_config(scenario.config_class, steps=STEPS)
    out = tmp_path_factory.mktemp("neighbourhood") / "run"
    outcome = runner.run(scenario, cfg, out, progress=False)
    assert outcome.status == "completed", outcome.error
    return outcome, cfg, results.load(out)


def _units(data, kind, attr):
    return data[[c for c in data.columns if c[0].startswith(f"{kind}-") and c[1] == attr]]


def test_every_unit_type_is_there_at_the_drawn_houses(day):
    _, cfg, data = day
    where = layout(load_profiles(RURAL1)[0], cfg)
    assert _units(data, "PV", "p_mw").shape[1] == len(where.pv) > 0
    assert _units(data, "Battery", "p_mw").shape[1] == len(where.battery) > 0
    assert _units(data, "EV", "p_mw").shape[1] == len(where.ev) > 0
    assert _units(data, "CHP", "p_mw").shape[1] == cfg.chp_count
    assert _units(data, "FlexLoad", "p_mw").shape[1] == 13
    assert set(where.battery) <= set(where.pv)


def test_household_units_only_on_household_loads(day):
    # 1-LV-rural1--0-sw: 13 loads, SimBench profiles H0-A, H0-B, H0-C (households), 5 x L1-A
    # and 5 x L2-A (agricultural)
    outcome, cfg, _ = day
    profiles, _ = load_profiles(RURAL1)
    kinds = [load_kind(p) for p in profiles]
    assert kinds.count("household") == 3 and kinds.count("agricultural") == 10
    where = layout(profiles, cfg)
    for units in (where.pv, where.battery, where.ev):
        assert all(kinds[h] == "household" for h in units)
    assert len(where.pv) == round(0.6 * 3) and len(where.ev) == round(0.4 * 3)  # shares x 3
    assert [kinds[h] for h in where.chp] == ["agricultural"]
    assert "3 household, 10 agricultural; PV 2, batteries 1, EVs 1" in render(outcome)
    assert load_kind("G1-B") == "commercial" and load_kind(float("nan")) == "other"


def test_grid_energy_balance_closes(day):
    outcome, _, data = day
    b = energy_balance(outcome.out_dir)
    assert abs(b.residual_mwh) < 1e-9

    def grid(prefix, attr="p_mw"):
        return data[
            [c for c in data.columns if c[0].startswith(f"Grid-0.{prefix}") and c[1] == attr]
        ].sum(axis=1)

    # import - export + generation = consumption + storage charging + losses, every step
    residual_mw = (
        grid("ext_grid_")
        + grid("sgen_")
        - grid("load_")
        - grid("storage_")
        - grid("line_", "pl_mw")
        - grid("trafo_", "pl_mw")
    )
    assert residual_mw.abs().max() < 1e-9
    assert b.import_mwh > 0 and b.pv_mwh > 0 and b.chp_mwh > 0 and b.grid_losses_mwh > 0
    assert b.other_generation_mwh == pytest.approx(0.0, abs=1e-9)  # rural1's own sgens: none lit
    assert b.storage_charging_mwh == pytest.approx(b.battery_mwh + b.ev_mwh, abs=1e-12)
    # unit losses: batteries' and EVs' conversion losses, both recorded
    ev_loss_mwh = _units(data, "EV", "p_loss_mw").to_numpy().sum() * 0.25
    battery_loss_mwh = _units(data, "Battery", "p_loss_mw").to_numpy().sum() * 0.25
    assert ev_loss_mwh > 0 and battery_loss_mwh > 0
    assert b.unit_losses_mwh == pytest.approx(ev_loss_mwh + battery_loss_mwh, rel=1e-12)


def test_unit_side_equals_grid_side(day):
    """What each unit says it delivered is what the grid element took, every step."""
    _, _, data = day
    grid_sgen = data[
        [c for c in data.columns if c[0].startswith("Grid-0.sgen_") and c[1] == "p_mw"]
    ].sum(axis=1)
    units = _units(data, "PV", "p_mw").sum(axis=1) + _units(data, "CHP", "p_mw").sum(axis=1)
    np.testing.assert_allclose(grid_sgen, units, atol=1e-12)


def test_battery_energy_balance_and_bounds(day):
    _, cfg, data = day
    step_h = cfg.step_s / 3600
    p = _units(data, "Battery", "p_mw").to_numpy()
    loss = _units(data, "Battery", "p_loss_mw").to_numpy()
    e = _units(data, "Battery", "e_mwh").to_numpy()
    soc = _units(data, "Battery", "soc_frac").to_numpy()
    # e after step k = e after step k-1 + (p - losses) * dt, for every battery
    np.testing.assert_allclose(np.diff(e, axis=0), (p[1:] - loss[1:]) * step_h, atol=1e-12)
    assert (soc >= -1e-12).all() and (soc <= 1 + 1e-12).all()
    profiles, demand_mwh = load_profiles(RURAL1)
    size = household_sizes(demand_mwh, layout(profiles, cfg), cfg)
    assert (np.abs(p) <= size.battery_p_mw + 1e-12).all()
    # the battery holds its sized capacity: e / soc where soc > 0
    held = soc > 0.01
    np.testing.assert_allclose(
        (e / np.where(held, soc, 1))[held],
        np.broadcast_to(size.battery_mwh, e.shape)[held],
        rtol=1e-9,
    )


def test_household_sizes_follow_the_rule_of_thumb():
    # 1 kWp and 1 kWh per MWh of annual demand, battery power 0.5 kWh/h of its capacity
    # (scenarios/neighbourhood.py, household_sizes): a 4.0 MWh household -> 4.0 kWp, 4.0 kWh,
    # 2.0 kW; a 2.5 MWh one -> 2.5 kWp (no battery drawn for it here)
    cls = load_scenario("neighbourhood").config_class
    cfg = make_config(cls)
    where = layout(["H0-A", "L1-A", "H0-B"], make_config(cls, ["pv_share_frac=1"]))
    assert where.pv.tolist() == [0, 2]
    where = type(where)(where.kinds, where.pv, np.array([0]), where.ev, where.chp)
    size = household_sizes(np.array([4.0, 30.0, 2.5]), where, cfg)
    np.testing.assert_allclose(size.pv_mw, [0.004, 0.0025], rtol=1e-12)
    np.testing.assert_allclose([size.battery_mwh[0], size.battery_p_mw[0]], [0.004, 0.002])
    assert size.describe() == "PV 4.0, 2.5 kWp; batteries 4.0 kWh / 2.0 kW"
    # fixed sizes where given; the other sizes still per demand
    fixed = make_config(cls, ["pv_p_peak_mw=0.008", "battery_p_mw=0.005"])
    size = household_sizes(np.array([4.0, 30.0, 2.5]), where, fixed)
    np.testing.assert_allclose(size.pv_mw, [0.008, 0.008])
    np.testing.assert_allclose([size.battery_mwh[0], size.battery_p_mw[0]], [0.004, 0.005])
    with pytest.raises(ConfigError, match="no annual demand to size them from"):
        household_sizes(np.array([0.0, 30.0, 2.5]), where, cfg)
    both = make_config(cls, ["pv_p_peak_mw=0.008", "battery_e_mwh=0.01"])
    assert household_sizes(np.array([0.0, 30.0, 2.5]), where, both).pv_mw[0] == 0.008


def test_annual_demand_is_the_profile_year_times_p_mw(day):
    # the memory-mapped column read against net.profiles (the pandas frames simbench builds);
    # rural1 households: H0-A 2 kW, H0-B 2 kW, H0-C 3 kW; times 8760 h
    from simulators.simbench_nets import simbench_net

    outcome, _, _ = day
    net = simbench_net(RURAL1)
    profiles, demand_mwh = load_profiles(RURAL1)
    for k, kind in enumerate(profiles):
        mean = net.profiles["load"][f"{kind}_pload"].mean()
        assert demand_mwh[k] == pytest.approx(mean * net.load.p_mw[k] * 8760, rel=1e-6)
    assert 1.5 < min(demand_mwh[i] for i, p in enumerate(profiles) if p.startswith("H")) < 1.6
    # economics gets what was built: the sum of the drawn households' sizes
    where = layout(profiles, make_config(load_scenario("neighbourhood").config_class))
    installed = results.read_manifest(outcome.out_dir)["installed"]
    assert installed["pv_mw"] == pytest.approx(demand_mwh[where.pv].sum() / 1000, rel=1e-12)
    assert installed["battery_mwh"] == pytest.approx(
        demand_mwh[where.battery].sum() / 1000, rel=1e-12
    )
    assert "household sizes" in render(outcome)


def test_ev_never_charges_when_absent_and_chp_heat_is_covered(day):
    _, _, data = day
    p_ev = _units(data, "EV", "p_mw").to_numpy()
    connected = _units(data, "EV", "connected").to_numpy()
    assert (p_ev[connected == 0] == 0).all()
    heat = (
        _units(data, "CHP", "p_th_mw").to_numpy() + _units(data, "CHP", "p_boiler_th_mw").to_numpy()
    )
    tank = _units(data, "CHP", "e_tank_mwh").to_numpy()
    assert (heat >= 0).all() and (tank >= -1e-12).all()


def test_summary_states_the_energy_balance(day):
    text = render(day[0])
    for label in (
        "energy imported / exported",
        "PV / CHP / other produced",
        "into batteries / EVs (net)",
        "losses grid / batteries+EVs",
        "balance residual",
    ):
        assert label in text


def test_same_seed_same_results_other_seed_other_layout(tmp_path):
    scenario = load_scenario("neighbourhood")
    runs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cfg = make_config(scenario.config_class, steps=4, seed=seed)
        runs.append(runner.run(scenario, cfg, tmp_path / name, progress=False))
    sums = [results.read_manifest(r.out_dir)["checksums"] for r in runs]
    assert sums[0] == sums[1]
    profiles, _ = load_profiles(RURAL1)
    layouts = [layout(profiles, make_config(scenario.config_class, seed=s)) for s in (7, 8, 9)]
    assert any(not np.array_equal(layouts[0].ev, other.ev) for other in layouts[1:])


def test_processes_equal_in_process(tmp_path):
    scenario = load_scenario("neighbourhood")
    cfg = make_config(scenario.config_class, steps=6)
    local = runner.run(scenario, cfg, tmp_path / "local", progress=False)
    procs = runner.run(scenario, cfg, tmp_path / "procs", processes=True, progress=False)
    assert procs.status == "completed", procs.error
    pd.testing.assert_frame_equal(
        results.load(local.out_dir), results.load(procs.out_dir), check_exact=True
    )


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("pv_share_frac=1.5", "pv_share_frac=1.5 must be in"),
        ("battery_e_mwh=-1", "battery_e_mwh=-1.0 must be > 0 or none"),
        ("pv_kwp_per_mwh=0", "pv_kwp_per_mwh=0.0 must be > 0"),
        ("chp_count=-1", "chp_count=-1 must be >= 0"),
    ],
)
def test_bad_config(pair, match):
    with pytest.raises(ConfigError, match=match):
        make_config(load_scenario("neighbourhood").config_class, [pair])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_year_closes_its_energy_balance(tmp_path):
    """A whole year at 15 min (35,040 steps): ``pytest -m slow``."""
    scenario = load_scenario("neighbourhood")
    cfg = make_config(scenario.config_class, steps=35_040)
    outcome = runner.run(scenario, cfg, tmp_path / "year", progress=False)
    assert outcome.status == "completed", outcome.error
    b = energy_balance(outcome.out_dir)
    assert abs(b.residual_mwh) < 1e-6
    assert b.pv_mwh > 0 and b.chp_mwh > 0 and b.ev_mwh > 0
    # the unit figures against published ranges (bench/physics.py, docs/plausibility.md)
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    from physics import REFERENCES, figures

    found = figures(outcome.out_dir)
    assert 900 <= found["pv_yield_kwh_per_kwp"] <= 1100  # German rooftop PV, te Heesen 2019
    for name in REFERENCES:  # PV yield, battery full cycles, CHP full-load hours, EV energy
        assert REFERENCES[name].low <= found[name] <= REFERENCES[name].high, (name, found)


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("flex_mode=drop", r"flex_mode='drop' must be one of \('shift', 'curtail'\)"),
        ("import_limit_mw=-0.01", "import_limit_mw=-0.01 must be > 0 or none"),
        ("controller_options=[1]", "controller_options='\\[1\\]' must be a JSON object"),
        ("controller_options={x", "controller_options='{x': Expecting property name"),
    ],
)
def test_bad_controller_config(pair, match):
    with pytest.raises(ConfigError, match=match):
        make_config(load_scenario("neighbourhood").config_class, [pair])


def test_controller_fields_default_to_no_controller():
    cfg = make_config(load_scenario("neighbourhood").config_class)
    assert (cfg.controller, cfg.import_limit_mw, cfg.price_file) == ("", 0.05, "builtin")
    none = make_config(type(cfg), ["import_limit_mw=none", "price_file="])
    assert none.import_limit_mw is None and none.price_file == ""
