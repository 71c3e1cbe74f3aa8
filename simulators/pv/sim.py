"""mosaik adapter of the PV model (:mod:`simulators.adapter`); no physics.

Entities ``pv_0``, ``pv_1``, ... (model ``PV``), one per unit, in creation order, or
``PVFleet`` entities of many units. Sign (pandapower sgen): ``p_mw > 0`` injects into the grid,
``q_mvar > 0`` injects reactive power (overexcited). Connect ``p_mw`` and ``q_mvar`` to a grid
``Sgen``; feed ``vm_pu`` back from its bus with a time-shifted connection (Q(U) then acts on
the previous step's voltage).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.simapi import Attr, Param, params_of, positive_int
from simulators.adapter import Given, Input, Schema, UnitSim, units_of
from simulators.pv.chunks import AvailablePower
from simulators.pv.model import (
    DEFAULT_SITE,
    TRANSPOSITIONS,
    Fleet,
    Params,
    check_number,
    dispatch,
    params_from,
)
from simulators.pv.weather import BOUNDS, TEMP_AIR, TYPICAL, WEATHER_NAMES, WIND, read_weather

P_MAX_MW = Attr(
    "p_max_mw", "MW", "input: curtailment set point; several sources: the lowest; absent: none"
)
VM_PU = Attr("vm_pu", "pu", "input: voltage at the unit's bus, used by Q(U); absent: 1.0")
P_MW = Attr("p_mw", "MW", "active power delivered after curtailment; sgen sign: > 0 injects")
Q_MVAR = Attr("q_mvar", "Mvar", "reactive power; sgen sign: > 0 injects (overexcited)")
P_AVAILABLE_MW = Attr("p_available_mw", "MW", "AC power the weather allows, before curtailment")
P_CURTAILED_MW = Attr("p_curtailed_mw", "MW", "p_available_mw - p_mw, >= 0")
POA_W_PER_M2 = Attr("poa_w_per_m2", "W/m²", "global irradiance on the plane of the modules")
TEMP_CELL_C = Attr("temp_cell_c", "°C", "cell temperature (Faiman model)")
INPUTS = (P_MAX_MW, VM_PU)
OUTPUTS = (P_MW, Q_MVAR, P_AVAILABLE_MW, P_CURTAILED_MW, POA_W_PER_M2, TEMP_CELL_C)

SIM_DEFAULTS: dict[str, Any] = {
    "tz": "UTC",
    "weather": "",
    "weather_step_s": None,
    **DEFAULT_SITE,
    "temp_air_c": 20.0,  # NOCT conditions (IEC 61215): 20 °C air, 1 m/s wind
    "wind_m_per_s": 1.0,
    "transposition": "perez",
    "chunk_steps": 672,  # one week at 15 min
}
"""The PV sim's own sim params and their defaults (:class:`PVSim`)."""

SCHEMA = Schema(
    "PV",
    "pv_",
    params_of(Params),
    (  # the strictest set point wins; checked in PVSim.advance
        Input(P_MAX_MW, np.inf, "min", checked=False),
        Input(VM_PU, 1.0, "one", checked=False),
    ),
    OUTPUTS,
    sim_params=tuple(Param(k, "", "", v, "") for k, v in SIM_DEFAULTS.items()),
    sim_param_label="PV sim parameter",
)
META = SCHEMA.meta()


def _start(start: datetime, tz: object) -> pd.Timestamp:
    """``start`` as a tz-aware Timestamp: a naive date and time is taken in ``tz`` (in a DST
    gap or fold, with the offset before the change), one with an offset is converted to it."""
    try:
        zone = ZoneInfo(str(tz)) if isinstance(tz, str) else None
    except (KeyError, ValueError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise ConfigError(
            f"tz={tz!r} is not a known time zone (e.g. 'UTC' or 'Europe/Berlin'): {err}"
        ) from None
    if zone is None:
        raise ConfigError(f"tz={tz!r} must be a string, e.g. 'UTC' or 'Europe/Berlin'")
    aware = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    return pd.Timestamp(aware)


class PVSim(UnitSim[Params]):
    """PV systems: available power from the weather (pvlib), curtailment, reactive power.

    Sim params (``init``), defaults in :data:`SIM_DEFAULTS`:

    - ``step_s`` [s]: the stepping interval (900);
    - ``start``, ``tz``: date and time of t_s = 0 and its time zone ("UTC"); a ``start`` with
      an offset is converted to ``tz``;
    - ``weather``: "" or ``"typical"`` (default) for the typical German year of
      :mod:`simulators.climate` (clear-sky index and air temperature; the CHP's heat demand
      reads the same temperature), ``"clear_sky"`` for clear sky (Ineichen) every day at each
      unit's location, or a CSV/Parquet path (columns in :mod:`simulators.pv.weather`);
      ``weather_step_s`` [s]: a file's row spacing when it has no ``t_s`` column (default:
      ``step_s``);
    - ``latitude_deg``, ``longitude_deg``, ``altitude_m``: the site, each unit's default
      (Berlin); a unit's own value overrides it;
    - ``temp_air_c`` [°C], ``wind_m_per_s`` [m/s]: used where the weather has no such column
      (20 °C and 1 m/s: the NOCT conditions);
    - ``transposition``: sky diffuse model, "perez" (default), "haydavies" or "isotropic";
    - ``chunk_steps``: steps computed ahead at once (672: a week at 15 min).

    Model ``PV``: its params are :class:`simulators.pv.model.Params`.
    """

    schema = SCHEMA

    def __init__(self) -> None:
        super().__init__()
        self.site: dict[str, float] = dict(DEFAULT_SITE)
        self.units: list[Params] = []
        self.fleet = Fleet([])
        self.power: AvailablePower | None = None
        self._settings: dict[str, Any] = {}

    def read_params(self, params: dict[str, Any]) -> None:
        """The site, weather, default air temperature and wind, transposition, chunks."""
        start = _start(self.start, params["tz"])
        for name in DEFAULT_SITE:
            self.site[name] = check_number(name, params[name])
        for name, column in (("temp_air_c", TEMP_AIR), ("wind_m_per_s", WIND)):
            low, high = BOUNDS[column]
            value = params[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name}={value!r} must be a number")
            if not low <= value <= high:
                raise ConfigError(f"{name}={value!r} must be in [{low:g}, {high:g}]")
        if params["transposition"] not in TRANSPOSITIONS:
            raise unknown("transposition", params["transposition"], TRANSPOSITIONS)
        weather_step_s = params["weather_step_s"]
        if weather_step_s is not None:
            weather_step_s = positive_int("weather_step_s", weather_step_s)
        weather = params["weather"]
        if not isinstance(weather, str):
            raise ConfigError(
                f"weather={weather!r} must be '' or one of {list(WEATHER_NAMES)} or a file path"
            )
        weather = weather or TYPICAL
        table = (
            weather
            if weather in WEATHER_NAMES
            else read_weather(weather, weather_step_s, self.step_s)
        )
        self._settings = {
            "start": start,
            "step_s": self.step_s,
            "chunk_steps": positive_int("chunk_steps", params["chunk_steps"], ""),
            "weather": table,
            "temp_air_c": float(params["temp_air_c"]),
            "wind_m_per_s": float(params["wind_m_per_s"]),
            "transposition": params["transposition"],
        }

    def make(self, params: dict[str, Any]) -> Params:
        """Params of one unit; the site fills in the location."""
        return params_from({**self.site, **params})

    def extend(self, groups: list[tuple[Params, int]], first: int, eids: list[str]) -> None:
        """Append the units; their available power is computed ahead from now on."""
        self.units += units_of(groups)
        self.fleet = Fleet(self.units)
        self.power = AvailablePower(self.fleet, **self._settings) if self._settings else None

    def not_ready(self) -> str | None:
        """Without init and create there is no available power to look up."""
        return "step() before init() and create(): no PV units" if self.power is None else None

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        """Look up the available power at ``time``, then curtail and set Q for all units."""
        assert self.power is not None
        now = self.power.at(time)
        p_max_mw, vm_pu = given["p_max_mw"][0], given["vm_pu"][0]
        if np.isnan(p_max_mw).any() or not np.isfinite(vm_pu).all():
            bad = int(np.argmax(np.isnan(p_max_mw) | ~np.isfinite(vm_pu)))
            raise SimulationError(
                f"t_s={time}: {self.eids[bad]} got p_max_mw={p_max_mw[bad]}, "
                f"vm_pu={vm_pu[bad]}; p_max_mw must not be NaN and vm_pu must be finite"
            )
        p_mw, q_mvar, p_curtailed_mw = dispatch(now.p_available_mw, p_max_mw, vm_pu, self.fleet)
        return {
            "p_mw": p_mw,
            "q_mvar": q_mvar,
            "p_available_mw": now.p_available_mw,
            "p_curtailed_mw": p_curtailed_mw,
            "poa_w_per_m2": now.poa_w_per_m2,
            "temp_cell_c": now.temp_cell_c,
        }
