"""``cosim.analysis.economics``: HOMER Pro's NPC, salvage, LCOE and payback against a hand
calculation."""

import dataclasses
import json
import math

import pytest

from cosim.analysis.economics import (
    Costs,
    Flows,
    crf,
    evaluate,
    read_costs,
    real_discount_rate,
    replacement_years,
    salvage_frac,
    to_year,
)
from cosim.core.errors import ConfigError

# A PV + battery system with one battery replacement, 20-year project.
COSTS = dataclasses.replace(
    Costs(),
    pv_capital_eur_per_kw=1000.0,
    pv_replacement_eur_per_kw=1000.0,
    pv_om_eur_per_kw_year=20.0,
    pv_life_years=25.0,
    battery_capital_eur_per_kwh=500.0,
    battery_replacement_eur_per_kwh=400.0,
    battery_om_eur_per_kwh_year=10.0,
    battery_life_years=15.0,
    battery_life_cycles=3000.0,
    discount_nominal_frac=0.06,
    inflation_frac=0.02,
    project_years=20.0,
)
CAPACITY = {"pv_mw": 0.010, "battery_mwh": 0.010}  # 10 kWp, 10 kWh
# 876 h simulated = a tenth of a year: every flow below is a tenth of the year's
PERIOD = Flows(
    duration_h=876.0,
    served_mwh=0.6,  # 0.5 MWh to the house + 0.1 MWh export -> 6 MWh a year
    energy_cost_eur=40.0,  # -> 400 EUR a year
    peak_import_mw=0.004,  # a peak: not scaled
    battery_throughput_mwh=0.5,  # -> 5 MWh a year
    fuel_mwh=0.0,
    co2_kg=100.0,  # -> 1000 kg a year
    reference_cost_eur=150.0,  # 0.5 MWh at 300 EUR/MWh -> 1500 EUR a year
    reference_peak_mw=0.005,
    heat_mwh=0.0,
)


def test_npc_lcoe_payback_match_the_hand_calculation_to_the_cent():
    year = to_year([(PERIOD, 8760.0)])
    assert year.battery_throughput_mwh == pytest.approx(5.0)
    assert year.peak_import_mw == 0.004
    kpi = evaluate(year, CAPACITY, COSTS, demand_charge_eur_per_mw=0.0)
    # Real discount rate (HOMER "Real Discount Rate"): i = (0.06 - 0.02) / 1.02 = 0.0392156863
    # Discount factors v(y) = 1.0392156863^-y: v(12) = 0.6302773175, v(20) = 0.4633254220
    # Annuity 1/CRF(i, 20) = (1 - v(20)) / i = 13.6852017398; CRF = 0.0730716301
    # Capital: PV 10 kW x 1000 = 10000 EUR; battery 10 kWh x 500 = 5000 EUR; total 15000 EUR
    assert kpi["capital_eur"] == pytest.approx(15000.0, abs=0.005)
    # Battery cycles a year: 5 MWh / 2 / 0.010 MWh = 250; cycle life 3000 / 250 = 12 a < 15 a
    assert kpi["battery_life_years"] == pytest.approx(12.0)
    # Replacements: battery at year 12 (next would be 24 > 20): 10 kWh x 400 = 4000 EUR,
    # 4000 x v(12) = 2521.11 EUR; PV (life 25 a) none
    assert kpi["replacement_eur"] == pytest.approx(2521.11, abs=0.005)
    # Salvage (HOMER "Salvage Value"), S = C_rep x R_rem / R_comp at year 20:
    #   PV: R_rep = 25 x INT(20/25) = 0, R_rem = 25 - (20 - 0) = 5: 10000 x 5/25 = 2000 EUR
    #   battery: R_rep = 12 x INT(20/12) = 12, R_rem = 12 - (20 - 12) = 4: 4000 x 4/12 = 1333.33
    #   (2000 + 1333.33) x v(20) = 1544.42 EUR
    assert kpi["salvage_eur"] == pytest.approx(1544.42, abs=0.005)
    # O&M 10 x 20 + 10 x 10 = 300 EUR/a; grid 400 EUR/a (no demand charge); no fuel
    assert kpi["om_eur_per_year"] == pytest.approx(300.0)
    assert kpi["grid_eur_per_year"] == pytest.approx(400.0)
    # NPC = 15000 + 2521.11 - 1544.42 + (300 + 400) x 13.6852017398 = 25556.33 EUR
    assert kpi["npc_eur"] == pytest.approx(25556.33, abs=0.005)
    # annualized = 25556.33 x 0.0730716301 = 1867.44 EUR/a; LCOE = 1867.44 / 6 MWh = 311.24
    assert kpi["annualized_cost_eur"] == pytest.approx(1867.44, abs=0.005)
    assert kpi["lcoe_eur_per_mwh"] == pytest.approx(311.24, abs=0.005)
    # payback: saving 1500 - (300 + 400) = 800 EUR/a; 15000 / 800 = 18.75 a
    assert kpi["payback_years"] == pytest.approx(18.75)
    # CO2 over the project: 1000 kg/a x 20 a
    assert kpi["co2_project_kg"] == pytest.approx(20000.0)


def test_homer_factors():
    assert real_discount_rate(0.08, 0.02) == pytest.approx(0.06 / 1.02)
    # CRF(0.1, 10) = 0.1 x 1.1^10 / (1.1^10 - 1) = 0.16274539 (any annuity table)
    assert crf(0.1, 10) == pytest.approx(0.16274539, abs=1e-8)
    assert crf(0.0, 20) == pytest.approx(0.05)
    assert replacement_years(10.0, 25.0) == [10.0, 20.0]
    assert salvage_frac(10.0, 25.0) == pytest.approx(0.5)  # 10 - (25 - 20) = 5 of 10
    assert replacement_years(10.0, 20.0) == [10.0, 20.0]  # the one at the end: salvaged whole
    assert salvage_frac(10.0, 20.0) == pytest.approx(1.0)
    assert replacement_years(30.0, 20.0) == [] and salvage_frac(30.0, 20.0) == pytest.approx(1 / 3)


def test_no_saving_never_pays_back_and_grid_only_costs_the_grid():
    year = to_year([(dataclasses.replace(PERIOD, reference_cost_eur=0.0), 8760.0)])
    assert evaluate(year, CAPACITY, COSTS, 0.0)["payback_years"] == math.inf
    grid_only = evaluate(year, {}, COSTS, demand_charge_eur_per_mw=1e5)
    # (400 + 0.004 MW x 1e5 EUR/MW) EUR/a x 13.6852017398
    assert grid_only["npc_eur"] == pytest.approx(800 * 13.6852017398, abs=1e-4)


def test_representative_periods_are_weighted_by_the_hours_they_stand_for():
    summer = dataclasses.replace(PERIOD, duration_h=168.0, energy_cost_eur=10.0, peak_import_mw=1)
    winter = dataclasses.replace(PERIOD, duration_h=168.0, energy_cost_eur=30.0)
    year = to_year([(summer, 4380.0), (winter, 4380.0)])
    assert year.energy_cost_eur == pytest.approx((10 + 30) * 4380 / 168)
    assert year.peak_import_mw == 1 and year.duration_h == 8760
    with pytest.raises(ConfigError, match="must cover 8760 h"):
        to_year([(summer, 4380.0)])


def test_costs_from_csv_and_json_files(tmp_path):
    csv = tmp_path / "costs.csv"
    csv.write_text("key,value,unit,source\npv_capital_eur_per_kw,1100,EUR/kWp,offer\n")
    assert read_costs(csv).pv_capital_eur_per_kw == 1100.0
    assert read_costs(csv).battery_life_cycles == Costs().battery_life_cycles
    js = tmp_path / "costs.json"
    js.write_text(json.dumps({"project_years": 20}))
    assert read_costs(js).project_years == 20.0
    js.write_text(json.dumps({"pv_capex": 1}))
    with pytest.raises(ConfigError, match=r"key='pv_capex' is unknown; known: .*pv_capital"):
        read_costs(js)
    js.write_text(json.dumps({"project_years": 0}))
    with pytest.raises(ConfigError, match=r"project_years=0\.0 must be > 0"):
        read_costs(js)
    with pytest.raises(ConfigError, match=r"must be a \.csv/\.json file"):
        read_costs(tmp_path / "costs.txt")


def test_a_run_reports_its_economics_scaled_to_a_year_with_the_costs_given(tmp_path):
    """``tests/data/sizing_tiny.py`` (24 h, 20 kWp PV, 10 kWh battery) through cosim report."""
    from pathlib import Path

    from cosim.analysis import kpis
    from cosim.analysis.results import read_manifest
    from cosim.run import runner
    from cosim.run.config import make_config
    from cosim.run.scenario import load_scenario

    scenario = load_scenario(str(Path(__file__).parent / "data" / "sizing_tiny.py"))
    cfg = make_config(scenario.config_class, pv_kw=20.0, battery_kwh=10.0)
    runner.run(scenario, cfg, tmp_path / "run", progress=False)
    assert read_manifest(tmp_path / "run")["installed"] == {"pv_mw": 0.02, "battery_mwh": 0.01}
    found = {k.name: k for k in kpis.compute(tmp_path / "run")}
    assert found["year_scale"].value == 8760 / 24
    assert "scales the 24 h simulated" in found["year_scale"].definition
    # defaults: 20 kWp x 1500 + 10 kWh x 750 (Costs docstring)
    assert found["capital_eur"].value == pytest.approx(37500.0)
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"pv_capital_eur_per_kw": 1000, "project_years": 20}))
    cheaper = {k.name: k for k in kpis.compute(tmp_path / "run", kpis.Settings(costs=str(costs)))}
    assert cheaper["capital_eur"].value == pytest.approx(27500.0)
    assert "over 20 years" in cheaper["npc_eur"].definition
    # the same as pricing the run's flows by hand with the functions of the module
    _, flows, capacity = kpis.design_inputs(tmp_path / "run")
    year = to_year([(flows, 8760.0)])
    assert found["npc_eur"].value == pytest.approx(
        evaluate(year, capacity, Costs(), 0.0)["npc_eur"]
    )
    assert year.energy_cost_eur == pytest.approx(found["cost_net_billing_eur"].value * 365)
