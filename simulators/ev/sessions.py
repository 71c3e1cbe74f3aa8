"""Charging sessions: when each EV is plugged in at home and with what state of charge.

A session is (arrival t_s, departure t_s, SoC at arrival) [s, s, -], with t_s in seconds since
the scenario start. Sessions come from a CSV file or from a seeded generator
(``params.MobilityParams``); either way they are held in a ``SessionTable``: padded 2-D arrays
with one row per EV and its sessions in time order, so that a step looks up every EV's current
session with one indexing operation. The generator produces sessions lazily, four weeks at a
time, in the same order whatever the step size: the same seed gives the same sessions.

Each session's SoC at arrival is fixed in advance (as in recorded session data): a shortfall
at one departure does not lower the next arrival's SoC, it is counted as unmet energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri  # type: ignore[import-untyped]

from cosim.core.errors import ConfigError
from cosim.core.timeseries import to_floats
from cosim.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from simulators.ev.params import (
    ARRIVAL_MAX_H,
    DEPARTURE_MAX_H,
    DEPARTURE_MIN_H,
    MIN_AWAY_H,
    EVParams,
    MobilityParams,
)

NEVER_S = 2**62
"""Arrival and departure of the padding after an EV's last session: never [s]."""
BLOCK_DAYS = 28
"""The generator produces this many days at a time."""
SOC_ARRIVAL_MIN_FRAC = 0.1
"""A generated arrival SoC is not below this: longer trips include a charge on the way."""
ENERGY_COLUMNS = ("e_needed_mwh", "soc_arrival_frac")
CSV_COLUMNS = ("ev", "arrival_t_s", "departure_t_s", *ENERGY_COLUMNS)


class SessionTable:
    """Sessions of all EVs: row i holds EV i's sessions in time order, then NEVER_S padding."""

    def __init__(self) -> None:
        self.arrival_t_s = np.full((0, 1), NEVER_S, dtype=np.int64)
        self.departure_t_s = np.full((0, 1), NEVER_S, dtype=np.int64)
        self.soc_arrival_frac = np.zeros((0, 1))
        self.count = np.zeros(0, dtype=np.int64)

    @property
    def n_ev(self) -> int:
        """Number of EVs (rows)."""
        return int(self.count.size)

    def add_evs(self, num: int) -> None:
        """Append ``num`` EVs without sessions."""
        width = self.arrival_t_s.shape[1]
        self.arrival_t_s = np.vstack([self.arrival_t_s, np.full((num, width), NEVER_S)])
        self.departure_t_s = np.vstack([self.departure_t_s, np.full((num, width), NEVER_S)])
        self.soc_arrival_frac = np.vstack([self.soc_arrival_frac, np.zeros((num, width))])
        self.count = np.concatenate([self.count, np.zeros(num, dtype=np.int64)])

    def append(
        self, ev: np.ndarray, arrival_t_s: np.ndarray, departure_t_s: np.ndarray, soc: np.ndarray
    ) -> None:
        """Add sessions after each EV's last one (validated by the caller: no overlaps)."""
        if ev.size == 0:
            return
        order = np.lexsort((arrival_t_s, ev))
        ev, arrival_t_s = ev[order], arrival_t_s[order]
        departure_t_s, soc = departure_t_s[order], soc[order]
        new = np.bincount(ev, minlength=self.n_ev)
        first = np.cumsum(new) - new
        col = self.count[ev] + np.arange(ev.size) - np.repeat(first, new)
        last = self.count - 1
        has_last = (new > 0) & (last >= 0)
        prev_dep = self.departure_t_s[np.flatnonzero(has_last), last[has_last]]
        if (arrival_t_s[first[has_last]] < prev_dep).any():
            raise ValueError("appended sessions overlap the existing ones")
        width = int((self.count + new).max()) + 1  # + 1: every row ends with padding
        if width > self.arrival_t_s.shape[1]:
            grow = width - self.arrival_t_s.shape[1]
            pad = np.full((self.n_ev, grow), NEVER_S, dtype=np.int64)
            self.arrival_t_s = np.hstack([self.arrival_t_s, pad])
            self.departure_t_s = np.hstack([self.departure_t_s, pad])
            self.soc_arrival_frac = np.hstack([self.soc_arrival_frac, np.zeros((self.n_ev, grow))])
        self.arrival_t_s[ev, col] = arrival_t_s
        self.departure_t_s[ev, col] = departure_t_s
        self.soc_arrival_frac[ev, col] = soc
        self.count += new

    def sessions_of(self, ev: int) -> np.ndarray:
        """EV ``ev``'s sessions as rows (arrival_t_s, departure_t_s, soc_arrival_frac)."""
        k = int(self.count[ev])
        return np.column_stack(
            [self.arrival_t_s[ev, :k], self.departure_t_s[ev, :k], self.soc_arrival_frac[ev, :k]]
        )


def _truncnorm(
    rng: np.random.Generator, mean: float, std: float, lo: np.ndarray | float, hi: float, n: int
) -> np.ndarray:
    """``n`` draws of a normal(mean, std) truncated to [lo, hi], by inverting the CDF."""
    cdf_lo = ndtr((np.asarray(lo) - mean) / std)
    cdf_hi = ndtr((hi - mean) / std)
    u = rng.random(n)
    x = mean + std * ndtri(cdf_lo + u * (cdf_hi - cdf_lo))
    return np.clip(x, lo, hi)


@dataclass(eq=False)
class SessionGenerator:
    """Home-charging sessions of ``n`` alike EVs, day by day, from a seeded random stream.

    Day 0 is the date of ``start``; generation starts at day -1 so that EVs that came home the
    evening before t_s = 0 are plugged in at the start. Each day, every EV departs in the
    morning, drives a lognormal distance and comes home; it plugs in with chance
    ``plug_in_prob``, or always when its SoC is below ``plug_in_below_soc_frac``, and is then
    assumed full (at its target) when it leaves the next morning.
    """

    n: int
    ev: EVParams
    stats: MobilityParams
    seed: int
    stream: int
    start: datetime

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(self.stream,))
        )
        self.day = -1
        midnight = datetime.combine(self.start.date(), datetime.min.time())
        self._offset_s = int((self.start - midnight).total_seconds())
        self.soc = np.full(self.n, self.ev.soc_target_frac)
        self._departure_h = self._departures(self.day)

    def covered_until_s(self) -> int:
        """Every session arriving before this t_s [s] has been generated."""
        return self.day * SECONDS_PER_DAY - self._offset_s

    def _weekday(self, day: int) -> bool:
        return (self.start.date() + timedelta(days=day)).weekday() < 5

    def _departures(self, day: int) -> np.ndarray:
        s = self.stats
        mean, std = (
            (s.weekday_departure_h, s.weekday_departure_std_h)
            if self._weekday(day)
            else (s.weekend_departure_h, s.weekend_departure_std_h)
        )
        return _truncnorm(self.rng, mean, std, DEPARTURE_MIN_H, DEPARTURE_MAX_H, self.n)

    def generate(self, until_s: int) -> tuple[np.ndarray, ...]:
        """Sessions of whole days until ``covered_until_s() >= until_s``: (ev, arr, dep, soc)."""
        s, ev = self.stats, self.ev
        out: list[tuple[np.ndarray, ...]] = []
        sigma = s.distance_sigma_ln
        mu = np.log(s.distance_mean_km) - sigma**2 / 2  # lognormal with that mean
        battery_mwh_per_km = s.consumption_mwh_per_km * ev.eta_charge / ev.e_max_mwh
        while self.covered_until_s() < until_s:
            for _ in range(BLOCK_DAYS):
                day = self.day
                mean, std = (
                    (s.weekday_arrival_h, s.weekday_arrival_std_h)
                    if self._weekday(day)
                    else (s.weekend_arrival_h, s.weekend_arrival_std_h)
                )
                lo = self._departure_h + MIN_AWAY_H
                arrival_h = _truncnorm(self.rng, mean, std, lo, ARRIVAL_MAX_H - 1e-9, self.n)
                next_departure_h = self._departures(day + 1)
                distance_km = self.rng.lognormal(mu, sigma, self.n)
                u = self.rng.random(self.n)
                floor = np.minimum(self.soc, SOC_ARRIVAL_MIN_FRAC)
                soc = np.maximum(self.soc - distance_km * battery_mwh_per_km, floor)
                plug = (u < s.plug_in_prob) | (soc < s.plug_in_below_soc_frac)
                idx = np.flatnonzero(plug)
                day_s = day * SECONDS_PER_DAY - self._offset_s
                arr = day_s + np.round(arrival_h[idx] * SECONDS_PER_HOUR).astype(np.int64)
                dep = (
                    day_s
                    + SECONDS_PER_DAY
                    + np.round(next_departure_h[idx] * SECONDS_PER_HOUR).astype(np.int64)
                )
                out.append((idx, arr, dep, soc[idx]))
                self.soc = np.where(plug, ev.soc_target_frac, soc)
                self._departure_h = next_departure_h
                self.day += 1
        if not out:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, np.zeros(0)
        return tuple(np.concatenate(parts) for parts in zip(*out, strict=True))


def read_sessions_csv(path: str | Path, n_ev: int, ev: EVParams) -> tuple[np.ndarray, ...]:
    """Sessions of ``n_ev`` alike EVs from a CSV file: (ev, arrival, departure, soc_arrival).

    Columns: ``ev`` (0..n_ev-1, the position among the EVs of the create call),
    ``arrival_t_s`` and ``departure_t_s`` (integer seconds since the scenario start; arrivals
    before 0 mean plugged in at the start) and one of ``e_needed_mwh`` (energy to store until
    ``soc_target_frac``, in [0, soc_target_frac * e_max_mwh]) or ``soc_arrival_frac`` ([0, 1]).
    Sessions of one EV must not overlap. Every error names the file, the row and the field.
    """
    path = Path(path)
    where = f"sessions file {str(path)!r}: "
    if not path.is_file():
        raise ConfigError(f"{where}file does not exist")
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{where}cannot be read as CSV: {err}") from err
    columns = [str(c) for c in frame.columns]
    for name in columns:
        if name not in CSV_COLUMNS:
            raise ConfigError(f"{where}column {name!r} is unknown; known: {', '.join(CSV_COLUMNS)}")
    for name in CSV_COLUMNS[:3]:
        if name not in columns:
            raise ConfigError(f"{where}column {name!r} is missing")
    energy = [c for c in ENERGY_COLUMNS if c in columns]
    if len(energy) != 1:
        raise ConfigError(f"{where}needs exactly one of the columns {', '.join(ENERGY_COLUMNS)}")
    ev_idx = _integers(frame, "ev", where)
    arr = _integers(frame, "arrival_t_s", where)
    dep = _integers(frame, "departure_t_s", where)
    value = _floats(frame, energy[0], where)
    _check_rows(where, ev_idx, arr, dep, n_ev)
    if energy[0] == "e_needed_mwh":
        e_max_need = ev.soc_target_frac * ev.e_max_mwh
        _check_range(where, "e_needed_mwh", value, 0.0, e_max_need, "soc_target_frac * e_max_mwh")
        soc = ev.soc_target_frac - value / ev.e_max_mwh
    else:
        _check_range(where, "soc_arrival_frac", value, 0.0, 1.0, "1")
        soc = value
    return ev_idx, arr, dep, soc


def _integers(frame: pd.DataFrame, name: str, where: str) -> np.ndarray:
    values = _floats(frame, name, where)
    bad = values != np.round(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise ConfigError(f"{where}row {row}: {name}={values[row]:g} must be an integer")
    return values.astype(np.int64)


def _floats(frame: pd.DataFrame, name: str, where: str) -> np.ndarray:
    values, row = to_floats(frame, name)
    if row is not None:
        raise ConfigError(
            f"{where}row {row}: {name}={frame[name].iloc[row]!r} must be a finite number"
        )
    return values


def _check_range(
    where: str, name: str, values: np.ndarray, lo: float, hi: float, hi_text: str
) -> None:
    bad = (values < lo) | (values > hi + 1e-12)
    if bad.any():
        row = int(np.argmax(bad))
        raise ConfigError(
            f"{where}row {row}: {name}={values[row]:g} must be in [{lo:g}, {hi:g}] ({hi_text})"
        )


def _check_rows(where: str, ev: np.ndarray, arr: np.ndarray, dep: np.ndarray, n_ev: int) -> None:
    bad = (ev < 0) | (ev >= n_ev)
    if bad.any():
        row = int(np.argmax(bad))
        raise ConfigError(
            f"{where}row {row}: ev={ev[row]} must be in 0..{n_ev - 1}, "
            f"the position among the {n_ev} EVs created with this file"
        )
    bad = dep <= arr
    if bad.any():
        row = int(np.argmax(bad))
        raise ConfigError(
            f"{where}row {row}: departure_t_s={dep[row]} must be after arrival_t_s={arr[row]}"
        )
    order = np.lexsort((arr, ev))
    same_ev = ev[order][1:] == ev[order][:-1]
    overlap = same_ev & (arr[order][1:] < dep[order][:-1])
    if overlap.any():
        k = int(np.argmax(overlap))
        row, prev = int(order[k + 1]), int(order[k])
        raise ConfigError(
            f"{where}row {row}: arrival_t_s={arr[row]} of ev {ev[row]} is before "
            f"departure_t_s={dep[prev]} of its session in row {prev}; sessions must not overlap"
        )


class Sessions:
    """All EVs' sessions: a table that generated groups extend as time goes on."""

    def __init__(self) -> None:
        self.table = SessionTable()
        self._generators: list[tuple[int, SessionGenerator]] = []  # (first row, generator)

    def add_file(self, num: int, path: str, ev: EVParams) -> None:
        """Append ``num`` EVs whose sessions are in the CSV file ``path``."""
        ev_idx, arr, dep, soc = read_sessions_csv(path, num, ev)
        first = self.table.n_ev
        self.table.add_evs(num)
        self.table.append(first + ev_idx, arr, dep, soc)

    def add_generated(
        self, num: int, ev: EVParams, stats: MobilityParams, seed: int, start: datetime
    ) -> None:
        """Append ``num`` EVs with generated sessions (a stream of its own per call)."""
        generator = SessionGenerator(num, ev, stats, seed, len(self._generators), start)
        self._generators.append((self.table.n_ev, generator))
        self.table.add_evs(num)

    def cover(self, until_s: int) -> None:
        """Generate every session that arrives before ``until_s`` [s]."""
        for first, generator in self._generators:
            if generator.covered_until_s() < until_s:
                ev_idx, arr, dep, soc = generator.generate(until_s)
                self.table.append(first + ev_idx, arr, dep, soc)
