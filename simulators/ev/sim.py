"""mosaik adapter of EVs charging at home: entities, inputs and outputs; no physics.

Each ``EV`` entity (``ev_0``, ``ev_1``, ... over all create calls) is one EV with its charger;
all are stepped together by one vectorised ``model.step`` call. Sign (pandapower, the charger
as a load): ``p_mw > 0`` charges. ``p_set_mw`` from several sources is summed; a source that
sends None counts as absent, and without a set point an EV charges uncontrolled (full power
from arrival until its target or its departure).
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
    sim_meta,
)
from simulators.ev import model
from simulators.ev.model import Fleet
from simulators.ev.params import PARAMS, EVParams, split_params
from simulators.ev.sessions import Sessions

P_SET_MW = Attr(
    "p_set_mw", "MW", "power while plugged in, > 0 charges (< 0: V2G); summed; absent: full power"
)
P_MW = Attr("p_mw", "MW", "grid power, mean over the step, > 0 charges; 0 when not plugged in")
SOC_FRAC = Attr("soc_frac", "-", "state of charge at the end of the step (away: at departure)")
CONNECTED = Attr("connected", "-", "plugged in during (part of) the step")
E_NEEDED_MWH = Attr("e_needed_mwh", "MWh", "energy still to store to reach the target; 0 away")
T_DEPARTURE_S = Attr("t_departure_s", "s", "departure of the session of this step; -1 away")
E_UNMET_MWH = Attr("e_unmet_mwh", "MWh", "energy missing to the target at departures, cumulative")
P_LOSS_MW = Attr("p_loss_mw", "MW", "charging and discharging losses, mean over the step")
P_MIN_MW = Attr(
    "p_min_mw",
    "MW",
    "next step: power needed now to still reach the target by departure at full power later "
    "(< 0: what a V2G EV may give); 0 if not plugged in",
)
P_MAX_MW = Attr("p_max_mw", "MW", "next step: the most the EV can charge; 0 if not plugged in")

INPUTS = (P_SET_MW,)
OUTPUTS = (
    P_MW,
    SOC_FRAC,
    CONNECTED,
    E_NEEDED_MWH,
    T_DEPARTURE_S,
    E_UNMET_MWH,
    P_LOSS_MW,
    P_MIN_MW,
    P_MAX_MW,
)
INPUT_DEFAULTS = {a.name: 0.0 for a in INPUTS}
MODEL = "EV"
SIM_PARAMS = ("step_s", "start", "seed")

META: Meta = sim_meta(  # type: ignore[assignment]
    {MODEL: model_meta((*INPUTS, *OUTPUTS), params=PARAMS, inputs=INPUTS)}
)


class EVSim(mosaik_api_v3.Simulator):
    """EVs charging at home, with sessions generated (seeded) or read from a CSV file.

    Sim params: ``step_s`` [s] (default 900), ``start`` (ISO date and time of t_s = 0: day
    types and times of day of generated sessions), ``seed`` (int >= 0, default 0). Model params
    of ``EV``: the fields of ``params.EVParams``, then either ``sessions`` (a CSV path) or the
    fields of ``params.MobilityParams`` (statistics of generated sessions).
    """

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self.start = datetime(2016, 1, 1)
        self.seed = 0
        self.sessions = Sessions()
        self._units: list[EVParams] = []
        self._fleet: Fleet | None = None
        self._pos: dict[str, int] = {}
        self._eids: list[str] = []
        self._state: model.State | None = None
        self._result: model.StepResult | None = None
        self._time = 0
        self._out: dict[str, list[Any]] = {}

    def init(self, sid: SimId, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Check the time resolution (1 s per tick) and read ``step_s``, ``start``, ``seed``."""
        self.step_s, self.start = check_init(time_resolution, sim_params, SIM_PARAMS)
        seed = sim_params.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed={seed!r} must be an int >= 0")
        self.seed = seed
        return self.meta

    def create(self, num: int, model: ModelName, **model_params: Any) -> list[CreateResult]:
        """Append ``num`` alike EVs; their sessions come from ``sessions`` or are generated."""
        if model != MODEL:
            raise unknown("model", model, [MODEL])
        check_num(num)
        if self._state is not None:
            raise ConfigError("EVs must be created before the first step")
        ev, stats, path = split_params(model_params)
        if path is not None:
            self.sessions.add_file(num, path, ev)
        else:
            assert stats is not None
            self.sessions.add_generated(num, ev, stats, self.seed, self.start)
        new_eids = [f"ev_{len(self._eids) + k}" for k in range(num)]
        self._units += [ev] * num
        self._fleet = Fleet.of(self._units)
        for eid in new_eids:
            self._pos[eid] = len(self._eids)
            self._eids.append(eid)
        return [{"eid": eid, "type": MODEL, "rel": []} for eid in new_eids]

    def step(self, time: Time, inputs: InputData, max_advance: Time) -> Time | None:
        """Gather the set points and advance all EVs by one step."""
        fleet = self._fleet
        if fleet is None:
            raise SimulationError("step() before create(): no EVs")
        p_set, has_set = gather(inputs, self._pos, fleet.size, INPUT_DEFAULTS)["p_set_mw"]
        check_inputs("p_set_mw", p_set, has_set & ~np.isfinite(p_set), self._eids, "finite")
        self.sessions.cover(time + self.step_s)
        if self._state is None:
            self._state = model.initial_state(fleet, self.sessions.table, time)
        self._state, self._result = model.step(
            self._state, self.sessions.table, time, self.step_s, p_set, has_set, fleet
        )
        self._time = time
        self._out = {}
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """This step's outputs of the requested EVs, as plain floats, ints and bools."""
        if self._result is None:
            raise SimulationError("get_data() before the first step()")
        return output_data(outputs, self._pos, self._out, self._column)

    def _column(self, attr: str) -> list[Any]:
        """One output over all EVs, as a list of plain Python values."""
        state, result, fleet = self._state, self._result, self._fleet
        assert state is not None and result is not None and fleet is not None
        if attr in ("p_min_mw", "p_max_mw"):
            t1 = self._time + self.step_s
            p_min, p_max = model.next_bounds(state, self.sessions.table, t1, self.step_s, fleet)
            self._out["p_min_mw"], self._out["p_max_mw"] = p_min.tolist(), p_max.tolist()
            return self._out[attr]
        if attr == "soc_frac":
            return (state.e_mwh / fleet.e_max_mwh).tolist()
        if attr == "e_unmet_mwh":
            return state.e_unmet_mwh.tolist()
        if attr in ("p_mw", "p_loss_mw", "connected", "e_needed_mwh", "t_departure_s"):
            column: np.ndarray = getattr(result, attr)
            return column.tolist()
        raise not_an_output(attr, MODEL, OUTPUTS)
