"""SimBench profiles read lazily: absolute values computed from the cached relative profiles.

SimBench gives each load, sgen, gen and storage a profile name and a rated power; its absolute
profile is the relative profile times that power (``simbench.get_absolute_values``, [1]_).
Computed here row by row from the memory-mapped relative profiles of the SimBench cache
(:mod:`simulators.simbench_nets`), with the same float64 products, so the values equal
``get_absolute_values`` bit for bit, while a run holds only the rows near the one it plays,
never the whole year of every element.

References
----------
.. [1] simbench 1.6, ``simbench.networks.profiles.get_absolute_profiles_from_relative_profiles``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cosim.core.errors import ConfigError
from simulators.profiles.model import SIMBENCH_STEP_S, Column, Table
from simulators.simbench_nets import net_and_profiles

ELEMENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("load", "p_mw", "_pload"),
    ("load", "q_mvar", "_qload"),
    ("sgen", "p_mw", ""),
    ("gen", "p_mw", ""),
    ("storage", "p_mw", ""),
)
"""(element, attr, profile name suffix) in ``get_absolute_values``' order."""

BLOCK_ROWS = 96
"""Rows read at once while stepping (one day at 15 min): memory does not grow with the year."""


class SimbenchTable(Table):
    """The absolute SimBench profiles of ``code``, one row per 15 min, read when asked for.

    Columns as :func:`simulators.profiles.model.simbench_profiles`: every (element, attr) of
    :data:`ELEMENT_COLUMNS` with at least one element, elements by ascending index. Signs are
    pandapower's (load p > 0 consumes, sgen p > 0 injects) [MW, Mvar].
    """

    def __init__(self, code: str) -> None:
        net, self.store = net_and_profiles(code)
        self.step_s = SIMBENCH_STEP_S
        columns: list[Column] = []
        sources: list[str | None] = []  # store column, None: a constant 1 (no profile)
        factors: list[float] = []
        for element, attr, suffix in ELEMENT_COLUMNS:
            frame = net[element].sort_index()
            if frame.empty:
                continue
            names: list[str | None] = [None] * len(frame)
            if "profile" in frame.columns:
                given = frame["profile"] + suffix
                names = [None if pd.isna(n) else str(n) for n in given]
            values = frame[attr].to_numpy(dtype=np.float64)
            for index, name, factor in zip(frame.index, names, values, strict=True):
                source = None if name is None else self.store.column_of(element, name)
                if name is not None and source is None:
                    raise ConfigError(
                        f"SimBench {code}: {element} {index} names profile {name!r}, which "
                        "its profiles lack"
                    )
                columns.append((element, int(index), attr))
                sources.append(source)
                factors.append(factor)
        if not columns:
            raise ConfigError(f"SimBench {code} has no load, sgen, gen or storage to profile")
        self.columns = tuple(columns)
        self._used = sorted({s for s in sources if s is not None})
        position = {name: k for k, name in enumerate(self._used)}
        ones = len(self._used)  # the block's last column is 1.0
        self._pos = np.array([ones if s is None else position[s] for s in sources])
        self._factor = np.array(factors, dtype=np.float64)
        self._block = np.empty((0, ones + 1))
        self._block_start = 0

    @property
    def n_rows(self) -> int:
        return self.store.n_rows

    def _take(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 1:  # one step: from the block that holds its row
            row = int(rows[0])
            if not 0 <= row - self._block_start < len(self._block):
                self._block_start = row
                self._block = self._relative(row, min(BLOCK_ROWS, self.n_rows - row))
            relative = self._block[row - self._block_start][None, :]
        else:  # several rows: each run of consecutive rows read once
            unique, inverse = np.unique(rows, return_inverse=True)
            runs = np.split(unique, np.flatnonzero(np.diff(unique) != 1) + 1)
            read = np.vstack([self._relative(int(run[0]), len(run)) for run in runs])
            relative = read[inverse.reshape(-1)]
        return relative[:, self._pos] * self._factor

    def _relative(self, start_row: int, n_rows: int) -> np.ndarray:
        """Relative values of the used profiles for the rows, and a last column of ones."""
        block = np.ones((n_rows, len(self._used) + 1))
        block[:, :-1] = self.store.read(self._used, start_row, n_rows)
        return block


def simbench_table(code: str) -> SimbenchTable:
    """The absolute SimBench profiles of ``code``, read lazily."""
    return SimbenchTable(code)
