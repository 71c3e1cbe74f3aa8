"""mosaik adapter of flexible household loads (``model``); no physics.

Entities ``flexload_0``, ``flexload_1``, ... of model ``FlexLoad`` (or ``FlexLoadFleet``
entities of many units, :mod:`simulators.adapter`), all stepped by one vectorised call.
Signs are pandapower's load: ``p_mw > 0`` consumes, ``q_mvar > 0`` inductive.

Sim params: ``step_s`` [s] (default 900) and ``start`` (ISO date and time of ``t_s = 0``;
accepted for uniformity with the other simulators, unused). Model params of ``FlexLoad``: the
fields of :class:`simulators.flexload.model.Params`.

Inputs (several sources of a power are summed, several ``p_recover_allowed`` must all be True;
``None`` values are ignored): ``p_base_mw`` (the household demand, e.g. from the profiles
simulator; default the ``p_base_mw`` param), ``q_base_mvar`` (its reactive power; default
from ``cos_phi``), ``p_reduce_mw`` (a controller's request, default 0), ``p_recover_allowed``
(default True).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from cosim.core.errors import SimulationError
from cosim.core.simapi import Attr, params_of
from simulators.adapter import Given, Input, Schema, UnitSim
from simulators.flexload import model as flex_model

P_BASE_MW = Attr("p_base_mw", "MW", "demand without flexibility; input and output; load sign")
Q_BASE_MVAR = Attr("q_base_mvar", "Mvar", "input: reactive power of the base demand")
P_REDUCE_MW = Attr("p_reduce_mw", "MW", "input: requested reduction (<= 0: none)")
P_RECOVER_ALLOWED = Attr("p_recover_allowed", "-", "input: backlog may be recovered (bool)")
P_MW = Attr("p_mw", "MW", "actual consumption; load sign (> 0 consumes)")
Q_MVAR = Attr("q_mvar", "Mvar", "reactive power; load sign (> 0 inductive)")
P_REDUCED_MW = Attr("p_reduced_mw", "MW", "reduction granted this step")
P_RECOVERED_MW = Attr("p_recovered_mw", "MW", "shifted energy taken back this step")
E_BACKLOG_MWH = Attr("e_backlog_mwh", "MWh", "shifted energy still to be recovered")
E_SHIFTED_MWH = Attr("e_shifted_mwh", "MWh", "energy shifted so far (cumulative)")
E_CURTAILED_MWH = Attr("e_curtailed_mwh", "MWh", "energy curtailed so far (cumulative)")
E_DEMANDED_MWH = Attr("e_demanded_mwh", "MWh", "base demand so far (cumulative)")
E_CONSUMED_MWH = Attr("e_consumed_mwh", "MWh", "energy consumed so far (cumulative)")
P_FLEX_AVAILABLE_MW = Attr(
    "p_flex_available_mw", "MW", "reduction possible next step, at this step's base demand"
)
INPUTS = (P_BASE_MW, Q_BASE_MVAR, P_REDUCE_MW, P_RECOVER_ALLOWED)
OUTPUTS = (
    P_MW, Q_MVAR, P_BASE_MW, P_REDUCED_MW, P_RECOVERED_MW, E_BACKLOG_MWH, E_SHIFTED_MWH,
    E_CURTAILED_MWH, E_DEMANDED_MWH, E_CONSUMED_MWH, P_FLEX_AVAILABLE_MW,
)  # fmt: skip
MODEL = "FlexLoad"
SCHEMA = Schema(
    MODEL,
    "flexload_",
    params_of(flex_model.Params),
    (
        Input(P_BASE_MW, 0.0),  # replaced by each unit's p_base_mw param
        Input(Q_BASE_MVAR, np.nan, nan_is_none=True),  # NaN: from cos_phi
        Input(P_REDUCE_MW, 0.0),
        Input(P_RECOVER_ALLOWED, True, "all", checked=False),
    ),
    OUTPUTS,
    input_error=SimulationError,
)
META = SCHEMA.meta()


class FlexLoadSim(UnitSim[flex_model.Params]):
    """Household loads with a flexible share that a controller can shift or curtail."""

    schema = SCHEMA

    def __init__(self) -> None:
        super().__init__()
        self.fleet = flex_model.Fleet.of([])
        self.state = flex_model.State.initial(0)

    def make(self, params: dict[str, Any]) -> flex_model.Params:
        """The unit's Params."""
        return flex_model.Params.from_dict(params)

    def extend(
        self, groups: list[tuple[flex_model.Params, int]], first: int, eids: list[str]
    ) -> None:
        """Append the units, nothing owed or shifted yet."""
        self.fleet = flex_model.Fleet.of([*self.groups, *groups])
        self.state = self.state.extended(flex_model.State.initial(len(eids)))

    def input_defaults(self) -> dict[str, Any]:
        """Without a ``p_base_mw`` input, each unit's ``p_base_mw`` param."""
        return {**super().input_defaults(), "p_base_mw": self.fleet.p_base_mw}

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        """One model step of all units."""
        p_base, q_base, p_reduce, allowed = (given[a.name][0] for a in INPUTS)
        self.state, flows = flex_model.step(
            self.state, self.fleet, self.step_s, p_base, p_reduce, allowed, q_base
        )
        arrays = {f.name: getattr(flows, f.name) for f in fields(flows)}
        arrays.update((f.name, getattr(self.state, f.name)) for f in fields(self.state))
        return arrays
