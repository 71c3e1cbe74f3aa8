"""The PV fleet's available power computed ahead, a chunk of steps at a time.

A pvlib chain call costs milliseconds however many steps it covers, so calling it every step
would dominate a year-long run (35,040 steps at 15 min). :class:`AvailablePower` computes the
chain for ``chunk_steps`` steps at once and then only indexes into the result; a time outside
the current chunk (the next chunk, or a jump) starts a new one there. The first chunk holds
:data:`FIRST_CHUNK_STEPS` steps and each next one twice as many, up to ``chunk_steps``: a
short run computes little it does not play, a long one few chunks. Every value is computed
per time step, so the chunking never changes a value. Pure, never imports mosaik.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cosim.core.errors import ConfigError, SimulationError
from simulators import climate
from simulators.pv import model
from simulators.pv.weather import CLEAR_SKY, TEMP_AIR, TYPICAL, WIND, WeatherTable

FIRST_CHUNK_STEPS = 24
"""Steps of the first chunk (6 h at 15 min); each next chunk doubles, up to ``chunk_steps``."""


class AvailablePower:
    """Available power, POA irradiance and cell temperature of ``fleet`` at the step times.

    Parameters
    ----------
    fleet : model.Fleet
        The units.
    start : pandas.Timestamp
        Date and time of t_s = 0, tz-aware.
    step_s : int
        Time between steps [s]; chunks are laid on the grid ``t0 + k * step_s``.
    chunk_steps : int
        Steps per chunk, > 0.
    weather : WeatherTable or str
        Weather rows (zero-order hold); ``"clear_sky"``: clear sky at each unit's location;
        ``"typical"``: the typical year of :mod:`simulators.climate` (clear-sky index and air
        temperature).
    temp_air_c, wind_m_per_s : float
        Air temperature [°C] and wind speed [m/s] where the weather has no such column.
    transposition : str
        Sky diffuse model of the POA irradiance, one of ``model.TRANSPOSITIONS``.
    """

    def __init__(
        self,
        fleet: model.Fleet,
        start: pd.Timestamp,
        step_s: int,
        chunk_steps: int,
        weather: WeatherTable | str,
        temp_air_c: float,
        wind_m_per_s: float,
        transposition: str,
    ) -> None:
        if start.tzinfo is None:
            raise ConfigError(f"start={start!s} must be tz-aware")
        if isinstance(weather, str) and weather not in (TYPICAL, CLEAR_SKY):
            raise ConfigError(
                f"weather={weather!r} must be a WeatherTable, {TYPICAL!r} or {CLEAR_SKY!r}"
            )
        self.fleet, self.start, self.step_s = fleet, start, step_s
        self.chunk_steps, self.weather = chunk_steps, weather
        self.temp_air_c, self.wind_m_per_s = temp_air_c, wind_m_per_s
        self.transposition = transposition
        self.chunks_computed = 0
        self._t0 = 0
        self._output: model.Output | None = None

    def at(self, t_s: int) -> model.Output:
        """The values at ``t_s`` [s], each of shape (n_units,) (read-only views)."""
        out = self._output
        k, rest = divmod(t_s - self._t0, self.step_s)
        if out is None or rest or not 0 <= k < len(out.p_available_mw):
            out = self._compute(t_s)
            k = 0
        return model.Output(out.poa_w_per_m2[k], out.temp_cell_c[k], out.p_available_mw[k])

    def _compute(self, t0: int) -> model.Output:
        """Compute the chunk that starts at ``t0`` [s] (shorter at the weather table's end)."""
        if t0 < 0:
            raise SimulationError(f"t_s={t0} is before the start (t_s = 0)")
        n = min(self.chunk_steps, FIRST_CHUNK_STEPS << min(self.chunks_computed, 16))
        if isinstance(self.weather, WeatherTable):
            if t0 >= self.weather.duration_s:
                self.weather.at(np.array([t0]))  # raises the SimulationError naming the table
            n = min(n, -(-(self.weather.duration_s - t0) // self.step_s))  # ceil division
        t_s = t0 + self.step_s * np.arange(n, dtype=np.int64)
        times = self.start + pd.to_timedelta(t_s, unit="s")
        if isinstance(self.weather, WeatherTable):
            rows = self.weather.at(t_s)
        elif self.weather == TYPICAL:
            rows = {
                model.CLEAR_SKY_INDEX: climate.clear_sky_index_at(times),
                TEMP_AIR: climate.air_temperature_c(times),
            }
        else:
            rows = {}
        temp_air_c = rows.pop(TEMP_AIR, np.full(n, self.temp_air_c))
        wind_m_per_s = rows.pop(WIND, np.full(n, self.wind_m_per_s))
        irradiance = rows or None  # GHI (and DNI, DHI) or the clear-sky index, or clear sky
        out = model.simulate(
            self.fleet, times, temp_air_c, wind_m_per_s, irradiance, self.transposition
        )
        for values in out:
            values.flags.writeable = False
        self._t0, self._output = t0, out
        self.chunks_computed += 1
        return out
