"""mosaik adapter of EVs charging at home: entities, inputs and outputs; no physics.

Each ``EV`` entity (``ev_0``, ``ev_1``, ... over all create calls) is one EV with its charger,
an ``EVFleet`` entity many (:mod:`simulators.adapter`); all are stepped together by one
vectorised ``model.step`` call. Sign (pandapower, the charger as a load): ``p_mw > 0``
charges. ``p_set_mw`` from several sources is summed; a source that sends None counts as
absent, and without a set point an EV charges uncontrolled (full power from arrival until its
target or its departure).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.core.errors import ConfigError
from cosim.core.simapi import Attr, Param
from simulators.adapter import Given, Input, Schema, UnitSim, units_of
from simulators.ev import model
from simulators.ev.model import Fleet
from simulators.ev.params import PARAMS, EVParams, MobilityParams, split_params
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
MODEL = "EV"
SCHEMA = Schema(
    MODEL,
    "ev_",
    PARAMS,
    (Input(P_SET_MW, 0.0),),
    OUTPUTS,
    sim_params=(Param("seed", "int", "-", 0, "seed of the generated sessions, >= 0"),),
)
META = SCHEMA.meta()
Unit = tuple[EVParams, MobilityParams | None, str | None]
"""One EV: its params, and its sessions' statistics (generated) or file."""


class EVSim(UnitSim[Unit]):
    """EVs charging at home, with sessions generated (seeded) or read from a CSV file.

    Sim params: ``step_s`` [s] (default 900), ``start`` (ISO date and time of t_s = 0: day
    types and times of day of generated sessions), ``seed`` (int >= 0, default 0). Model params
    of ``EV``: the fields of ``params.EVParams``, then either ``sessions`` (a CSV path) or the
    fields of ``params.MobilityParams`` (statistics of generated sessions). The sessions of
    one create call (of one ``EVFleet`` with scalar params) come from one random stream.
    """

    schema = SCHEMA

    def __init__(self) -> None:
        super().__init__()
        self.seed = 0
        self.sessions = Sessions()
        self.fleet = Fleet.of([])
        self._state: model.State | None = None
        self._time = 0

    def read_params(self, params: dict[str, Any]) -> None:
        """The seed of the generated sessions."""
        seed = params["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed={seed!r} must be an int >= 0")
        self.seed = seed

    def make(self, params: dict[str, Any]) -> Unit:
        """EV params, and statistics or a sessions file."""
        return split_params(params)

    def extend(self, groups: list[tuple[Unit, int]], first: int, eids: list[str]) -> None:
        """The sessions of each group: read from its file, or a random stream of its own."""
        if self._state is not None:
            raise ConfigError("EVs must be created before the first step")
        for (ev, stats, path), n in groups:
            if path is not None:
                self.sessions.add_file(n, path, ev)
            else:
                assert stats is not None
                self.sessions.add_generated(n, ev, stats, self.seed, self.start)
        self.fleet = Fleet.of([ev for ev, _, _ in units_of([*self.groups, *groups])])

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        """Sessions up to the step's end, then one model step of all EVs."""
        p_set, has_set = given["p_set_mw"]
        self.sessions.cover(time + self.step_s)
        if self._state is None:
            self._state = model.initial_state(self.fleet, self.sessions.table, time)
        self._state, result = model.step(
            self._state, self.sessions.table, time, self.step_s, p_set, has_set, self.fleet
        )
        self._time = time
        return {
            "p_mw": result.p_mw,
            "p_loss_mw": result.p_loss_mw,
            "connected": result.connected,
            "e_needed_mwh": result.e_needed_mwh,
            "t_departure_s": result.t_departure_s,
            "e_unmet_mwh": self._state.e_unmet_mwh,
        }

    def output(self, attr: str) -> np.ndarray:
        """State of charge and the next step's power bounds, made when asked for."""
        state = self._state
        assert state is not None
        if attr == "soc_frac":
            return state.e_mwh / self.fleet.e_max_mwh
        if attr in ("p_min_mw", "p_max_mw"):
            t1 = self._time + self.step_s
            p_min, p_max = model.next_bounds(
                state, self.sessions.table, t1, self.step_s, self.fleet
            )
            self._arrays["p_min_mw"], self._arrays["p_max_mw"] = p_min, p_max
            return self._arrays[attr]
        return super().output(attr)
