"""KPIs of a run (cosim.analysis.kpis) and the comparison of two runs (cosim.analysis.compare).

Synthetic results folders, 4 steps of 15 min (0.25 h) from 2016-07-01 00:00, numbers chosen to
be checked on paper. The grid folder (signs of pandapower; balance closes in every step)::

    ext_grid_0 (import > 0)   0.06  -0.02  0.00   0.02  MW
    sgen_0 = PV-0.pv_0        0.00   0.06  0.04   0.00
    load_0                    0.06   0.04  0.02   0.04
    storage_0 = battery_0     0.00   0.00  0.02  -0.02   (> 0 charges)

Plus one real 8-step ``neighbourhood`` run: its energy KPIs are those of cosim.analysis.balance.
"""

import json

import numpy as np
import pandas as pd
import pytest

from cosim.analysis import kpis
from cosim.analysis.balance import energy_balance
from cosim.analysis.compare import compare, render
from cosim.analysis.results import ChunkWriter
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

GRID = {
    ("Grid-0.ext_grid_0", "p_mw"): [0.06, -0.02, 0.0, 0.02],
    ("Grid-0.sgen_0", "p_mw"): [0.0, 0.06, 0.04, 0.0],
    ("PV-0.pv_0", "p_mw"): [0.0, 0.06, 0.04, 0.0],
    ("Grid-0.load_0", "p_mw"): [0.06, 0.04, 0.02, 0.04],
    ("Grid-0.storage_0", "p_mw"): [0.0, 0.0, 0.02, -0.02],
    ("Battery-0.battery_0", "p_mw"): [0.0, 0.0, 0.02, -0.02],
    ("Battery-0.battery_0", "e_mwh"): [0.01, 0.01, 0.015, 0.01],
    ("Battery-0.battery_0", "soc_frac"): [0.5, 0.5, 0.75, 0.5],
    ("Grid-0.line_0", "pl_mw"): [0.0, 0.0, 0.0, 0.0],
    ("Grid-0.bus_0", "vm_pu"): [1.0, 1.0, 1.0, 1.0],
    ("Grid-0.bus_1", "vm_pu"): [0.95, 1.12, 1.11, 1.0],
    ("Grid-0.bus_2", "vm_pu"): [0.89, 1.0, 1.0, 0.0],  # 0: de-energised, not a violation
    ("Grid-0.line_0", "loading_percent"): [50.0, 120.0, 90.0, 101.0],
    ("Grid-0.trafo_0", "loading_percent"): [30.0, 40.0, 50.0, 60.0],
    ("Grid-0.grid", "converged"): [1.0, 1.0, 0.0, 1.0],
}
UNITS = {
    ("CHP-0.chp_0", "p_mw"): [0.0, 0.02, 0.02, 0.0],
    ("CHP-0.chp_1", "p_mw"): [0.02, 0.0, 0.02, 0.02],
    ("CHP-0.chp_0", "p_th_mw"): [0.0, 0.04, 0.04, 0.0],
    ("CHP-0.chp_1", "p_th_mw"): [0.04, 0.0, 0.04, 0.04],
    ("CHP-0.chp_0", "p_boiler_th_mw"): [0.04, 0.0, 0.0, 0.04],
    ("CHP-0.chp_1", "p_boiler_th_mw"): [0.0, 0.04, 0.0, 0.0],
    ("CHP-0.chp_0", "p_heat_demand_mw"): [0.04] * 4,
    ("CHP-0.chp_1", "p_heat_demand_mw"): [0.04] * 4,
    ("CHP-0.chp_0", "p_fuel_mw"): [0.05, 0.1, 0.1, 0.05],
    ("CHP-0.chp_1", "p_fuel_mw"): [0.1, 0.0, 0.1, 0.1],
    ("EV-0.ev_0", "p_mw"): [0.011, 0.011, 0.0, 0.0],
    ("EV-0.ev_0", "e_unmet_mwh"): [0.0, 0.0, 0.002, 0.002],
    ("EV-0.ev_1", "e_unmet_mwh"): [0.0, 0.0, 0.0, 0.001],
    ("PV-0.pv_0", "p_curtailed_mw"): [0.0, 0.01, 0.02, 0.0],
    ("PV-0.pv_0", "p_available_mw"): [0.0, 0.05, 0.06, 0.0],
    ("Battery-0.battery_0", "soc_frac"): [0.5, 0.3, 0.2, 0.4],
    ("Battery-0.battery_0", "grid_forming"): [1.0, 1.0, 1.0, 1.0],  # its parameter
    ("Grid-0.load_0", "p_unserved_mw"): [0.0, 0.0, 0.01, 0.01],
}


def _folder(path, columns, status="completed", steps=4):
    writer = ChunkWriter(path)
    writer.set_keys(list(columns))
    block = np.array(list(columns.values())).T
    for k, row in enumerate(block):
        writer.add(900 * k, row)
    writer.close()
    manifest = {"start": "2016-07-01 00:00:00", "step_s": 900, "steps": steps}
    manifest |= {"steps_done": len(block), "status": status}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def _by_name(kpi_list):
    return {k.name: k for k in kpi_list}


@pytest.fixture
def grid(tmp_path):
    return _folder(tmp_path / "grid", GRID)


def test_energy(grid):
    k = _by_name(kpis.compute(grid))
    assert k["import_mwh"].value == pytest.approx(0.02)  # (0.06 + 0.02) MW x 0.25 h
    assert k["export_mwh"].value == pytest.approx(0.005)  # 0.02 x 0.25
    assert k["peak_import_mw"].value == pytest.approx(0.06)
    assert k["peak_import_mw"].at == "2016-07-01 00:00"
    assert (k["peak_export_mw"].value, k["peak_export_mw"].at) == (0.02, "2016-07-01 00:15")
    assert k["pv_generation_mwh"].value == pytest.approx(0.025)  # 0.10 x 0.25
    assert k["other_generation_mwh"].value == pytest.approx(0.0)
    assert k["consumption_mwh"].value == pytest.approx(0.04)  # 0.16 x 0.25
    assert k["grid_losses_mwh"].value == 0.0
    # generation not exported in its step: 0 + (0.06 - 0.02) + 0.04 + 0 = 0.08 of 0.10
    assert k["self_consumption_percent"].value == pytest.approx(80.0)
    # demand not imported in its step: 0 + 0.04 + 0.02 + (0.04 - 0.02) = 0.08 of 0.16
    assert k["self_sufficiency_percent"].value == pytest.approx(50.0)
    assert k["import_mwh"].unit == "MWh" and k["import_mwh"].group == "energy"
    assert "chp_generation_mwh" not in k  # no CHP recorded: skipped, not 0


def test_grid_limits(grid):
    k = _by_name(kpis.compute(grid))
    # outside 0.9..1.1: bus_2 at 00:00 (0.89), bus_1 at 00:15 (1.12) and 00:30 (1.11)
    assert k["voltage_violation_h"].value == pytest.approx(0.75)  # 3 steps x 0.25 h
    assert k["voltage_violation_bus_steps"].value == 3
    assert k["voltage_violation_buses"].value == 2
    assert (k["v_min_pu"].value, k["v_min_pu"].at) == (0.89, "Grid-0.bus_2, 2016-07-01 00:00")
    assert (k["v_max_pu"].value, k["v_max_pu"].at) == (1.12, "Grid-0.bus_1, 2016-07-01 00:15")
    assert k["overload_h"].value == pytest.approx(0.5)  # line_0 at 120 % and 101 %: 2 steps
    assert k["overloaded_branches"].value == 1
    assert k["max_loading_percent"].at == "Grid-0.line_0, 2016-07-01 00:15"
    assert k["nonconverged_steps"].value == 1
    strict = _by_name(kpis.compute(grid, kpis.Settings(v_min_pu=0.96, loading_max_percent=55)))
    assert strict["voltage_violation_bus_steps"].value == 4  # + bus_1 at 00:00 (0.95)
    assert strict["overload_h"].value == pytest.approx(0.75)  # line_0 120, 90, 101; trafo 60
    assert "0.96..1.1 p.u." in strict["voltage_violation_h"].definition


def test_battery_cycles(grid):
    k = _by_name(kpis.compute(grid))
    assert k["battery_throughput_mwh"].value == pytest.approx(0.01)  # (0.02 + 0.02) x 0.25
    assert k["battery_capacity_mwh"].value == pytest.approx(0.02)  # 0.01 MWh / 0.5
    assert k["battery_cycles"].value == pytest.approx(0.25)  # 0.01 / 2 / 0.02
    assert k["battery_cycles_max"].at == "Battery-0.battery_0"


def test_net_metering_and_net_billing_differ(grid, tmp_path):
    k = _by_name(kpis.compute(grid))
    # metering: (0.02 - 0.005) MWh net import x 300 EUR/MWh = 4.5 EUR
    assert k["cost_net_metering_eur"].value == pytest.approx(4.5)
    # billing: 0.02 x 300 - 0.005 x 80 = 6.0 - 0.4 = 5.6 EUR
    assert k["cost_net_billing_eur"].value == pytest.approx(5.6)
    assert k["grid_co2_kg"].value == pytest.approx(7.6)  # 0.02 MWh x 380 kg/MWh
    assert k["co2_kg"].value == pytest.approx(7.6)  # no CHP fuel
    assert "demand_charge_eur" not in k  # no demand charge by default
    prices = tmp_path / "kpi_prices.csv"
    pd.DataFrame({"t_s": [0, 900, 1800, 2700], "eur": [100, 200, 300, 400]}).to_csv(prices)
    prices.write_text(pd.read_csv(prices, index_col=0).to_csv(index=False))
    settings = kpis.Settings(import_eur_per_mwh=str(prices), demand_charge_eur_per_mw=1000)
    k = _by_name(kpis.compute(grid, settings))
    # import per step 0.015, 0, 0, 0.005 MWh: 0.015 x 100 + 0.005 x 400 - 0.005 x 80 = 3.1 EUR
    assert k["cost_net_billing_eur"].value == pytest.approx(3.1)
    assert k["cost_net_metering_eur"].value == pytest.approx(3.75)  # 0.015 x mean 250
    assert k["demand_charge_eur"].value == pytest.approx(60.0)  # 0.06 MW x 1000 EUR/MW
    short = tmp_path / "kpi_short.csv"
    short.write_text("t_s,eur\n0,1\n900,2\n")
    with pytest.raises(ConfigError, match=r"covers 1800 s, the run needs 2701 s"):
        kpis.compute(grid, kpis.Settings(grid_co2_kg_per_mwh=str(short)))


def test_units_and_resilience(tmp_path):
    k = _by_name(kpis.compute(_folder(tmp_path, UNITS)))
    assert k["chp_running_h"].value == pytest.approx(1.25)  # (2 + 3) steps x 0.25 h
    assert k["chp_starts"].value == 3  # chp_0 at 00:15; chp_1 at 00:00 (starts off) and 00:30
    assert k["chp_heat_coverage_percent"].value == pytest.approx(62.5)  # 0.20 / 0.32
    assert k["boiler_heat_share_percent"].value == pytest.approx(37.5)  # 0.12 / 0.32
    assert k["chp_fuel_co2_kg"].value == pytest.approx(30.24)  # 0.6 x 0.25 MWh x 201.6 kg/MWh
    assert k["ev_charged_mwh"].value == pytest.approx(0.0055)  # 0.022 x 0.25
    assert k["ev_unmet_mwh"].value == pytest.approx(0.003)  # last values 0.002 + 0.001
    assert k["pv_curtailed_mwh"].value == pytest.approx(0.0075)  # 0.03 x 0.25
    assert k["pv_curtailment_percent"].value == pytest.approx(100 * 0.03 / 0.11)
    assert k["energy_not_served_mwh"].value == pytest.approx(0.005)  # 0.02 x 0.25
    soc = k["grid_forming_soc_min_frac"]
    assert (soc.value, soc.at) == (0.2, "Battery-0.battery_0, 2016-07-01 00:30")
    assert "import_mwh" not in k and "cost_net_billing_eur" not in k  # no ext_grid recorded


def test_chp_starts_recorded_are_used(tmp_path):
    units = {**UNITS, ("CHP-0.chp_0", "starts"): [0, 1, 1, 1], ("CHP-0.chp_1", "starts"): [5] * 4}
    assert _by_name(kpis.compute(_folder(tmp_path, units)))["chp_starts"].value == 6  # 1 + 5


def test_partial_run(tmp_path):
    k = _by_name(kpis.compute(_folder(tmp_path, GRID, status="failed", steps=8)))
    assert k["partial"].value == 1 and k["steps_done"].value == 4
    assert "of 8 requested" in k["steps_done"].definition
    assert k["duration_h"].value == pytest.approx(1.0)
    assert k["import_mwh"].value == pytest.approx(0.02)  # the 4 steps it has
    assert kpis.headline(list(k.values()))[0].name == "partial"


def test_headline_frame_write_and_compare(grid, tmp_path):
    result = kpis.compute(grid)
    top = [k.name for k in kpis.headline(result)]
    assert top[:2] == ["import_mwh", "export_mwh"] and "partial" not in top
    frame = kpis.to_frame(result)
    assert list(frame.columns) == ["group", "name", "value", "unit", "at", "definition"]
    kpis.write(result, grid)
    assert kpis.read(grid) == result
    assert pd.read_csv(grid / "kpis.csv")["name"].tolist() == frame["name"].tolist()
    other = _folder(tmp_path / "other", {**GRID, ("Grid-0.load_0", "p_mw"): [0.08] * 4})
    table = compare(grid, other).set_index("name")
    # (0.32 - 0.16) MW summed over steps x 0.25 h = 0.04 MWh, from 0.04 MWh: +100 %
    assert table.loc["consumption_mwh", "diff"] == pytest.approx(0.04)
    assert table.loc["consumption_mwh", "rel_change"] == pytest.approx(1.0)
    assert "consumption_mwh" in render(compare(grid, other))


def test_bad_settings_name_the_field():
    with pytest.raises(ConfigError, match=r"v_min_pu=1\.2"):
        kpis.Settings(v_min_pu=1.2)
    with pytest.raises(ConfigError, match=r"import_eur_per_mwh='prices\.txt'"):
        kpis.Settings(import_eur_per_mwh="prices.txt")


def test_neighbourhood_kpis_equal_the_energy_balance(tmp_path):
    scenario = load_scenario("neighbourhood")
    out = tmp_path / "run"
    outcome = runner.run(scenario, make_config(scenario.config_class, steps=8), out, progress=False)
    assert outcome.status == "completed", outcome.error
    k = _by_name(kpis.compute(out))
    b = energy_balance(out)
    for name, value in (
        ("import_mwh", b.import_mwh),
        ("export_mwh", b.export_mwh),
        ("pv_generation_mwh", b.pv_mwh),
        ("chp_generation_mwh", b.chp_mwh),
        ("other_generation_mwh", b.other_generation_mwh),
        ("consumption_mwh", b.consumption_mwh),
        ("grid_losses_mwh", b.grid_losses_mwh),
    ):
        assert k[name].value == pytest.approx(value, abs=1e-12), name
    assert {"battery_cycles", "chp_starts", "ev_unmet_mwh", "cost_net_billing_eur"} <= set(k)
    same = compare(out, out)
    assert (same["diff"].abs() == 0).all() and len(same) == len(k)


def test_every_kpi_is_documented():
    from pathlib import Path

    from cosim.analysis.kpi_catalogue import CATALOGUE

    docs = (Path(__file__).parents[1] / "docs" / "kpis.md").read_text()
    for name, (_, unit, _) in CATALOGUE.items():
        assert f"| `{name}` | {unit} |" in docs, name
