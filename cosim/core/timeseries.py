"""Reading tabular time series from CSV or Parquet files: the rows, numbers and time step.

Pure data handling, never imports mosaik; shared by the profile tables
(:mod:`simulators.profiles.model`), the PV weather (:mod:`simulators.pv.weather`), the CHP heat
demand (:mod:`simulators.chp.heat_demand`) and the EV sessions (:mod:`simulators.ev.sessions`).

A table has value columns and an optional ``t_s`` column [s]: it starts at 0 and rises
uniformly by whole seconds, and its spacing is the table's step. Row k applies from
``t_s = k * step_s`` until the next row (zero-order hold). Every error is a ConfigError that
starts with ``where`` (the file) and names the column, the row and the value.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.core.errors import ConfigError

T_COLUMN = "t_s"
"""The optional time column [s]."""
SUFFIXES = (".csv", ".parquet", ".pq")
"""File types a table may have; the suffix chooses the reader."""


def read_frame(path: Path, where: str) -> pd.DataFrame:
    """The rows of the CSV or Parquet file ``path`` (>= 1), column names as text.

    A CSV header that names a column twice is an error (pandas would rename the second).
    """
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError(f"{where}suffix {path.suffix!r} is unknown; known: {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise ConfigError(f"{where}file does not exist")
    try:
        if suffix == ".csv":
            _check_csv_header(path, where)
            frame = pd.read_csv(path)
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise ConfigError(f"{where}cannot be read as {suffix[1:]}: {err}") from err
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise ConfigError(f"{where}has no rows")
    return frame


def _check_csv_header(path: Path, where: str) -> None:
    """pandas renames duplicate CSV headers ('a' -> 'a.1'): reject duplicates first."""
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    seen = {name for name in header if header.count(name) > 1}
    if seen:
        raise ConfigError(f"{where}columns {sorted(seen)} appear more than once")


def to_floats(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, int | None]:
    """Column ``name`` as float64 and its first row that is not a finite number (or None)."""
    numbers = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(numbers)
    return numbers, int(np.argmax(bad)) if bad.any() else None


def numeric(frame: pd.DataFrame, name: str, where: str) -> np.ndarray:
    """Column ``name`` as finite float64, or a ConfigError naming the first bad row and value."""
    numbers, row = to_floats(frame, name)
    if row is not None:
        raise ConfigError(
            f"{where}column {name!r} row {row}: value {show(frame[name].iloc[row])} is "
            f"not allowed; values must be finite numbers"
        )
    return numbers


def show(value: object) -> str:
    """A value for a message: numbers plainly (60, 0.5, nan), anything else as repr."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return f"{float(value):g}"
    return repr(value)


def time_step(
    frame: pd.DataFrame,
    step_s: int | None,
    where: str,
    default_step_s: int | None = None,
    field: str = "step_s",
) -> int:
    """The table's step [s]: the ``t_s`` column's spacing, else ``step_s``, else the default.

    ``step_s`` (the param ``field``) given with a ``t_s`` column of two or more rows must equal
    its spacing.
    """
    if T_COLUMN in frame.columns:
        t_s = numeric(frame, T_COLUMN, where)
        if t_s[0] != 0:
            raise ConfigError(
                f"{where}column {T_COLUMN!r} starts at {show(t_s[0])}; it must start at 0"
            )
        if len(t_s) > 1:
            spacing = _spacing(t_s, where)
            if step_s is not None and step_s != spacing:
                raise ConfigError(
                    f"{where}column {T_COLUMN!r} gives step {spacing} s but "
                    f"{field}={step_s!r} was given"
                )
            return spacing
    if step_s is None:
        step_s = default_step_s
    if step_s is None:
        raise ConfigError(
            f"{where}has no {T_COLUMN!r} column or only one row, so {field} [s] must be given"
        )
    return step_s


def _spacing(t_s: np.ndarray, where: str) -> int:
    """The spacing of a ``t_s`` column of >= 2 rows: uniform, a positive whole number [s]."""
    steps = np.diff(t_s)
    first = steps[0]
    if first <= 0 or first != int(first) or not (steps == first).all():
        row = int(np.argmax(steps != first)) + 1 if first > 0 else 1
        raise ConfigError(
            f"{where}column {T_COLUMN!r} must rise uniformly by a whole number of "
            f"seconds; row {row} has t_s={show(t_s[row])} after "
            f"{show(t_s[row - 1])} (first step {show(first)})"
        )
    return int(first)
