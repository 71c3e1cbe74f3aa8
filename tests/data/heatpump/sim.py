"""mosaik adapter of the heat pump: one entity per unit, outputs its grid load and its heat."""

from __future__ import annotations

from typing import Any

import mosaik_api_v3

from cosim.core.errors import ConfigError
from cosim.core.simapi import (
    DEFAULT_STEP_S,
    Attr,
    Param,
    check_init,
    check_num,
    model_meta,
    parse_params,
    sim_meta,
)
from cosim.core.units import KW_PER_MW
from heatpump.model import p_el_kw

MODEL = "HeatPump"
ATTRS = (
    Attr("p_mw", "MW", "electric power drawn (load sign)"),
    Attr("q_mvar", "Mvar", "reactive power drawn (none)"),
    Attr("q_heat_kw", "kW", "heat delivered"),
)
PARAMS = (
    Param("q_heat_kw", "float", "kW", 8.0, "heat demand met every step"),
    Param("t_supply_c", "float", "°C", 55.0, "supply temperature of the heating water"),
    Param("t_outdoor_c", "float", "°C", 7.0, "outdoor air temperature"),
    Param("carnot_frac", "float", "-", 0.45, "fraction of the Carnot COP reached"),
)
META = sim_meta({MODEL: model_meta(ATTRS, params=PARAMS)})


class HeatPumpSim(mosaik_api_v3.Simulator):
    """Air-source heat pumps meeting a fixed heat demand: entities ``hp_<k>``."""

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self._units: dict[str, dict[str, float]] = {}

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Any:
        self.step_s, _ = check_init(time_resolution, sim_params)
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[Any]:
        if model != MODEL:
            raise ConfigError(f"model={model!r} is unknown; known: [{MODEL!r}]")
        params = parse_params(model_params, {p.name: p.default for p in PARAMS}, MODEL)
        p_kw = p_el_kw(**params)
        created = []
        for _ in range(check_num(num)):
            eid = f"hp_{len(self._units)}"
            self._units[eid] = {
                "p_mw": p_kw / KW_PER_MW,
                "q_mvar": 0.0,
                "q_heat_kw": params["q_heat_kw"],
            }
            created.append({"eid": eid, "type": MODEL, "rel": []})
        return created

    def step(self, time: int, inputs: Any, max_advance: int) -> int:
        return time + self.step_s

    def get_data(self, outputs: Any) -> Any:
        return {eid: {a: self._units[eid][a] for a in attrs} for eid, attrs in outputs.items()}
