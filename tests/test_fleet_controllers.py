"""The controller contract's vector form: a controller that names a fleet sees and sets arrays.

A fleet of two batteries in set-point mode, one at 20 % and one at 80 % SoC. The controller
observes the fleet's ``soc_frac`` as one array and charges every battery below half with
1 kW, leaving the others without a set point (NaN: the unit's own default, idle). Set points
are time-shifted: decided at t, applied from t + step_s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosim.analysis import results
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

SCENARIO = """
from dataclasses import dataclass

import numpy as np

from controllers.base import Controller
from cosim.run.config import RunConfig


@dataclass(frozen=True)
class Config(RunConfig):
    pass


@dataclass
class ChargeLow(Controller):
    fleet: str

    def observes(self):
        return [(self.fleet, "soc_frac")]

    def sets(self):
        return {(self.fleet, "p_set_mw"): None}

    def decide(self, t_s, seen):
        soc = seen[self.fleet]["soc_frac"]
        assert isinstance(soc, np.ndarray) and soc.shape == (2,)
        return {self.fleet: {"p_set_mw": np.where(soc < 0.5, 0.001, np.nan)}}


def build(b, cfg):
    fleet = b.fleet(
        b.start("Battery"),
        e_max_mwh=0.01,
        p_charge_max_mw=0.005,
        p_discharge_max_mw=0.005,
        soc_init_frac=[0.2, 0.8],
        self_discharge_per_day_frac=0.0,
    )
    b.control(ChargeLow, {"fleet": fleet.full_id})
    b.record(fleet, "p_mw", "soc_frac", "e_mwh")
"""


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "processes"])
def test_vector_controller_sets_a_fleet(tmp_path: Path, processes: bool) -> None:
    script = tmp_path / "vector.py"
    script.write_text(SCENARIO)
    scenario = load_scenario(str(script))
    cfg = make_config(scenario.config_class, steps=4, step_s=900)
    out = tmp_path / "run"
    outcome = runner.run(scenario, cfg, out, processes=processes, progress=False)
    assert outcome.status == "completed", outcome.error
    data = results.load(out)
    p_mw = data[[("Battery-0.battery_0", "p_mw"), ("Battery-0.battery_1", "p_mw")]].to_numpy()
    # step 0: the declared None (no set point) for both; then 1 kW for the low one only
    assert p_mw[0].tolist() == [0.0, 0.0]
    assert np.allclose(p_mw[1:, 0], 0.001) and (p_mw[1:, 1] == 0.0).all()
    # 1 kW for 15 min at eta_charge 0.95: +0.2375 kWh a step (0.001 MW * 0.25 h * 0.95)
    e_mwh = data[("Battery-0.battery_0", "e_mwh")].to_numpy()
    assert np.allclose(np.diff(e_mwh), 0.001 * 0.25 * 0.95, rtol=0, atol=1e-15)
    assert data[("Battery-0.battery_1", "soc_frac")].eq(0.8).all()
