"""Profile tables: time series of set points for grid elements, held between rows.

Pure data handling, never imports mosaik. Values are absolute and use pandapower's units and
signs per element type: load and storage ``p_mw > 0`` consume from the grid; sgen and gen
``p_mw > 0`` inject; ``q_mvar`` follows ``p_mw`` of the same element.

Sources: SimBench profiles (``simbench.get_absolute_values``, 15-min rows, [1]_) or a CSV or
Parquet file with one column per element and attribute.

References
----------
.. [1] Meinecke et al., "SimBench - A Benchmark Dataset of Electric Power Systems to Compare
   Innovative Solutions Based on Power Flow Analysis", Energies 13(12), 2020.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosim.core.errors import ConfigError, SimulationError
from cosim.core.timeseries import T_COLUMN, numeric, read_frame, show, time_step
from simulators.simbench_nets import simbench_net as simbench_net  # re-exported

SIMBENCH_STEP_S = 900
"""SimBench profiles have one row per 15 minutes [s]."""

SIMBENCH_PREFIX = "simbench:"

SIMBENCH_ORIGIN = datetime(2016, 1, 1, tzinfo=timezone(timedelta(hours=1)))
"""Row 0 of the SimBench profiles: 1 January 2016 00:00 CET. Rows are 15 min apart in CET
(UTC+1) all year, 366 days, one typical year; the labels of SimBench's own time column are
German wall-clock time, which skips 02:00-02:45 on 27 March and repeats it on 30 October."""

ELEMENT_ATTRS: dict[str, tuple[str, ...]] = {
    "load": ("p_mw", "q_mvar"),
    "sgen": ("p_mw", "q_mvar"),
    "storage": ("p_mw", "q_mvar"),
    "gen": ("p_mw",),
}
"""The element types a profile may drive and their attributes (the first is the default): the
inputs the grid simulator takes for them."""

SIGNAL_ATTRS: dict[str, tuple[str, ...]] = {"price": ("eur_per_mwh",)}
"""Scenario signals a table may carry besides grid elements, and their attributes: inputs of
controllers, not of the grid (``price_0``: an energy price [EUR/MWh], e.g. day-ahead)."""

_COLUMN_RE = re.compile(r"^(?P<element>[a-z][a-z_]*)_(?P<index>\d+)(?:\.(?P<attr>.+))?$")

Column = tuple[str, int, str]


def entity_id(element: str, index: int) -> str:
    """The entity id of a grid element, shared with the grid simulator: ``"load_3"``."""
    return f"{element}_{index}"


class Table:
    """Time series for grid elements: row k applies from t_s = k * step_s (held until the next
    row). Subclasses give ``columns`` (element, pandapower index, attr), ``step_s`` [s],
    ``n_rows`` and ``_take(rows)``, the values of those rows."""

    columns: tuple[Column, ...]
    step_s: int

    @property
    def n_rows(self) -> int:
        raise NotImplementedError

    def _take(self, rows: np.ndarray) -> np.ndarray:
        """The values of ``rows`` (in range), shape (len(rows), n_columns)."""
        raise NotImplementedError

    @property
    def duration_s(self) -> int:
        """Time covered: the last row holds until ``n_rows * step_s`` [s] (exclusive)."""
        return self.n_rows * self.step_s

    def rows_at(self, t_s: np.ndarray) -> np.ndarray:
        """The rows that apply at the times ``t_s`` [s] (zero-order hold), shape (len(t_s), n)."""
        t_s = np.asarray(t_s, dtype=np.int64)
        if t_s.size and (t_s.min() < 0 or t_s.max() >= self.duration_s):
            raise self._outside(int(t_s.min()) if t_s.min() < 0 else int(t_s.max()))
        return self._take(t_s // self.step_s)

    def row_at(self, t_s: int) -> np.ndarray:
        """The row that applies at ``t_s`` [s] (zero-order hold), shape (n,)."""
        if not 0 <= t_s < self.duration_s:
            raise self._outside(t_s)
        return self._take(np.array([t_s // self.step_s]))[0]

    def _outside(self, t_s: int) -> SimulationError:
        return SimulationError(
            f"t_s={t_s} is outside the profile table, which covers t_s 0..{self.duration_s - 1}"
            f" ({self.n_rows} rows x {self.step_s} s)"
        )

    def check_covers(self, steps: int, step_s: int, offset_s: int = 0) -> None:
        """Raise ConfigError if a run of ``steps`` x ``step_s`` [s] from table time ``offset_s``
        [s] lasts longer than the table."""
        if steps < 0 or step_s <= 0:
            raise ConfigError(f"steps={steps} must be >= 0 and step_s={step_s} > 0")
        if offset_s + steps * step_s > self.duration_s:
            after = f" from {offset_s} s into the table" if offset_s else ""
            raise ConfigError(
                f"a run of steps={steps} x step_s={step_s} s = {steps * step_s} s{after} "
                f"outruns the profile table: {self.n_rows} rows x {self.step_s} s "
                f"= {self.duration_s} s"
            )

    def groups(self) -> dict[tuple[str, str], tuple[list[int], list[int]]]:
        """Columns grouped by (element, attr): the element indices and their column positions."""
        out: dict[tuple[str, str], tuple[list[int], list[int]]] = {}
        for pos, (element, index, attr) in enumerate(self.columns):
            indices, positions = out.setdefault((element, attr), ([], []))
            indices.append(index)
            positions.append(pos)
        return out

    def entity_attrs(self) -> dict[str, dict[str, int]]:
        """For every entity id, its attrs and their column positions."""
        out: dict[str, dict[str, int]] = {}
        for pos, (element, index, attr) in enumerate(self.columns):
            out.setdefault(entity_id(element, index), {})[attr] = pos
        return out


@dataclass(frozen=True, eq=False)
class ProfileTable(Table):
    """A profile table held in memory: row k applies from t_s = k * step_s until the next.

    Parameters
    ----------
    columns : tuple of (element, pandapower index, attr)
        One per value column, e.g. ``("load", 3, "p_mw")``; no duplicates.
    values : numpy.ndarray
        Shape (n_rows, n_columns), finite; stored as a read-only float64 array.
    step_s : int
        Time between rows [s].
    """

    columns: tuple[Column, ...]
    values: np.ndarray
    step_s: int

    def __post_init__(self) -> None:
        columns = tuple((str(e), int(i), str(a)) for e, i, a in self.columns)
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(columns):
            raise ConfigError(
                f"values shape {values.shape} must be (n_rows, {len(columns)}), "
                f"one column per entry of columns"
            )
        if values.shape[0] == 0 or not columns:
            raise ConfigError(f"values shape {values.shape}: a profile needs >= 1 row and column")
        if (
            isinstance(self.step_s, bool)
            or not isinstance(self.step_s, (int, np.integer))
            or self.step_s <= 0
        ):
            raise ConfigError(f"step_s={self.step_s!r} must be a positive int [s]")
        if len(set(columns)) != len(columns):
            dup = sorted({c for c in columns if columns.count(c) > 1})
            raise ConfigError(f"columns {dup} appear more than once")
        if not np.isfinite(values).all():
            row, col = np.argwhere(~np.isfinite(values))[0]
            raise ConfigError(
                f"column {columns[col]} row {row}: value {show(values[row, col])} must be finite"
            )
        if values.flags.writeable:
            values = values.copy()
            values.flags.writeable = False
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "step_s", int(self.step_s))

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.values.shape[0])

    def _take(self, rows: np.ndarray) -> np.ndarray:
        return self.values[rows]

    def row_at(self, t_s: int) -> np.ndarray:
        """The row that applies at ``t_s`` [s] (zero-order hold): a read-only view, shape (n,)."""
        if not 0 <= t_s < self.duration_s:
            raise self._outside(t_s)
        return self.values[t_s // self.step_s]


def offset_s(start: datetime, origin: datetime, typical_year: bool = False) -> int:
    """Seconds from a table's row 0 (at ``origin``) to a run's ``start``.

    A date and time without a time zone is taken in the other's zone (both without: as given).
    A ``typical_year`` table stands for any year: ``start`` is taken on the same date and time
    in ``origin``'s year (SimBench's 2016 is a leap year, so every date has its row).
    """
    if start.tzinfo is None:
        start = start.replace(tzinfo=origin.tzinfo)
    elif origin.tzinfo is None:
        origin = origin.replace(tzinfo=start.tzinfo)
    else:
        start = start.astimezone(origin.tzinfo)
    at = start
    if typical_year:
        try:
            at = start.replace(year=origin.year)
        except ValueError:  # 29 February and a table year without it
            raise ConfigError(
                f"start={start.isoformat(' ')}: the profile table's year {origin.year} has no"
                f" {start:%d %B}"
            ) from None
    seconds = (at - origin).total_seconds()
    if seconds < 0 or seconds != int(seconds):
        raise ConfigError(
            f"start={start.isoformat(' ')} must be at or after origin={origin.isoformat(' ')}"
            " (the date and time of the profile table's first row), in whole seconds"
        )
    return int(seconds)


def check_against_net(table: Table, net: Any) -> None:
    """Raise ConfigError listing the columns whose element does not exist in ``net``."""
    problems = []
    for element, index, attr in table.columns:
        known = net[element].index if element in net else pd.Index([])
        if index in known:
            continue
        if len(known) == 0:
            valid = f"the net has no {element}"
        elif len(known) == known.max() - known.min() + 1:
            valid = f"the net has {len(known)} {element}s, indices {known.min()}..{known.max()}"
        else:
            valid = (
                f"the net has {len(known)} {element}s, indices in {known.min()}.."
                f"{known.max()} (not contiguous)"
            )
        problems.append(f"column {entity_id(element, index)}.{attr}: {valid}")
    if problems:
        raise ConfigError(
            "profile columns name elements missing in the net: " + "; ".join(problems)
        )


def simbench_profiles(net: Any) -> ProfileTable:
    """The absolute SimBench profiles of ``net`` as a table, one row per 15 min.

    Every (element, attr) that ``simbench.get_absolute_values(net, True)`` gives with at least
    one element, in its order (load p_mw, load q_mvar, sgen p_mw, gen p_mw, storage p_mw),
    elements by ascending index. Signs are pandapower's (load p > 0 consumes, sgen p > 0
    injects) [MW, Mvar].
    """
    import simbench  # imports pandapower (about 1-3 s): only when SimBench data is asked for

    absolute = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    columns: list[Column] = []
    blocks: list[np.ndarray] = []
    n_rows: int | None = None
    for (element, attr), frame in absolute.items():
        if frame.shape[1] == 0:
            continue
        if n_rows is not None and frame.shape[0] != n_rows:
            raise ConfigError(
                f"SimBench profile {element}.{attr} has {frame.shape[0]} rows; "
                f"the others have {n_rows}"
            )
        n_rows = frame.shape[0]
        frame = frame.sort_index(axis=1)
        columns += [(element, int(i), attr) for i in frame.columns]
        blocks.append(frame.to_numpy(dtype=np.float64))
    if not blocks:
        raise ConfigError("the SimBench net has no profiles for load, sgen, gen or storage")
    return ProfileTable(tuple(columns), np.hstack(blocks), SIMBENCH_STEP_S)


def parse_column(name: str, where: str = "") -> Column:
    """``"load_3"`` -> ("load", 3, "p_mw"); ``"load_3.q_mvar"`` -> ("load", 3, "q_mvar")."""
    match = _COLUMN_RE.match(name)
    if match is None:
        raise ConfigError(
            f"{where}column {name!r} is not <element>_<index>[.<attr>], "
            f"e.g. 'load_3' or 'load_3.q_mvar'"
        )
    element, attr = match["element"], match["attr"]
    kinds = {**ELEMENT_ATTRS, **SIGNAL_ATTRS}
    if element not in kinds:
        raise ConfigError(
            f"{where}column {name!r}: element type {element!r} is unknown; "
            f"known: {', '.join(sorted(ELEMENT_ATTRS))}; signals: {', '.join(sorted(SIGNAL_ATTRS))}"
        )
    allowed = kinds[element]
    attr = allowed[0] if attr is None else attr
    if attr not in allowed:
        raise ConfigError(
            f"{where}column {name!r}: attr {attr!r} is unknown for {element}; "
            f"known: {', '.join(allowed)}"
        )
    return element, int(match["index"]), attr


def read_profile_file(
    path: str | Path, step_s: int | None = None, default_step_s: int | None = None
) -> ProfileTable:
    """Read a profile table from a CSV or Parquet file (chosen by suffix).

    One column per element and attribute: ``load_3`` is load 3 ``p_mw`` (the element's first
    attr in ELEMENT_ATTRS), ``load_3.q_mvar`` names the attr. Values are absolute, in
    pandapower's units and signs [MW, Mvar, pu]. An optional ``t_s`` column [s] must start at 0
    and be uniformly spaced; its spacing is the table's step. Without it, ``step_s`` is required.
    """
    path = Path(path)
    where = f"profile file {str(path)!r}: "
    frame = read_frame(path, where)
    names = [c for c in frame.columns if c != T_COLUMN]
    if not names:
        raise ConfigError(f"{where}has no element columns, only {list(frame.columns)}")
    columns = tuple(parse_column(name, where) for name in names)
    if len(set(columns)) != len(columns):
        dup = [n for n, c in zip(names, columns, strict=True) if columns.count(c) > 1]
        raise ConfigError(f"{where}columns {dup} name the same element and attr")
    step_s = time_step(frame, step_s, where, default_step_s)
    values = np.empty((len(frame), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        values[:, j] = numeric(frame, name, where)
    return ProfileTable(columns, values, step_s)
