"""mosaik adapter of CHP units (``model``) and their heat demand (``heat_demand``); no physics.

Entities ``chp_0``, ``chp_1``, ... of model ``CHP`` (or ``CHPFleet`` entities of many units,
:mod:`simulators.adapter`), all stepped by one vectorised call.
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

import numpy as np

from cosim.core.errors import SimulationError
from cosim.core.simapi import Attr, Param, params_of
from simulators.adapter import Given, Input, Schema, UnitSim
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
MODEL = "CHP"
HEAT_DEMAND = Param(
    "heat_demand",
    "str | None",
    "-",
    None,
    "CSV/Parquet heat demand of the units of this call; None: the sim's file or the synthetic SLP",
)
SCHEMA = Schema(
    MODEL,
    "chp_",
    (*params_of(chp_model.Params), HEAT_DEMAND),
    (  # NaN in p_slack_mw and p_heat_demand_mw means "none"
        Input(P_SET_MW, 0.0),
        Input(P_SLACK_MW, np.nan, nan_is_none=True),
        Input(P_HEAT_DEMAND_MW, np.nan, nan_is_none=True, min_value=0.0),
    ),
    OUTPUTS,
    sim_params=(
        Param("heat_demand", "str | None", "-", None, "CSV/Parquet heat demand of every unit"),
    ),
    input_error=SimulationError,
)
META = SCHEMA.meta()
Unit = tuple[chp_model.Params, str | None]
"""One unit's params and its heat demand file (None: the sim's, else synthetic)."""


def year_offset_s(when: datetime) -> int:
    """Seconds from 1 January 00:00 of ``when``'s year to ``when``."""
    return int((when - when.replace(month=1, day=1, hour=0, minute=0, second=0)).total_seconds())


class ChpSim(UnitSim[Unit]):
    """CHP units with tank and boiler, heat-led or power-led, optionally grid-forming."""

    schema = SCHEMA

    def __init__(self) -> None:
        super().__init__()
        self.demand = HeatDemand(0)
        self.sim_table: HeatTable | None = None
        self.fleet = chp_model.Fleet.of([])
        self.state = chp_model.State.initial([])

    def read_params(self, params: dict[str, Any]) -> None:
        """Place the synthetic demand in the year by ``start``; read the sim's heat file."""
        self.demand = HeatDemand(year_offset_s(self.start) % SECONDS_PER_YEAR)
        if params["heat_demand"] is not None:
            self.sim_table = read_heat_table(str(params["heat_demand"]), self.step_s)

    def make(self, params: dict[str, Any]) -> Unit:
        """The unit's Params and its own heat demand file."""
        rest = {k: v for k, v in params.items() if k != HEAT_DEMAND.name}
        unit = chp_model.Params.from_dict(rest, extra=(HEAT_DEMAND.name,))
        return unit, params.get(HEAT_DEMAND.name)

    def extend(self, groups: list[tuple[Unit, int]], first: int, eids: list[str]) -> None:
        """Heat demand of each group (its file, the sim's, or synthetic), then the state."""
        read: dict[str, HeatTable] = {}
        sources = []
        for (params, source), n in groups:
            ids, eids = eids[:n], eids[n:]
            if source is not None and str(source) not in read:
                read[str(source)] = read_heat_table(str(source), self.step_s)
            table = self.sim_table if source is None else read[str(source)]
            if table is not None:
                table.columns_for(ids)  # raises before anything is added
            sources.append((range(first, first + n), ids, table, params))
            first += n
        for positions, ids, table, params in sources:
            if table is not None:
                self.demand.add_table(positions, ids, table)
            else:
                self.demand.add_synthetic(positions, params.e_heat_annual_mwh, params.heat_slp)
        new = [(params, n) for (params, _), n in groups]
        self.fleet = chp_model.Fleet.of([(p, n) for (p, _), n in self.groups] + new)
        self.state = self.state.extended(chp_model.State.initial(new))

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        """Heat demand (the input where given), then one model step of all units."""
        p_set, p_slack, demand_in = (given[a.name][0] for a in INPUTS)
        bad = ~np.isnan(p_slack) & ~self.fleet.grid_forming
        if bad.any():
            shown = [self.eids[k] for k in np.flatnonzero(bad)]
            raise SimulationError(f"p_slack_mw for {shown}, which are not grid_forming")
        demand = self.demand.at(time, self.step_s)
        demand = np.where(np.isnan(demand_in), demand, demand_in)
        self.state, flows = chp_model.step(
            self.state, self.fleet, self.step_s, demand, p_set, p_slack
        )
        arrays = {f.name: getattr(flows, f.name) for f in fields(flows)}
        arrays.update(
            e_tank_mwh=self.state.e_tank_mwh,
            on=self.state.on,
            starts=self.state.starts,
            p_available_mw=self.fleet.p_el_max_mw,
            p_min_mw=self.fleet.p_el_min_mw,
        )
        return arrays
