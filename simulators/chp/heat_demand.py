"""Heat demand of CHP sites: a synthetic BDEW SigLinDe profile or a CSV/Parquet table.

Pure data handling, never imports mosaik. Heat demand is thermal power drawn by the building
(``p_heat_demand_mw >= 0`` [MW thermal]).

Synthetic demand (deterministic): the daily mean outdoor temperature of the typical year that
every unit of a run shares (:func:`simulators.climate.daily_temperature_c`, a sinusoid fitted
to the DWD 1991-2020 normals [3]_; the PV simulator's default weather adds its diurnal cycle);
BDEW's 4-day geometric series turns it into the allocation temperature, the SigLinDe function
of a BDEW household standard load profile [1]_ [2]_ gives each day's share of the annual
demand, and a fixed 24-hour shape spreads each day over its hours. The year has 365 days and
repeats; a scenario's ``start`` picks the day and hour it begins at.

File demand: a CSV or Parquet file with an optional ``t_s`` column [s] (else rows are the
simulator's ``step_s`` apart) and value columns in MW thermal, held from one row to the next
(zero-order hold, like :mod:`simulators.profiles`).

References
----------
.. [1] BDEW/VKU/GEODE, "Leitfaden Abwicklung von Standardlastprofilen Gas", Berlin,
   30 June 2016, SigLinDe coefficients (HEF33 p. 133, HMF33 p. 134).
.. [2] M. Hellwig, "Entwicklung und Anwendung parametrisierter Standard-Lastprofile",
   PhD thesis, TU München, 2003 (the sigmoid profile method BDEW adopted).
.. [3] Deutscher Wetterdienst, Klimanormalwerte 1991-2020, Deutschland-Gebietsmittel of the
   air temperature: year 9.3 degC, January about 0.9 degC, July about 18.3 degC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cosim.core.errors import ConfigError, SimulationError
from cosim.core.timeseries import T_COLUMN, numeric, read_frame, time_step
from cosim.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from simulators.climate import DAYS_PER_YEAR, daily_temperature_c

SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY

THETA0_C = 40.0
"""Reference temperature of the SigLinDe sigmoid [degC] [1]_."""

SLP_COEFFICIENTS: dict[str, tuple[float, float, float, float, float, float, float, float]] = {
    # A, B, C, D, mH, bH, mW, bW of BDEW SigLinDe, "Ausprägung 33" [1]_:
    # HEF33: household, single-family house; HMF33: household, multi-family house.
    "HEF33": (1.6209544, -37.1833141, 5.6727847, 0.0716431, -0.0495700, 0.8401015, -0.0022090,
              0.1074468),
    "HMF33": (1.2328655, -34.7213605, 5.8164304, 0.0873352, -0.0409284, 0.7672920, -0.0022320,
              0.1199207),
}  # fmt: skip

GEOMETRIC_WEIGHTS = (1.0, 0.5, 0.25, 0.125)
"""BDEW allocation temperature: weights of the mean temperature of day D, D-1, D-2, D-3 [1]_."""

_HOUR_WEIGHTS = np.array(
    [0.75, 0.72, 0.70, 0.70, 0.74, 0.88, 1.15, 1.30, 1.25, 1.15, 1.08, 1.03,
     1.00, 0.98, 0.98, 1.00, 1.06, 1.14, 1.20, 1.20, 1.14, 1.04, 0.92, 0.82]
)  # fmt: skip
HOUR_SHAPE = _HOUR_WEIGHTS / _HOUR_WEIGHTS.mean()
"""Hours 0-23 of a residential heating day, relative to the day's mean (mean 1). An assumption,
not BDEW's table (whose residential hour factors also depend on the temperature class): night
set-back, a morning peak at 7 h and an evening plateau, the shape those factors have."""


def allocation_temperature_c(daily_c: np.ndarray) -> np.ndarray:
    """BDEW's allocation temperature: the geometric series over day D and the 3 before [1]_.

    The year is periodic, so 1 January looks back to 29-31 December [degC].
    """
    weights = np.asarray(GEOMETRIC_WEIGHTS)
    total = sum(w * np.roll(daily_c, k) for k, w in enumerate(weights))
    return np.asarray(total / weights.sum())


def siglinde_h(theta_c: np.ndarray | float, slp: str) -> np.ndarray:
    """The SigLinDe h-value of a BDEW profile at the allocation temperature ``theta_c`` [-].

    ``h = A / (1 + (B / (theta - 40))^C) + D + max(mH theta + bH, mW theta + bW)`` [1]_; it is
    about 1 at 8 degC by BDEW's construction (the customer value is the daily use at 8 degC).
    """
    a, b, c, d, m_h, b_h, m_w, b_w = SLP_COEFFICIENTS[slp]
    theta = np.asarray(theta_c, dtype=np.float64)
    sigmoid = a / (1.0 + (b / (theta - THETA0_C)) ** c) + d
    return np.asarray(sigmoid + np.maximum(m_h * theta + b_h, m_w * theta + b_w))


def annual_fractions(slp: str) -> np.ndarray:
    """Each hour's share of the annual heat demand, shape (8760,), summing to 1 [-]."""
    h_day = siglinde_h(allocation_temperature_c(daily_temperature_c()), slp)
    day_share = h_day / h_day.sum()
    return (day_share[:, None] * (HOUR_SHAPE / 24.0)[None, :]).ravel()


@dataclass(frozen=True, eq=False)
class AnnualProfile:
    """A periodic 365-day profile of hourly energy fractions, averaged exactly over any step.

    Parameters
    ----------
    fractions : numpy.ndarray
        Share of the annual energy in each hour of the year, shape (8760,), sum 1 [-].
    """

    fractions: np.ndarray
    _cumulative: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        cumulative = np.concatenate(([0.0], np.cumsum(self.fractions)))
        object.__setattr__(self, "_cumulative", cumulative)

    def _share_until(self, s: int) -> float:
        """Share of the annual energy from the profile's start to second ``s`` [-]."""
        years, within = divmod(int(s), SECONDS_PER_YEAR)
        hour, second = divmod(within, int(SECONDS_PER_HOUR))
        tail = self.fractions[hour] * second / SECONDS_PER_HOUR
        return years * float(self._cumulative[-1]) + float(self._cumulative[hour]) + tail

    def mean_share_per_h(self, s_from: int, dt_s: int) -> float:
        """Mean share of the annual energy per hour over ``[s_from, s_from + dt_s)`` [1/h]."""
        share = self._share_until(s_from + dt_s) - self._share_until(s_from)
        return share * SECONDS_PER_HOUR / dt_s


@dataclass(frozen=True, eq=False)
class HeatTable:
    """Heat demand columns read from a file: row k holds from ``k * step_s`` [s].

    Parameters
    ----------
    source : str
        Where it came from, for messages.
    names : tuple of str
        Value column names (entity ids like ``chp_3``, or one column for every unit).
    values : numpy.ndarray
        Shape (n_rows, len(names)), finite and >= 0 [MW thermal].
    step_s : int
        Time between rows [s].
    """

    source: str
    names: tuple[str, ...]
    values: np.ndarray
    step_s: int

    def columns_for(self, eids: list[str]) -> np.ndarray:
        """The column of each entity: its own by name, or the single column for all."""
        if len(self.names) == 1:
            return np.zeros(len(eids), dtype=np.int64)
        missing = [eid for eid in eids if eid not in self.names]
        if missing:
            raise ConfigError(
                f"heat_demand {self.source!r}: no column for {missing}; a file with several "
                f"columns needs one per entity id, it has {list(self.names)}"
            )
        return np.array([self.names.index(eid) for eid in eids], dtype=np.int64)

    def rows_at(self, t_s: int) -> np.ndarray:
        """The row that applies at ``t_s`` [s] (zero-order hold), shape (len(names),) [MW]."""
        row = t_s // self.step_s
        if not 0 <= row < self.values.shape[0]:
            raise SimulationError(
                f"t_s={t_s} is outside heat_demand {self.source!r}, which covers t_s 0.."
                f"{self.values.shape[0] * self.step_s - 1} ({self.values.shape[0]} rows x "
                f"{self.step_s} s)"
            )
        return self.values[row]


def read_heat_table(path: str | Path, default_step_s: int) -> HeatTable:
    """Read heat demand [MW thermal] from a CSV or Parquet file (chosen by suffix).

    Value columns: one for every unit that uses the file, or one per unit named by its entity
    id (``chp_0``). An optional ``t_s`` column [s] must start at 0 and rise uniformly; without
    it rows are ``default_step_s`` apart. Values must be finite and >= 0.
    """
    path = Path(path)
    where = f"heat_demand file {str(path)!r}: "
    frame = read_frame(path, where)
    names = tuple(c for c in frame.columns if c != T_COLUMN)
    if not names:
        raise ConfigError(f"{where}has no heat demand column, only {list(frame.columns)}")
    step_s = time_step(frame, None, where, default_step_s)
    values = np.empty((len(frame), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        values[:, j] = numeric(frame, name, where)
        if (values[:, j] < 0).any():
            row = int(np.argmax(values[:, j] < 0))
            raise ConfigError(
                f"{where}column {name!r} row {row}: value {values[row, j]:g} is negative; "
                "heat demand must be >= 0 [MW]"
            )
    values.flags.writeable = False
    return HeatTable(str(path), names, values, step_s)


class HeatDemand:
    """The heat demand of every unit of a simulator, assembled from a few sources per step.

    Units with a synthetic demand are grouped by profile, units with a file by file, so a
    step costs one numpy operation per group, never one per unit.

    Parameters
    ----------
    offset_s : int
        Seconds from 1 January 00:00 of the start year to the scenario's ``t_s = 0`` [s].
    """

    def __init__(self, offset_s: int) -> None:
        self.offset_s = int(offset_s)
        self.n = 0
        self._profiles: dict[str, AnnualProfile] = {}
        self._synthetic: dict[str, tuple[list[int], list[float]]] = {}
        self._tables: dict[int, tuple[HeatTable, list[int], list[int]]] = {}
        self._frozen: list[tuple[object, np.ndarray, np.ndarray]] = []

    def add_synthetic(self, positions: range, e_annual_mwh: float, slp: str) -> None:
        """Units at ``positions`` follow profile ``slp`` scaled to ``e_annual_mwh`` [MWh/a]."""
        if slp not in self._profiles:
            self._profiles[slp] = AnnualProfile(annual_fractions(slp))
        pos, scale = self._synthetic.setdefault(slp, ([], []))
        pos.extend(positions)
        scale.extend([e_annual_mwh] * len(positions))
        self._grow(positions)

    def add_table(self, positions: range, eids: list[str], table: HeatTable) -> None:
        """Units at ``positions`` (entity ids ``eids``) read their column of ``table``."""
        columns = table.columns_for(eids)
        _, pos, cols = self._tables.setdefault(id(table), (table, [], []))
        pos.extend(positions)
        cols.extend(columns.tolist())
        self._grow(positions)

    def _grow(self, positions: range) -> None:
        self.n = max(self.n, positions.stop)
        self._frozen = [
            *(
                (self._profiles[slp], np.array(p), np.array(s))
                for slp, (p, s) in self._synthetic.items()
            ),
            *((table, np.array(p), np.array(c)) for table, p, c in self._tables.values()),
        ]

    def at(self, t_s: int, dt_s: int) -> np.ndarray:
        """Heat demand of every unit over ``[t_s, t_s + dt_s)``, shape (n,) [MW thermal].

        Synthetic profiles give the exact mean over the step; files the row at ``t_s``.
        """
        out = np.zeros(self.n)
        for source, positions, how in self._frozen:
            if isinstance(source, AnnualProfile):
                out[positions] = how * source.mean_share_per_h(self.offset_s + t_s, dt_s)
            else:
                assert isinstance(source, HeatTable)
                out[positions] = source.rows_at(t_s)[how]
        return out
