"""mosaik adapter of stationary batteries (:mod:`simulators.adapter`); no physics.

Each ``Battery`` entity (``battery_0``, ``battery_1``, ... over all create calls) is one battery,
a ``BatteryFleet`` entity many; all are stepped together by one vectorised ``model.step``
call. Sign (pandapower storage): ``p_mw > 0`` charges from the grid. Inputs with several
sources are summed; a source that sends None counts as absent. Without inputs a battery in
mode ``set_point`` stays idle (0 MW).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.core.errors import ConfigError
from cosim.core.simapi import Attr, params_of
from simulators.adapter import Given, Input, Schema, UnitSim, units_of
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
MODEL = "Battery"
PARAMS = params_of(BatteryParams)
SCHEMA = Schema(
    MODEL,
    "battery_",
    PARAMS,
    (
        Input(P_SET_MW, 0.0),
        Input(P_LOAD_MW, 0.0),
        Input(P_GEN_MW, 0.0),
        Input(P_SLACK_MW, 0.0, nan_is_none=True),
    ),
    OUTPUTS,
)
META = SCHEMA.meta()
NEEDS = {
    "p_slack_mw": ("grid_forming", "grid_forming=True"),
    "p_load_mw": ("self_consumption", "mode='self_consumption'"),
    "p_gen_mw": ("self_consumption", "mode='self_consumption'"),
}
"""Inputs only some batteries take: the Fleet flag that allows them, and what it means."""


class BatterySim(UnitSim[BatteryParams]):
    """Stationary batteries (set point, self-consumption or island slack).

    Sim params: ``step_s`` [s] (default 900), ``start`` (ISO date and time of t_s = 0; batteries
    do not depend on it). Model params of ``Battery``: the fields of ``BatteryParams``.
    """

    schema = SCHEMA

    def __init__(self) -> None:
        super().__init__()
        self.fleet = Fleet.of([])
        self._e_mwh = np.zeros(0)
        self._result: model.StepResult | None = None

    def make(self, params: dict[str, Any]) -> BatteryParams:
        """``BatteryParams`` from create params."""
        return BatteryParams.from_kwargs(params)

    def extend(self, groups: list[tuple[BatteryParams, int]], first: int, eids: list[str]) -> None:
        """Append the batteries, each at its initial state of charge."""
        self._e_mwh = np.concatenate([self._e_mwh, initial_energy(units_of(groups))])
        self.fleet = Fleet.of(units_of([*self.groups, *groups]))

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        """Requested power from the set point or self-consumption, then one model step."""
        fleet = self.fleet
        for attr, (flag, need) in NEEDS.items():
            wrong = given[attr][1] & ~getattr(fleet, flag)
            if wrong.any():
                eid = self.eids[int(np.argmax(wrong))]
                raise ConfigError(f"input {attr!r} of {eid!r} needs a battery with {need}")
        p_set, has_set = given["p_set_mw"]
        request = model.requested_power(
            fleet, p_set, has_set, given["p_load_mw"][0], given["p_gen_mw"][0]
        )
        p_slack, has_slack = given["p_slack_mw"]
        slack = np.where(has_slack, p_slack, np.nan)
        result = self._result = model.step(self._e_mwh, request, slack, self.step_s, fleet)
        self._e_mwh = result.e_mwh
        return {
            "p_mw": result.p_mw,
            "e_mwh": result.e_mwh,
            "p_loss_mw": result.p_loss_mw,
            "limit_violated": result.limit_violated,
            "grid_forming": fleet.grid_forming,
            "e_max_mwh": fleet.e_max_mwh,
        }

    def output(self, attr: str) -> np.ndarray:
        """State of charge and the next step's available power, made when asked for."""
        assert self._result is not None
        if attr == "soc_frac":
            return self._result.e_mwh / self.fleet.e_max_mwh
        if attr in ("p_available_charge_mw", "p_available_discharge_mw"):
            charge, discharge = model.available_power(self._result.e_mwh, self.step_s, self.fleet)
            self._arrays["p_available_charge_mw"] = charge
            self._arrays["p_available_discharge_mw"] = discharge
            return self._arrays[attr]
        return super().output(attr)
