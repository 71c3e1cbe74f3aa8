"""mosaik adapter of CHP units (``model``) and their heat demand (``heat_demand``); no physics.

Entities ``chp_0``, ``chp_1``, ... of model ``CHP``, all stepped by one vectorised call.
Signs are pandapower's sgen: ``p_mw > 0`` injects, ``q_mvar > 0`` injects reactive power.

Sim params: ``step_s`` [s] (default 900), ``start`` (ISO date and time of ``t_s = 0``, default
``"2016-01-01 00:00:00"``: places the synthetic heat demand in the year), ``heat_demand``
(optional CSV/Parquet path used by every unit created without its own).

Model params of ``CHP``: the fields of :class:`simulators.chp.model.Params` and
``heat_demand`` (a CSV/Parquet path for the units of this call). Heat demand of a unit: its
``p_heat_demand_mw`` input if connected, else the file (its model param, else the sim param),
else the synthetic BDEW profile of ``e_heat_annual_mwh`` / ``heat_slp``.

Inputs (several sources are summed; ``None`` values are ignored):
``p_set_mw`` (power_led set point, default 0 = off), ``p_slack_mw`` (grid-forming units only,
the output the grid assigned them as an island's slack), ``p_heat_demand_mw`` (overrides the
unit's heat demand source).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from cosim.core.errors import SimulationError, unknown
from cosim.core.simapi import (
    DEFAULT_STEP_S,
    Attr,
    Param,
    array_column,
    check_init,
    check_inputs,
    check_num,
    gather,
    model_meta,
    output_data,
    params_of,
    sim_meta,
)
from simulators.chp import model as chp_model
from simulators.chp.heat_demand import SECONDS_PER_YEAR, HeatDemand, HeatTable, read_heat_table

P_SET_MW = Attr("p_set_mw", "MW", "input: electrical set point of power_led units; sgen sign")
P_SLACK_MW = Attr("p_slack_mw", "MW", "input: output as an island's slack; grid-forming only")
P_MW = Attr("p_mw", "MW", "electrical output; sgen sign (> 0 injects)")
Q_MVAR = Attr("q_mvar", "Mvar", "reactive power; sgen sign (> 0 injects, over-excited)")
P_TH_MW = Attr("p_th_mw", "MW", "heat from the CHP unit")
P_BOILER_TH_MW = Attr("p_boiler_th_mw", "MW", "heat from the backup boiler")
P_HEAT_DEMAND_MW = Attr("p_heat_demand_mw", "MW", "heat demand; also an input that overrides it")
P_FUEL_MW = Attr("p_fuel_mw", "MW", "fuel power of CHP unit and boiler, LHV")
E_TANK_MWH = Attr("e_tank_mwh", "MWh", "heat stored in the tank at the end of the step")
P_HEAT_DUMPED_MW = Attr("p_heat_dumped_mw", "MW", "heat the tank could not take, dumped")
P_TANK_LOSS_MW = Attr("p_tank_loss_mw", "MW", "standing loss of the tank")
ON = Attr("on", "-", "the CHP unit runs (bool)")
CO2_KG_PER_H = Attr("co2_kg_per_h", "kg/h", "CO2 emitted by CHP unit and boiler")
STARTS = Attr("starts", "-", "starts of the CHP unit so far (int)")
P_LIMIT_VIOLATION_MW = Attr(
    "p_limit_violation_mw", "MW", "slack output beyond [min part load, max]: > 0 above max"
)
LIMIT_VIOLATED = Attr("limit_violated", "-", "p_limit_violation_mw is not 0 (bool)")
P_AVAILABLE_MW = Attr(
    "p_available_mw", "MW", "the most it can give next step: full load (fuel from the gas grid)"
)
P_MIN_MW = Attr("p_min_mw", "MW", "the least it gives while on: minimum part load")
INPUTS = (P_SET_MW, P_SLACK_MW, P_HEAT_DEMAND_MW)
OUTPUTS = (
    P_MW, Q_MVAR, P_TH_MW, P_BOILER_TH_MW, P_HEAT_DEMAND_MW, P_FUEL_MW, E_TANK_MWH,
    P_HEAT_DUMPED_MW, P_TANK_LOSS_MW, ON, CO2_KG_PER_H, STARTS, P_LIMIT_VIOLATION_MW,
    LIMIT_VIOLATED, P_AVAILABLE_MW, P_MIN_MW,
)  # fmt: skip
ATTRS = tuple(dict.fromkeys((*INPUTS, *OUTPUTS)))
INPUT_DEFAULTS = {"p_set_mw": 0.0, "p_slack_mw": np.nan, "p_heat_demand_mw": np.nan}
MODEL = "CHP"
EID_PREFIX = "chp_"
HEAT_DEMAND = Param(
    "heat_demand",
    "str | None",
    "-",
    None,
    "CSV/Parquet heat demand of the units of this call; None: the sim's file or the synthetic SLP",
)
MODEL_EXTRA = (HEAT_DEMAND.name,)
SIM_PARAMS = ("step_s", "start", "heat_demand")

META: Meta = sim_meta(  # type: ignore[assignment]
    {
        MODEL: model_meta(
            ATTRS,
            params=[*params_of(chp_model.Params), HEAT_DEMAND],
            inputs=INPUTS,
            outputs=OUTPUTS,
        )
    }
)


def year_offset_s(when: datetime) -> int:
    """Seconds from 1 January 00:00 of ``when``'s year to ``when``."""
    return int((when - when.replace(month=1, day=1, hour=0, minute=0, second=0)).total_seconds())


class ChpSim(mosaik_api_v3.Simulator):
    """CHP units with tank and boiler, heat-led or power-led, optionally grid-forming."""

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self.demand = HeatDemand(0)
        self.sim_table: HeatTable | None = None
        self.groups: list[tuple[chp_model.Params, int]] = []
        self.fleet = chp_model.Fleet.of([])
        self.state = chp_model.State.initial([])
        self.eids: list[str] = []
        self._pos: dict[str, int] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._lists: dict[str, list[Any]] = {}

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Check the time resolution (1 s per tick); read ``step_s``, ``start``, ``heat_demand``."""
        self.step_s, start = check_init(time_resolution, sim_params, SIM_PARAMS)
        offset_s = year_offset_s(start)
        self.demand = HeatDemand(offset_s % SECONDS_PER_YEAR)
        if sim_params.get("heat_demand") is not None:
            self.sim_table = read_heat_table(str(sim_params["heat_demand"]), self.step_s)
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        """Append ``num`` units with the given params; ids ``chp_<k>`` with a running k."""
        if model != MODEL:
            raise unknown("model", model, [MODEL])
        check_num(num)
        source = model_params.pop("heat_demand", None)
        params = chp_model.Params.from_dict(model_params, extra=MODEL_EXTRA)
        first = len(self.eids)
        positions = range(first, first + num)
        eids = [f"{EID_PREFIX}{k}" for k in positions]
        table = self.sim_table if source is None else read_heat_table(str(source), self.step_s)
        if table is not None:
            self.demand.add_table(positions, eids, table)
        else:
            self.demand.add_synthetic(positions, params.e_heat_annual_mwh, params.heat_slp)
        self.groups.append((params, num))
        self.fleet = chp_model.Fleet.of(self.groups)
        self.state = self.state.extended(chp_model.State.initial([(params, num)]))
        self.eids += eids
        self._pos.update((eid, k) for k, eid in zip(positions, eids, strict=True))
        return [{"eid": eid, "type": MODEL, "rel": []} for eid in eids]

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        """Gather inputs, step all units once, ``return time + step_s``."""
        if not self.eids:
            raise SimulationError("step() before create(): no CHP units")
        p_set, p_slack, demand_in = self._gather(inputs)
        demand = self.demand.at(time, self.step_s)
        demand = np.where(np.isnan(demand_in), demand, demand_in)
        self.state, flows = chp_model.step(
            self.state, self.fleet, self.step_s, demand, p_set, p_slack
        )
        self._arrays = {f.name: getattr(flows, f.name) for f in fields(flows)}
        self._arrays.update(
            e_tank_mwh=self.state.e_tank_mwh,
            on=self.state.on,
            starts=self.state.starts,
            p_available_mw=self.fleet.p_el_max_mw,
            p_min_mw=self.fleet.p_el_min_mw,
        )
        self._lists = {}
        return time + self.step_s

    def _gather(self, inputs: InputData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input arrays: p_set (default 0), p_slack and heat demand (NaN = none) [MW]."""
        given = gather(inputs, self._pos, len(self.eids), INPUT_DEFAULTS, error=SimulationError)
        p_set, p_slack, demand = (given[a.name][0] for a in INPUTS)
        bad = ~np.isnan(p_slack) & ~self.fleet.grid_forming
        if bad.any():
            shown = [self.eids[k] for k in np.flatnonzero(bad)]
            raise SimulationError(f"p_slack_mw for {shown}, which are not grid_forming")
        # NaN in p_slack_mw and p_heat_demand_mw means "none"
        check_inputs("p_set_mw", p_set, ~np.isfinite(p_set), self.eids, "finite")
        check_inputs("p_slack_mw", p_slack, np.isinf(p_slack), self.eids, "finite")
        bad = np.isinf(demand) | (demand < 0)
        check_inputs("p_heat_demand_mw", demand, bad, self.eids, "finite and >= 0")
        return p_set, p_slack, demand

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """The requested outputs as plain floats, bools and ints (JSON-safe)."""
        if not self._arrays:
            raise SimulationError("get_data() before the first step()")
        return output_data(outputs, self._pos, self._lists, self._column)

    def _column(self, attr: str) -> list[Any]:
        return array_column(self._arrays, attr, MODEL, OUTPUTS)
