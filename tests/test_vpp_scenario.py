"""The vpp scenario: the neighbourhood's units dispatched by the ``vpp`` controller.

Wiring: scenarios/neighbourhood.py, plus every battery, EV, PV and flexible load --> Controller
(measurements, this step) and Controller --> units (set points, from the next step); every bus
and branch --> Controller (grid-aware mode).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.analysis import kpis, results
from cosim.analysis.results import select
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import builtin_names, load_scenario

RURAL1 = "1-LV-rural1--0-sw"


def _run(tmp_path: Path, name: str, processes: bool = False) -> Path:
    schedule = tmp_path / "schedule.csv"
    schedule.write_text("t_s,p_mw\n0,\n900,0.005\n2700,\n")  # 0.005 MW for two steps
    scenario = load_scenario("vpp")
    cfg = make_config(
        scenario.config_class,
        [f"grid={RURAL1}", "steps=5", "start=2016-06-01 17:00:00", f"schedule={schedule}"],
    )
    outcome = runner.run(scenario, cfg, tmp_path / name, processes=processes, progress=False)
    assert outcome.status == "completed", outcome.error
    return tmp_path / name


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(tmp_path_factory.mktemp("vpp"), "local")


def test_reports_add_up_and_kpis_by_hand(local: Path) -> None:
    assert "vpp" in builtin_names()
    data = results.load(local)
    delivered = select(data, "p_delivered_mw", "Controller").iloc[:, 0]
    injection = (
        select(data, "p_mw", "PV").sum(axis=1)
        - select(data, "p_mw", "Battery").sum(axis=1)
        - select(data, "p_mw", "EV").sum(axis=1)
        + select(data, "p_reduced_mw", "FlexLoad").sum(axis=1)
        - select(data, "p_recovered_mw", "FlexLoad").sum(axis=1)
    )
    np.testing.assert_allclose(delivered, injection, atol=1e-12)  # the fleet, unit by unit
    found = {k.name: k.value for k in kpis.compute(local)}
    # two steps of 0.25 h at 0.005 MW: 0.0025 MWh requested, 0.5 h with a request
    assert found["vpp_requested_mwh"] == pytest.approx(0.0025)
    assert found["vpp_request_h"] == pytest.approx(0.5)
    asked = select(data, "p_requested_mw", "Controller").iloc[:, 0].notna()
    err = (delivered - 0.005)[asked]
    assert found["vpp_tracking_rmse_mw"] == pytest.approx(float(np.sqrt((err**2).mean())))
    within = (err.abs() <= 0.001).mean() * 100  # 5 % of 5 kW is below the 1 kW floor
    assert found["vpp_within_tolerance_percent"] == pytest.approx(within)
    price = select(data, "eur_per_mwh").iloc[:, 0][asked]
    assert found["vpp_revenue_eur"] == pytest.approx(float((delivered[asked] * price).sum() / 4))


def test_processes_equal_in_process(local: Path, tmp_path: Path) -> None:
    procs = results.load(_run(tmp_path, "procs", processes=True))
    pd.testing.assert_frame_equal(results.load(local), procs, check_exact=True)


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("target=ext", "target='ext' must be one of"),
        ("schedule_scale=0", "schedule_scale=0.0 must be > 0"),
        ("v_min_pu=1.1", "v_min_pu=1.1, v_max_pu=1.05"),
        ("schedule=/nonexistent.csv", "no such file"),
        ("controller=demand_response", "vpp runs its own controller"),
        ("v_margin_pu=-0.1", "v_margin_pu=-0.1 must be >= 0"),
        ("loading_margin_percent=100", "loading_margin_percent=100.0 must be below"),
    ],
)
def test_bad_config(pair: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_config(load_scenario("vpp").config_class, [pair])
