"""mosaik adapter of flexible household loads (``model``); no physics.

Entities ``flexload_0``, ``flexload_1``, ... of model ``FlexLoad``, all stepped by one
vectorised call. Signs are pandapower's load: ``p_mw > 0`` consumes, ``q_mvar > 0`` inductive.

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

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from cosim.core.errors import SimulationError, unknown
from cosim.core.simapi import (
    DEFAULT_STEP_S,
    Attr,
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
ATTRS = tuple(dict.fromkeys((*INPUTS, *OUTPUTS)))
INPUT_DEFAULTS = {
    "p_base_mw": 0.0,  # replaced by each unit's p_base_mw param
    "q_base_mvar": np.nan,
    "p_reduce_mw": 0.0,
    "p_recover_allowed": True,
}
HOW = {"p_recover_allowed": "all"}
MODEL = "FlexLoad"
EID_PREFIX = "flexload_"

META: Meta = sim_meta(  # type: ignore[assignment]
    {MODEL: model_meta(ATTRS, params=params_of(flex_model.Params), inputs=INPUTS, outputs=OUTPUTS)}
)


class FlexLoadSim(mosaik_api_v3.Simulator):
    """Household loads with a flexible share that a controller can shift or curtail."""

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self.groups: list[tuple[flex_model.Params, int]] = []
        self.fleet = flex_model.Fleet.of([])
        self.state = flex_model.State.initial(0)
        self.eids: list[str] = []
        self._pos: dict[str, int] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._lists: dict[str, list[Any]] = {}

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Check the time resolution (1 s per tick); read ``step_s`` and ``start``."""
        self.step_s, _ = check_init(time_resolution, sim_params)
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        """Append ``num`` units with the given params; ids ``flexload_<k>`` with a running k."""
        if model != MODEL:
            raise unknown("model", model, [MODEL])
        check_num(num)
        params = flex_model.Params.from_dict(model_params)
        first = len(self.eids)
        eids = [f"{EID_PREFIX}{k}" for k in range(first, first + num)]
        self.groups.append((params, num))
        self.fleet = flex_model.Fleet.of(self.groups)
        self.state = self.state.extended(flex_model.State.initial(num))
        self.eids += eids
        self._pos.update((eid, first + j) for j, eid in enumerate(eids))
        return [{"eid": eid, "type": MODEL, "rel": []} for eid in eids]

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        """Gather inputs, step all units once, ``return time + step_s``."""
        if not self.eids:
            raise SimulationError("step() before create(): no FlexLoad units")
        p_base, q_base, p_reduce, allowed = self._gather(inputs)
        self.state, flows = flex_model.step(
            self.state, self.fleet, self.step_s, p_base, p_reduce, allowed, q_base
        )
        self._arrays = {f.name: getattr(flows, f.name) for f in fields(flows)}
        self._arrays.update((f.name, getattr(self.state, f.name)) for f in fields(self.state))
        self._lists = {}
        return time + self.step_s

    def _gather(self, inputs: InputData) -> tuple[np.ndarray, ...]:
        """Input arrays: base p (default param), base q (NaN = none), reduce, allowed."""
        defaults = {**INPUT_DEFAULTS, "p_base_mw": self.fleet.p_base_mw}
        given = gather(inputs, self._pos, len(self.eids), defaults, how=HOW, error=SimulationError)
        p_base, q_base, p_reduce, allowed = (given[a.name][0] for a in INPUTS)
        # q_base_mvar NaN means "not given"
        check_inputs("p_base_mw", p_base, ~np.isfinite(p_base), self.eids, "finite")
        check_inputs("q_base_mvar", q_base, np.isinf(q_base), self.eids, "finite")
        check_inputs("p_reduce_mw", p_reduce, ~np.isfinite(p_reduce), self.eids, "finite")
        return p_base, q_base, p_reduce, allowed

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """The requested outputs as plain floats (JSON-safe)."""
        if not self._arrays:
            raise SimulationError("get_data() before the first step()")
        return output_data(outputs, self._pos, self._lists, self._column)

    def _column(self, attr: str) -> list[Any]:
        return array_column(self._arrays, attr, MODEL, OUTPUTS)
