"""mosaik adapter of the heat pump on cosim's generic unit adapter: a schema and three hooks.

Entities ``hp_<k>`` (model ``HeatPump``, one per unit) or ``hp_fleet_<j>`` (``HeatPumpFleet``,
many units, array attributes); the adapter does the rest (:mod:`simulators.adapter`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosim.core.simapi import Attr, Param, parse_params
from cosim.core.units import KW_PER_MW
from heatpump.model import p_el_kw
from simulators.adapter import Given, Schema, UnitSim

PARAMS = (
    Param("q_heat_kw", "float", "kW", 8.0, "heat demand met every step"),
    Param("t_supply_c", "float", "°C", 55.0, "supply temperature of the heating water"),
    Param("t_outdoor_c", "float", "°C", 7.0, "outdoor air temperature"),
    Param("carnot_frac", "float", "-", 0.45, "fraction of the Carnot COP reached"),
)
OUTPUTS = (
    Attr("p_mw", "MW", "electric power drawn (load sign)"),
    Attr("q_mvar", "Mvar", "reactive power drawn (none)"),
    Attr("q_heat_kw", "kW", "heat delivered"),
)
SCHEMA = Schema("HeatPump", "hp_", PARAMS, (), OUTPUTS)


class HeatPumpSim(UnitSim[dict[str, Any]]):
    """Air-source heat pumps meeting a fixed heat demand: entities ``hp_<k>``."""

    schema = SCHEMA

    def __init__(self) -> None:
        super().__init__()
        self.p_kw = np.zeros(0)
        self.q_heat_kw = np.zeros(0)

    def make(self, params: dict[str, Any]) -> dict[str, Any]:
        return parse_params(params, {p.name: p.default for p in PARAMS}, SCHEMA.model)

    def extend(self, groups: list[tuple[dict[str, Any], int]], first: int, eids: list[str]) -> None:
        p_kw = [p_el_kw(**params) for params, n in groups for _ in range(n)]
        q_kw = [params["q_heat_kw"] for params, n in groups for _ in range(n)]
        self.p_kw = np.concatenate([self.p_kw, p_kw])
        self.q_heat_kw = np.concatenate([self.q_heat_kw, q_kw])

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        p_mw = self.p_kw / KW_PER_MW
        return {"p_mw": p_mw, "q_mvar": np.zeros_like(p_mw), "q_heat_kw": self.q_heat_kw}
