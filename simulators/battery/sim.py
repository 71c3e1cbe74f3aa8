"""mosaik adapter of stationary batteries: entities, inputs and outputs; no physics.

Each ``Battery`` entity (``battery_0``, ``battery_1``, ... over all create calls) is one battery;
all are stepped together by one vectorised ``model.step`` call. Sign (pandapower storage):
``p_mw > 0`` charges from the grid. Inputs with several sources are summed; a source that sends
None counts as absent. Without inputs a battery in mode ``set_point`` stays idle (0 MW).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import (
    CreateResult,
    InputData,
    Meta,
    ModelName,
    OutputData,
    OutputRequest,
    SimId,
    Time,
)

from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.simapi import (
    DEFAULT_STEP_S,
    Attr,
    check_init,
    check_inputs,
    check_num,
    gather,
    model_meta,
    not_an_output,
    output_data,
    params_of,
    sim_meta,
)
from simulators.battery import model
from simulators.battery.model import BatteryParams, Fleet, initial_energy

# inputs
P_SET_MW = Attr("p_set_mw", "MW", "power set point, storage sign (> 0 charges); summed")
P_LOAD_MW = Attr(
    "p_load_mw", "MW", "local household demand, load sign; mode self_consumption; summed"
)
P_GEN_MW = Attr("p_gen_mw", "MW", "local generation (PV), sgen sign; mode self_consumption; summed")
P_SLACK_MW = Attr(
    "p_slack_mw",
    "MW",
    "power the grid assigns to this grid-forming battery as island slack, storage sign; "
    "taken exactly; NaN or None: none",
)
# outputs
P_MW = Attr("p_mw", "MW", "delivered grid power, mean over the step, storage sign (> 0 charges)")
SOC_FRAC = Attr("soc_frac", "-", "stored energy / e_max_mwh; outside the window only as a slack")
E_MWH = Attr("e_mwh", "MWh", "stored energy at the end of the step")
E_MAX_MWH = Attr("e_max_mwh", "MWh", "usable capacity (its parameter), for controllers")
P_LOSS_MW = Attr("p_loss_mw", "MW", "conversion and self-discharge losses, mean over the step")
P_AVAILABLE_CHARGE_MW = Attr(
    "p_available_charge_mw", "MW", "the most the next step can charge (power and SoC limits)"
)
P_AVAILABLE_DISCHARGE_MW = Attr(
    "p_available_discharge_mw", "MW", "the most the next step can discharge, as a positive number"
)
LIMIT_VIOLATED = Attr(
    "limit_violated", "-", "this step's power exceeded the battery's limits (island slack only)"
)
GRID_FORMING = Attr("grid_forming", "-", "the battery may hold an island (its parameter)")

INPUTS = (P_SET_MW, P_LOAD_MW, P_GEN_MW, P_SLACK_MW)
OUTPUTS = (
    P_MW,
    SOC_FRAC,
    E_MWH,
    E_MAX_MWH,
    P_LOSS_MW,
    P_AVAILABLE_CHARGE_MW,
    P_AVAILABLE_DISCHARGE_MW,
    LIMIT_VIOLATED,
    GRID_FORMING,
)
INPUT_DEFAULTS = {a.name: 0.0 for a in INPUTS}
MODEL = "Battery"
PARAMS = params_of(BatteryParams)

META: Meta = sim_meta(  # type: ignore[assignment]
    {MODEL: model_meta((*INPUTS, *OUTPUTS), params=PARAMS, inputs=INPUTS)}
)


class BatterySim(mosaik_api_v3.Simulator):
    """Stationary batteries (set point, self-consumption or island slack).

    Sim params: ``step_s`` [s] (default 900), ``start`` (ISO date and time of t_s = 0; batteries
    do not depend on it). Model params of ``Battery``: the fields of ``BatteryParams``.
    """

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self.start = datetime(2016, 1, 1)
        self._units: list[BatteryParams] = []
        self._fleet: Fleet | None = None
        self._e_mwh = np.zeros(0)
        self._pos: dict[str, int] = {}
        self._eids: list[str] = []
        self._result: model.StepResult | None = None
        self._out: dict[str, list[Any]] = {}

    def init(self, sid: SimId, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Check the time resolution (1 s per tick) and read ``step_s`` and ``start``."""
        self.step_s, self.start = check_init(time_resolution, sim_params)
        return self.meta

    def create(self, num: int, model: ModelName, **model_params: Any) -> list[CreateResult]:
        """Append ``num`` batteries with the given ``BatteryParams`` fields."""
        if model != MODEL:
            raise unknown("model", model, [MODEL])
        check_num(num)
        params = BatteryParams.from_kwargs(model_params)
        new_eids = [f"battery_{len(self._eids) + k}" for k in range(num)]
        units = [params] * num
        self._units += units
        self._fleet = Fleet.of(self._units)
        self._e_mwh = np.concatenate([self._e_mwh, initial_energy(units)])
        for eid in new_eids:
            self._pos[eid] = len(self._eids)
            self._eids.append(eid)
        self._result = None
        return [{"eid": eid, "type": MODEL, "rel": []} for eid in new_eids]

    def step(self, time: Time, inputs: InputData, max_advance: Time) -> Time | None:
        """Gather the inputs and advance all batteries by one step."""
        fleet = self._fleet
        if fleet is None:
            raise SimulationError("step() before create(): no batteries")
        given = gather(inputs, self._pos, fleet.size, INPUT_DEFAULTS)
        self._check_inputs(given, fleet)
        p_set, has_set = given["p_set_mw"]
        request = model.requested_power(
            fleet, p_set, has_set, given["p_load_mw"][0], given["p_gen_mw"][0]
        )
        p_slack, has_slack = given["p_slack_mw"]
        slack = np.where(has_slack, p_slack, np.nan)
        self._result = model.step(self._e_mwh, request, slack, self.step_s, fleet)
        self._e_mwh = self._result.e_mwh
        self._out = {}
        return time + self.step_s

    def _check_inputs(self, given: dict[str, tuple[np.ndarray, np.ndarray]], fleet: Fleet) -> None:
        """Finite values only; p_slack_mw only to grid-forming and p_load/p_gen_mw only to
        self-consumption batteries."""
        allowed = {
            "p_slack_mw": fleet.grid_forming,
            "p_load_mw": fleet.self_consumption,
            "p_gen_mw": fleet.self_consumption,
        }
        for attr, (values, present) in given.items():
            bad = np.isinf(values) if attr == "p_slack_mw" else ~np.isfinite(values)
            check_inputs(attr, values, present & bad, self._eids, "finite")
            wrong = present & ~allowed[attr] if attr in allowed else None
            if wrong is not None and wrong.any():
                eid = self._eids[int(np.argmax(wrong))]
                need = "grid_forming=True" if attr == "p_slack_mw" else "mode='self_consumption'"
                raise ConfigError(f"input {attr!r} of {eid!r} needs a battery with {need}")

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """This step's outputs of the requested batteries, as plain floats and bools."""
        if self._result is None:
            raise SimulationError("get_data() before the first step()")
        return output_data(outputs, self._pos, self._out, self._column)

    def _column(self, attr: str) -> list[Any]:
        """One output over all batteries, as a list of plain Python values."""
        result, fleet = self._result, self._fleet
        assert result is not None and fleet is not None
        if attr in ("p_available_charge_mw", "p_available_discharge_mw"):
            charge, discharge = model.available_power(result.e_mwh, self.step_s, fleet)
            self._out["p_available_charge_mw"] = charge.tolist()
            self._out["p_available_discharge_mw"] = discharge.tolist()
            return self._out[attr]
        if attr == "soc_frac":
            return (result.e_mwh / fleet.e_max_mwh).tolist()
        if attr == "grid_forming":
            return fleet.grid_forming.tolist()
        if attr == "e_max_mwh":
            return fleet.e_max_mwh.tolist()
        if attr in ("p_mw", "e_mwh", "p_loss_mw", "limit_violated"):
            column: np.ndarray = getattr(result, attr)
            return column.tolist()
        raise not_an_output(attr, MODEL, OUTPUTS)
