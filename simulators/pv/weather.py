"""Weather for the PV simulator: a table of rows held from one row to the next.

Besides a table, the PV simulator knows two weathers by name: ``typical`` (the default, also
chosen by ""; :mod:`simulators.climate`) and ``clear_sky``.

Pure data handling, never imports mosaik. A table comes from a CSV or Parquet file (chosen by
suffix) with these columns; the unit is the last part of each name:

==================  ========  ==========================================================
column              required  meaning
==================  ========  ==========================================================
``ghi_w_per_m2``    yes       global horizontal irradiance [W/m²]
``dni_w_per_m2``    no        direct normal irradiance [W/m²]; give DNI and DHI together
``dhi_w_per_m2``    no        diffuse horizontal irradiance [W/m²]; without both, the
                              PV model splits GHI with the Erbs model
``temp_air_c``      no        air temperature [°C]; without it the sim's constant
``wind_m_per_s``    no        wind speed at module height [m/s]; without it the sim's constant
``t_s``             no        seconds since the start of the run: 0, then uniformly spaced
==================  ========  ==========================================================

Row k applies from ``t_s = k * step_s`` until the next row (zero-order hold, as in the profiles
simulator). Without a ``t_s`` column the spacing is ``step_s`` (the PV sim's ``weather_step_s``,
else its own step).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.timeseries import T_COLUMN, numeric, read_frame, time_step

TYPICAL = "typical"
"""Weather name: the typical year of :mod:`simulators.climate` (the default)."""
CLEAR_SKY = "clear_sky"
"""Weather name: clear sky (Ineichen) every day, at the sim's constant air temperature."""
WEATHER_NAMES = (TYPICAL, CLEAR_SKY)
GHI = "ghi_w_per_m2"
DNI = "dni_w_per_m2"
DHI = "dhi_w_per_m2"
TEMP_AIR = "temp_air_c"
WIND = "wind_m_per_s"

BOUNDS: dict[str, tuple[float, float]] = {
    # irradiance: >= 0; the solar constant is 1361 W/m² and cloud enhancement stays below
    # about 1.9 kW/m² at the ground, so 2000 only rejects wrong units (e.g. J/cm² per hour)
    GHI: (0.0, 2000.0),
    DNI: (0.0, 2000.0),
    DHI: (0.0, 2000.0),
    TEMP_AIR: (-90.0, 70.0),  # the records are -89.2 °C and 56.7 °C; catches kelvin
    WIND: (0.0, 120.0),  # the highest measured gust is 113 m/s
}
"""Allowed values per column, inclusive."""


@dataclass(frozen=True, eq=False)
class WeatherTable:
    """Weather rows ``step_s`` apart, each held until the next (zero-order hold).

    Parameters
    ----------
    columns : mapping of column name to array
        ``ghi_w_per_m2`` and any of the optional columns (module docstring), each of shape
        (n_rows,), n_rows >= 1, finite and within :data:`BOUNDS`; stored read-only.
    step_s : int
        Time between rows [s], > 0.
    source : str
        Where the table came from, for messages.
    """

    columns: Mapping[str, np.ndarray]
    step_s: int
    source: str = "weather table"

    def __post_init__(self) -> None:
        where = f"{self.source}: "
        _check_names(list(self.columns), where)
        if isinstance(self.step_s, bool) or not isinstance(self.step_s, (int, np.integer)):
            raise ConfigError(f"{where}step_s={self.step_s!r} must be a positive int [s]")
        if self.step_s <= 0:
            raise ConfigError(f"{where}step_s={self.step_s!r} must be a positive int [s]")
        frozen: dict[str, np.ndarray] = {}
        for name, raw in self.columns.items():
            try:  # a copy: the caller's array stays writable
                values = np.array(raw, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise ConfigError(f"{where}column {name!r} is not numeric: {err}") from None
            if values.ndim != 1 or values.size == 0 or values.size != len(self.columns[GHI]):
                raise ConfigError(
                    f"{where}column {name!r} has shape {values.shape}; every column must "
                    f"have shape (n_rows,) with the same n_rows >= 1"
                )
            _check_bounds(values, name, where)
            values.flags.writeable = False
            frozen[name] = values
        object.__setattr__(self, "columns", MappingProxyType(frozen))
        object.__setattr__(self, "step_s", int(self.step_s))

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.columns[GHI].size)

    @property
    def duration_s(self) -> int:
        """Time covered: the last row holds until ``n_rows * step_s`` [s] (exclusive)."""
        return self.n_rows * self.step_s

    def at(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Every column's values at the times ``t_s`` [s] (zero-order hold), each (len(t_s),)."""
        t_s = np.asarray(t_s, dtype=np.int64)
        if t_s.size and (t_s.min() < 0 or t_s.max() >= self.duration_s):
            bad = int(t_s.min()) if t_s.min() < 0 else int(t_s.max())
            raise SimulationError(
                f"t_s={bad} is outside {self.source}, which covers t_s 0..{self.duration_s - 1}"
                f" ({self.n_rows} rows x {self.step_s} s)"
            )
        rows = t_s // self.step_s
        return {name: values[rows] for name, values in self.columns.items()}


def read_weather(
    path: str | Path, step_s: int | None = None, default_step_s: int | None = None
) -> WeatherTable:
    """Read a weather table from a CSV or Parquet file (module docstring: columns and units).

    The row spacing is the ``t_s`` column's, else ``step_s``, else ``default_step_s`` [s]. A
    bad file, column or value is a ConfigError naming the file, the column, the row and value.
    """
    path = Path(path)
    source = f"weather file {str(path)!r}"
    where = source + ": "
    frame = read_frame(path, where)
    _check_names([c for c in frame.columns if c != T_COLUMN], where)
    columns = {n: numeric(frame, n, where) for n in frame.columns if n != T_COLUMN}
    for name, values in columns.items():
        _check_bounds(values, name, where)
    step_s = time_step(frame, step_s, where, default_step_s, field="weather_step_s")
    return WeatherTable(columns, step_s, source)


def _check_names(names: list[str], where: str) -> None:
    """Known columns only, GHI among them, DNI and DHI together or not at all."""
    for name in names:
        if name not in BOUNDS:
            raise ConfigError(where + str(unknown("column", name, [*BOUNDS, T_COLUMN])))
    if GHI not in names:
        raise ConfigError(f"{where}column {GHI!r} is required; given: {names}")
    if (DNI in names) != (DHI in names):
        given, missing = (DNI, DHI) if DNI in names else (DHI, DNI)
        raise ConfigError(
            f"{where}column {given!r} needs {missing!r} too; give both or neither "
            f"(without them GHI is split into DNI and DHI with the Erbs model)"
        )


def _check_bounds(values: np.ndarray, name: str, where: str) -> None:
    low, high = BOUNDS[name]
    bad = ~((values >= low) & (values <= high))  # NaN is bad too
    if bad.any():
        row = int(np.argmax(bad))
        raise ConfigError(
            f"{where}column {name!r} row {row}: value {values[row]:g} is outside "
            f"[{low:g}, {high:g}]"
        )
