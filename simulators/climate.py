"""The weather every unit of a run shares: a typical German year at the scenario's site.

Pure data, never imports mosaik. Two quantities, both periodic over a 365-day year:

- the **clear-sky index** ``k = GHI / GHI_clear`` of each hour of the year [-], shipped in
  ``simulators/data/clear_sky_index.csv`` and derived (:mod:`simulators.data.clear_sky_index`)
  from SimBench's PV profiles of 2016 [1]_ (the same weather as the SimBench grids' own PV),
  scaled so that the year's global horizontal irradiation at the default site (Berlin) is
  the DWD long-term German mean of 1055 kWh/m² [2]_. The PV simulator multiplies it into the
  Ineichen clear-sky GHI of each unit's site and splits the result with the Erbs model;
- the **air temperature** [°C]: a daily mean from the DWD 1991-2020 normals [3]_ (a sinusoid
  through the annual mean and the January and July means) plus a diurnal cycle, minimum about
  02:00 and maximum about 14:00 UTC (15:00 CET), whose range grows from ``DTR_WINTER_K`` in
  mid-January to ``DTR_SUMMER_K`` in mid-July (the difference of the mean daily maximum and
  minimum of the DWD 1991-2020 normals at Berlin-Dahlem, rounded [3]_). The diurnal cycle
  averages to zero over every day, so a unit that reads daily means (the CHP's heat demand)
  sees the same temperature as one that reads hourly values (the PV cell temperature).

The tables' clock is UTC (``TABLE_TZ``); times in other zones are converted before the lookup.
Hours of a year count from 1 January 00:00; the hours after the 365th day of a leap year
repeat the first day.

References
----------
.. [1] S. Meinecke et al., "SimBench - A Benchmark Dataset of Electric Power Systems to Compare
   Innovative Solutions Based on Power Flow Analysis", Energies 13(12), 3290, 2020 (profiles
   of the year 2016, 15-minute resolution).
.. [2] Deutscher Wetterdienst, "Globalstrahlung in der Bundesrepublik Deutschland", annual sum
   of the global radiation, area mean 1981-2010: 1055 kWh/m².
.. [3] Deutscher Wetterdienst, Klimanormalwerte 1991-2020: Deutschland-Gebietsmittel of the air
   temperature (year 9.3 °C, January about 0.9 °C, July about 18.3 °C) and the mean daily
   maximum and minimum at Berlin-Dahlem (range about 5 K in January, 10 K in July).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.core.units import SECONDS_PER_HOUR

DAYS_PER_YEAR = 365
HOURS_PER_YEAR = DAYS_PER_YEAR * 24
TABLE_TZ = "UTC"
"""Clock of the tables (:mod:`simulators.data.clear_sky_index`: SimBench's PV labels are UTC)."""
CLEAR_SKY_INDEX_FILE = Path(__file__).parent / "data" / "clear_sky_index.csv"
CLEAR_SKY_INDEX = "clear_sky_index"
"""The file's one column: the clear-sky index of hours 0..8759 of the year [-]."""

T_MEAN_C = 9.3
"""Annual mean air temperature of Germany, DWD normals 1991-2020 [°C] [3]_."""
T_AMPLITUDE_K = 8.7
"""Half the January-July difference of the DWD 1991-2020 monthly normals, (18.3 - 0.9) / 2 [K]."""
T_COLDEST_DAY = 15
"""Day of year (0 = 1 January) of the sinusoid's minimum: mid-January, the coldest month [3]_."""
DTR_WINTER_K = 5.0
"""Diurnal temperature range in mid-January [K] [3]_."""
DTR_SUMMER_K = 10.0
"""Diurnal temperature range in mid-July [K] [3]_."""
T_MAX_HOUR = 14.0
"""Hour of the day (UTC) of the diurnal maximum, 15:00 CET; the minimum is 12 h earlier."""


def daily_temperature_c() -> np.ndarray:
    """Daily mean air temperature of the typical year, shape (365,) [°C].

    ``T(d) = T_MEAN_C - T_AMPLITUDE_K * cos(2 pi (d - T_COLDEST_DAY) / 365)`` [3]_.
    """
    return _seasonal(np.arange(DAYS_PER_YEAR, dtype=np.float64), T_MEAN_C, T_AMPLITUDE_K)


def diurnal_range_k(day: np.ndarray) -> np.ndarray:
    """Diurnal temperature range on day ``day`` (0 = 1 January, may be fractional) [K]."""
    mean_k = (DTR_SUMMER_K + DTR_WINTER_K) / 2
    return _seasonal(day, mean_k, (DTR_SUMMER_K - DTR_WINTER_K) / 2)


def _seasonal(day: np.ndarray, mean: float, amplitude: float) -> np.ndarray:
    """A yearly sinusoid with its minimum on ``T_COLDEST_DAY``."""
    return mean - amplitude * np.cos(2 * np.pi * (day - T_COLDEST_DAY) / DAYS_PER_YEAR)


@functools.cache
def clear_sky_index() -> np.ndarray:
    """The clear-sky index of hours 0..8759 of the typical year, read-only, shape (8760,) [-]."""
    values = pd.read_csv(CLEAR_SKY_INDEX_FILE)[CLEAR_SKY_INDEX].to_numpy(dtype=np.float64)
    if values.shape != (HOURS_PER_YEAR,) or not np.isfinite(values).all() or values.min() < 0:
        raise ValueError(f"{CLEAR_SKY_INDEX_FILE} must hold {HOURS_PER_YEAR} finite values >= 0")
    values.flags.writeable = False
    return values


def hours_of_year(times: pd.DatetimeIndex) -> np.ndarray:
    """Hours since 1 January 00:00 (table clock) of each time's year [h], as floats in
    [0, 8760): the hours past the 365th day of a leap year wrap to the first day."""
    local = times.tz_convert(TABLE_TZ) if times.tz is not None else times
    year_start = pd.to_datetime(local.year.astype(str) + "-01-01").tz_localize(local.tz)
    hours = (local - year_start).total_seconds().to_numpy() / SECONDS_PER_HOUR
    return np.asarray(hours % HOURS_PER_YEAR, dtype=np.float64)


def clear_sky_index_at(times: pd.DatetimeIndex) -> np.ndarray:
    """The clear-sky index of the hour each time falls in [-], shape (len(times),)."""
    return clear_sky_index()[hours_of_year(times).astype(np.int64)]


def air_temperature_c(times: pd.DatetimeIndex) -> np.ndarray:
    """Air temperature of the typical year at ``times`` [°C]: daily mean plus diurnal cycle."""
    hours = hours_of_year(times)
    day = hours // 24
    hour_of_day = hours - 24 * day
    daily = daily_temperature_c()[day.astype(np.int64)]
    swing = diurnal_range_k(day) / 2 * np.cos(2 * np.pi * (hour_of_day - T_MAX_HOUR) / 24)
    return np.asarray(daily + swing)
