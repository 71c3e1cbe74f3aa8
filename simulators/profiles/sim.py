"""mosaik adapter of profile tables: one ``Profiles`` entity that plays a table; no physics.

The ``Profiles`` entity (full id e.g. ``Profiles-0.profiles``) has one child per grid element
in the table, named like the grid simulator's entities (``load_3``, ``sgen_0``: full id
``Profiles-0.load_3``). mosaik's meta can only list every attr an ``Element`` may have, so
each child's ``extra_info["attrs"]`` names those the table has columns for (connect only
those; get_data of another raises). Values are absolute, with pandapower's signs per element
type (load and storage ``p_mw > 0`` consume; sgen and gen ``p_mw > 0`` inject), held from
one table row to the next. A file may also carry scenario signals for controllers: a column
``price_<k>`` is the child ``price_<k>`` with attr ``eur_per_mwh`` [EUR/MWh].

Fleets (:mod:`cosim.core.fleet`): with ``Profiles(fleets=True)`` the children are one fleet
per element type the table plays instead (eid ``load``, ``sgen``, ``storage``, ``gen``,
``price``; type ``ElementFleet`` or ``SignalFleet``), whose ``extra_info["units"]`` names the
per-element children (``load_3``) and ``extra_info["attrs"]`` the attrs any of them has; each
value is an array over the units, NaN where a unit has no column for that attr (no input).

The run's ``start`` picks the row played at ``t_s = 0``: SimBench profiles begin on
1 January 2016 00:00 CET, are CET (UTC+1) all year and stand for any year
(``start="2019-07-01 12:00:00"`` plays 1 July 2016 12:00 CET; a ``start`` without a time zone
is taken in CET); after 31 December they go on with 1 January. A file's first row is at the
``origin`` model param, by default ``start``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import (
    CreateResult,
    InputData,
    Meta,
    ModelName,
    OutputData,
    OutputRequest,
    SimId,
    Time,
)

from cosim.core import fleet
from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.simapi import (
    DEFAULT_START,
    DEFAULT_STEP_S,
    Attr,
    Param,
    check_init,
    iso_datetime,
    model_meta,
    positive_int,
    sim_meta,
)
from simulators.profiles import model
from simulators.profiles.source import load_profiles

P_MW = Attr("p_mw", "MW", "active power set point; sign of the pandapower element type")
Q_MVAR = Attr("q_mvar", "Mvar", "reactive power set point; sign follows p_mw of the element")
EUR_PER_MWH = Attr("eur_per_mwh", "EUR/MWh", "energy price of a price signal (price_<k>)")
_DECLARED = {a.name: a for a in (P_MW, Q_MVAR, EUR_PER_MWH)}
# every attr a table may have, declared above (a KeyError here means a missing declaration)
ELEMENT_ATTRS = tuple(
    _DECLARED[name]
    for name in dict.fromkeys(a for attrs in model.ELEMENT_ATTRS.values() for a in attrs)
)
SIGNAL_ATTRS = tuple(
    _DECLARED[name]
    for name in dict.fromkeys(a for attrs in model.SIGNAL_ATTRS.values() for a in attrs)
)

PROFILES_EID = "profiles"
PARAMS = (
    Param("source", "str", "-", None, "'simbench:<CODE>' or a CSV/Parquet file path", True),
    Param("profile_step_s", "int | None", "s", None, "row spacing of a file without a t_s column"),
    Param("origin", "str | None", "-", None, "ISO date and time of the first row; None: start"),
    Param("fleets", "bool", "-", False, "children: one fleet per element type, not per element"),
)
MODEL_PARAMS = tuple(p.name for p in PARAMS)

META: Meta = sim_meta(  # type: ignore[assignment]
    {
        "Profiles": model_meta([], params=PARAMS),
        "Element": model_meta(ELEMENT_ATTRS, public=False),
        "Signal": model_meta(SIGNAL_ATTRS, public=False),
        "Element" + fleet.FLEET: model_meta(ELEMENT_ATTRS, public=False),
        "Signal" + fleet.FLEET: model_meta(SIGNAL_ATTRS, public=False),
    }
)


class ProfilesSim(mosaik_api_v3.Simulator):
    """Plays one profile table (SimBench or CSV/Parquet) to the grid's elements.

    Sim params: ``step_s`` [s], the stepping interval (default 900), and ``start``. Model params
    of ``Profiles``: ``source`` (``"simbench:<CODE>"`` or a CSV/Parquet path),
    ``profile_step_s`` [s] (the row spacing, for files without a ``t_s`` column) and ``origin``
    (a file's: the ISO date and time of its first row; default ``start``).
    """

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self.start = datetime.fromisoformat(DEFAULT_START)
        self.offset_s = 0  # table time at t_s = 0 [s]
        self.wraps = False  # a typical year: after its last row comes its first
        self.table: model.Table | None = None
        self._positions: dict[str, dict[str, int]] = {}  # eid -> attr -> column position
        self._row: list[float] | None = None
        # fleet eid -> attr -> column position of each unit (n_columns: a NaN, no column)
        self._takes: dict[str, dict[str, np.ndarray]] = {}
        self._row_array: np.ndarray | None = None  # this row and a NaN, for fleets

    def init(self, sid: SimId, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Check the time resolution (1 s per tick), ``step_s`` and ``start``."""
        self.step_s, self.start = check_init(time_resolution, sim_params)
        return self.meta

    def create(self, num: int, model: ModelName, **model_params: Any) -> list[CreateResult]:
        """Load the table of ``source``: one ``Profiles`` entity with one child per element."""
        if model != "Profiles":
            raise unknown("model", model, ["Profiles"])
        if num != 1:
            raise ConfigError(f"num={num!r}: create one Profiles entity per call (num=1)")
        if self.table is not None:
            raise ConfigError(
                "this simulator already plays a table; start another profiles "
                "simulator for a second source"
            )
        for key in model_params:
            if key not in MODEL_PARAMS:
                raise unknown("Profiles param", key, MODEL_PARAMS)
        if "source" not in model_params:
            raise ConfigError(
                "Profiles param 'source' is required: 'simbench:<CODE>' or a CSV/Parquet file path"
            )
        profile_step_s = model_params.get("profile_step_s")
        if profile_step_s is not None:
            profile_step_s = positive_int("profile_step_s", profile_step_s)
        fleets = model_params.get("fleets", False)
        if not isinstance(fleets, bool):
            raise ConfigError(f"Profiles param fleets={fleets!r} must be True or False")
        source = model_params["source"]
        self.table = _load(source, profile_step_s, self.step_s)
        self.offset_s = self._offset_s(str(source), model_params.get("origin"))
        self.wraps = _typical_year(str(source))
        self._positions = self.table.entity_attrs()
        children: list[CreateResult] = (
            self._fleets(len(self.table.columns))
            if fleets
            else [
                {"eid": eid, "type": _kind(eid), "rel": [], "extra_info": {"attrs": list(attrs)}}
                for eid, attrs in self._positions.items()
            ]
        )
        return [{"eid": PROFILES_EID, "type": "Profiles", "rel": [], "children": children}]

    def _fleets(self, n_columns: int) -> list[CreateResult]:
        """One fleet child per element type, over its per-element children in table order."""
        units: dict[str, list[str]] = {}
        for eid in self._positions:
            units.setdefault(eid.rsplit("_", 1)[0], []).append(eid)
        children: list[CreateResult] = []
        for kind, eids in units.items():
            declared = {**model.ELEMENT_ATTRS, **model.SIGNAL_ATTRS}[kind]
            attrs = [a for a in declared if any(a in self._positions[e] for e in eids)]
            self._takes[kind] = {
                a: np.array([self._positions[e].get(a, n_columns) for e in eids], dtype=np.int64)
                for a in attrs
            }
            info = {fleet.UNITS: eids, "attrs": attrs}
            kind_type = _kind(eids[0]) + fleet.FLEET
            children.append({"eid": kind, "type": kind_type, "rel": [], "extra_info": info})
        return children

    def step(self, time: Time, inputs: InputData, max_advance: Time) -> Time | None:
        """Take the row that applies at ``time`` (zero-order hold)."""
        if self.table is None:
            raise SimulationError("step() before create(): no profile table loaded")
        at_s = time + self.offset_s
        if self.wraps:
            at_s %= self.table.duration_s
        elif at_s >= self.table.duration_s:
            raise SimulationError(
                f"t_s={time}: the profile table ends {self.table.duration_s - self.offset_s} s"
                f" after start={self.start.isoformat(' ')} ({self.table.n_rows} rows x"
                f" {self.table.step_s} s, {self.offset_s} s of them before start)"
            )
        if self._takes:  # fleets: arrays taken from the row, NaN where a unit has no column
            self._row_array = np.append(self.table.row_at(at_s), np.nan)
        else:
            self._row = self.table.row_at(at_s).tolist()  # plain floats: JSON-safe everywhere
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """The current row's values of the requested entities and attrs."""
        if self._takes:
            return self._fleet_data(outputs)
        row = self._row
        if row is None:
            raise SimulationError("get_data() before the first step()")
        data: dict[str, dict[str, Any]] = {}
        try:  # plain loops: twice as fast as nested comprehensions here
            for eid, attrs in outputs.items():
                positions = self._positions[eid]
                values = {}
                for attr in attrs:
                    values[attr] = row[positions[attr]]
                data[eid] = values
        except KeyError:
            raise self._bad_request(outputs) from None
        return data

    def _fleet_data(self, outputs: OutputRequest) -> OutputData:
        """The current row's values of the requested fleets, one array per attr."""
        row = self._row_array
        if row is None:
            raise SimulationError("get_data() before the first step()")
        data: dict[str, dict[str, Any]] = {}
        try:
            for eid, attrs in outputs.items():
                takes = self._takes[eid]
                data[eid] = {attr: fleet.on_wire(row[takes[attr]]) for attr in attrs}
        except KeyError:
            raise self._bad_request(outputs, self._takes) from None
        return data

    def _bad_request(
        self, outputs: OutputRequest, known: dict[str, Any] | None = None
    ) -> SimulationError:
        """The error for the first entity or attr in ``outputs`` that the table lacks."""
        known = self._positions if known is None else known
        for eid, attrs in outputs.items():
            positions = known.get(eid)
            if positions is None:
                shown = list(known)
                more = f" (+{len(shown) - 10} more)" if len(shown) > 10 else ""
                return SimulationError(
                    f"entity {eid!r} has no outputs; the table's elements: "
                    f"{', '.join(shown[:10])}{more}"
                )
            for attr in attrs:
                if attr not in positions:
                    return SimulationError(
                        f"entity {eid!r} has no profile for attr {attr!r}; "
                        f"its attrs: {', '.join(positions)}"
                    )
        return SimulationError(f"bad output request {outputs!r}")

    def _offset_s(self, source: str, origin: object) -> int:
        """Table time at ``t_s = 0`` [s], from ``start`` and the table's first row."""
        assert self.table is not None
        if _typical_year(source):
            if origin is not None:
                raise ConfigError(
                    f"origin={origin!r}: SimBench profiles begin on"
                    f" {model.SIMBENCH_ORIGIN:%Y-%m-%d %H:%M} CET; leave origin unset"
                )
            offset_s = model.offset_s(self.start, model.SIMBENCH_ORIGIN, typical_year=True)
        elif origin is None:
            return 0
        else:
            offset_s = model.offset_s(self.start, iso_datetime("origin", origin))
        if offset_s >= self.table.duration_s:
            raise ConfigError(
                f"start={self.start.isoformat(' ')} is past the end of the profile table"
                f" ({self.table.n_rows} rows x {self.table.step_s} s from its first row)"
            )
        return offset_s

    @property
    def entity_attrs(self) -> dict[str, tuple[str, ...]]:
        """The attrs each child entity has a profile for (mosaik meta can only list all)."""
        return {eid: tuple(attrs) for eid, attrs in self._positions.items()}


def _typical_year(source: str) -> bool:
    """SimBench profiles stand for any year, and wrap around at its end."""
    return source.startswith(model.SIMBENCH_PREFIX)


def _kind(eid: str) -> str:
    """The model of child ``eid``: ``Signal`` for a scenario signal, else ``Element``."""
    return "Signal" if eid.rsplit("_", 1)[0] in model.SIGNAL_ATTRS else "Element"


def _load(source: object, profile_step_s: int | None, step_s: int) -> model.Table:
    if not isinstance(source, str) or not source:
        raise ConfigError(f"source={source!r} must be 'simbench:<CODE>' or a file path")
    return load_profiles(source, profile_step_s, default_step_s=step_s)
