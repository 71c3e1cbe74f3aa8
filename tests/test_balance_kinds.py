"""Grid elements a scenario declares (``Builder.declare``) count as their kind in the energy
balance: ``microgrid_outage``'s SimBench rooftop PV is PV, not "other".

Wiring of the run (scenarios/microgrid_outage.py)::

    Profiles-0.sgen_<i> --p_mw, q_mvar--> Grid-0.sgen_<i>   (declared "pv")
    CHP-0.chp_0         --p_mw, q_mvar--> Grid-0.sgen_<new> (a unit: CHP by its simulator)
"""

import pandas as pd
import pytest

from cosim.analysis.balance import balance_of, energy_balance
from cosim.analysis.results import read_manifest
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from cosim.run.summary import render
from simulators.simbench_nets import simbench_net


def test_declared_sgens_are_pv_in_the_balance():
    # two steps of 15 min; sgen_0 declared PV, sgen_1 not declared: "other"
    columns = pd.MultiIndex.from_tuples(
        [("Grid-0.ext_grid_0", "p_mw"), ("Grid-0.sgen_0", "p_mw"), ("Grid-0.sgen_1", "p_mw"),
         ("Grid-0.load_0", "p_mw"), ("Grid-0.line_0", "pl_mw")],
        names=["entity", "attr"],
    )  # fmt: skip
    data = pd.DataFrame([[0.010, 0.004, 0.002, 0.016, 0.0]] * 2, index=[0, 900], columns=columns)
    b = balance_of(data, 900, {"Grid-0.sgen_0": "pv"})
    # 0.004 MW x 0.5 h = 0.002 MWh PV; 0.002 MW x 0.5 h = 0.001 MWh other
    assert b.pv_mwh == pytest.approx(0.002) and b.other_generation_mwh == pytest.approx(0.001)
    assert balance_of(data, 900).other_generation_mwh == pytest.approx(0.003)


def test_microgrid_outage_rooftop_pv_is_pv(tmp_path):
    scenario = load_scenario("microgrid_outage")
    # 12:00-12:30 on the default day: the rooftop PV produces
    cfg = make_config(scenario.config_class, steps=2, start="2016-01-15 12:00:00")
    outcome = runner.run(scenario, cfg, tmp_path / "run", progress=False)
    assert outcome.status == "completed", outcome.error
    kinds = read_manifest(outcome.out_dir)["kinds"]
    n_pv = int((simbench_net("1-LV-rural1--0-sw").sgen["type"] == "PV").sum())
    assert list(kinds.values()) == ["pv"] * n_pv and n_pv > 0
    b = energy_balance(outcome.out_dir)
    assert b.pv_mwh > 0 and b.other_generation_mwh == pytest.approx(0.0, abs=1e-12)
    assert "PV / CHP / other produced" in render(outcome)
