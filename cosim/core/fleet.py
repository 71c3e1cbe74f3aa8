"""Fleets: a unit type's units as one mosaik entity whose attributes are arrays.

Between cosim's own simulators a fleet travels as one entity: its ``extra_info["units"]``
lists its units' entity ids (the ids the same units get as single entities), and each of its
attributes is one value per unit, in that order: a float64 (or bool) numpy array in-process, a
list across processes (JSON). The number of mosaik entities and connections no longer grows
with the number of units, and the results name every unit as the single-entity path does.

Inputs of a fleet, per source (:func:`gather`):

- an array (or list) with one value per unit of the fleet; or, with a *route* (the
  destination's extra method ``route``), one value per unit of the source fleet, of which
  ``route[k]`` is what unit ``k`` takes (``-1``: nothing);
- a scalar: the same value for every unit; None: nothing;
- NaN at a position: nothing from this source for that unit.

Several sources of one attribute combine per unit as single entities' inputs do
(:data:`cosim.core.simapi.REDUCTIONS`). Pure numpy, no mosaik.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.core.errors import ConfigError, SimulationError
from cosim.core.simapi import gather as gather_units
from cosim.core.simapi import positive_int

UNITS = "units"
"""``extra_info`` key of a fleet entity: the entity ids of its units, in array order."""
FLEET = "Fleet"
"""A fleet model's name is its unit model's name plus this (``PV`` -> ``PVFleet``)."""

_remote = False


def crossing() -> None:
    """This process's simulator talks to mosaik over a socket: fleet values go as lists."""
    global _remote
    _remote = True


def on_wire(values: np.ndarray) -> Any:
    """``values`` as they leave a simulator: a copy in-process, a list across processes."""
    return values.tolist() if _remote else values.copy()


N_UNITS = "n_units"
"""The create param of a fleet model that gives its number of units."""


def split_params(given: Mapping[str, Any], model: str) -> tuple[int, dict[str, Any], dict]:
    """A fleet model's create params: ``(n, shared, per_unit)``, the number of units, the
    scalars all units share and the lists with one value per unit. ``n_units`` (optional) and
    every list's length must agree; a ConfigError names the field and value that do not."""
    shared = dict(given)
    n_units = shared.pop(N_UNITS, None)
    if n_units is not None:
        positive_int(N_UNITS, n_units, "")
    per_unit = {
        k: v.tolist() if isinstance(v, np.ndarray) else list(v)
        for k, v in shared.items()
        if isinstance(v, list | tuple | np.ndarray)
    }
    n = n_units if n_units is not None else len(next(iter(per_unit.values()), []))
    if n < 1:
        raise ConfigError(
            f"{model}: n_units={n_units!r} and no list param; give n_units (a positive int) "
            "or a list param with one value per unit"
        )
    for key, values in per_unit.items():
        if len(values) != n:
            raise ConfigError(
                f"{model} param {key}={shared[key]!r} has {len(values)} values; give one per "
                f"unit ({n})"
            )
        del shared[key]
    return n, shared, per_unit


def positions(units: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Position in ``units`` of each of ``wanted`` (-1 where absent): the route from a fleet
    of ``units`` to one of ``wanted``."""
    at = {u: k for k, u in enumerate(units)}
    return [at.get(w, -1) for w in wanted]


class Positions:
    """Where each entity of a simulator sits in its arrays over all ``n`` units: a single
    unit at one position, a fleet over a range; and the routes of fleet inputs."""

    def __init__(self) -> None:
        self.of: dict[str, int | slice] = {}
        self.n = 0
        self.routes: dict[tuple[str, str], Route] = {}
        self._unit_pos: dict[str, int] = {}

    def add_unit(self, eid: str) -> int:
        """A single-unit entity at the next position."""
        self.of[eid] = self._unit_pos[eid] = self.n
        self.n += 1
        return self.n - 1

    def add_fleet(self, eid: str, n: int) -> slice:
        """A fleet entity over the next ``n`` positions."""
        self.of[eid] = where = slice(self.n, self.n + n)
        self.n += n
        return where

    def size(self, eid: str) -> int:
        """Units of entity ``eid`` (1 for a single unit)."""
        where = self.of[eid]
        return 1 if isinstance(where, int) else where.stop - where.start

    def route(self, eid: str, src: str, positions: Sequence[int]) -> None:
        """Unit ``k`` of fleet ``eid`` takes position ``positions[k]`` of the arrays that
        source ``src`` (full id) sends (``-1``: nothing); a ConfigError unless ``eid`` is a
        fleet and ``positions`` one int >= -1 per unit."""
        where = self.of.get(eid)
        if not isinstance(where, slice):
            fleets = [e for e, w in self.of.items() if isinstance(w, slice)]
            raise ConfigError(f"route: {eid!r} is not a fleet entity; fleets: {fleets}")
        route = np.asarray(positions, dtype=np.int64)
        if route.shape != (where.stop - where.start,) or (route < -1).any():
            raise ConfigError(
                f"route of {src!r} to {eid!r}: {route.shape[0] if route.ndim else route} "
                f"positions, need one int >= -1 for each of its {where.stop - where.start} units"
            )
        taken = np.flatnonzero(route >= 0)
        self.routes[eid, src] = Route(taken, route[taken], int(route.max(initial=-1)))


@dataclass(frozen=True)
class Route:
    """A route made once (:meth:`Positions.route`): the fleet's units that take a value, the
    source positions they take it from, and the highest of those (-1: none)."""

    units: np.ndarray
    sources: np.ndarray
    reach: int


def _as_units(value: Any, n: int, route: Route | None, eid: str, src: str) -> np.ndarray:
    """One source's value over the ``n`` units of fleet ``eid``: float64, NaN where none."""
    if value is None:
        return np.full(n, np.nan)
    if isinstance(value, bool | int | float | np.number | np.bool_):
        return np.full(n, float(value))
    values = np.asarray(value, dtype=np.float64)
    if route is not None:
        if values.ndim != 1 or route.reach >= len(values):
            raise SimulationError(
                f"{src} sent {values.shape} values to {eid!r}, whose route reaches position "
                f"{route.reach}"
            )
        out = np.full(n, np.nan)
        out[route.units] = values[route.sources]
        return out
    if values.shape != (n,):
        raise SimulationError(
            f"{src} sent {values.shape[0] if values.ndim == 1 else values.shape} values to "
            f"fleet {eid!r} of {n} units; give one per unit, or a route (Builder.connect "
            "with route=...)"
        )
    return values


def _reduce(acc: np.ndarray, more: np.ndarray, how: str, eid: str, attr: str) -> np.ndarray:
    """Two sources' values combined per unit (NaN: none) by ``how``."""
    none, new = np.isnan(acc), ~np.isnan(more)
    if how == "one" and (clash := new & ~none).any():
        k = int(np.argmax(clash))
        raise ConfigError(
            f"input {attr!r} of unit {k} of {eid!r} has several sources; one is allowed"
        )
    if how == "sum":
        both = acc + more
    elif how == "min":
        both = np.fmin(acc, more)
    elif how == "all":
        both = np.minimum(acc, more)
    else:
        both = acc
    return np.where(none, more, np.where(new, both, acc))


def gather(
    inputs: Mapping[str, Mapping[str, Mapping[str, Any]]],
    where: Positions,
    defaults: Mapping[str, Any],
    *,
    how: Mapping[str, str] | None = None,
    error: type[Exception] = ConfigError,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """mosaik's inputs to single units and fleets as arrays over all ``where.n`` units:
    ``{attr: (values, given)}`` for every attr of ``defaults`` (see
    :func:`cosim.core.simapi.gather`, which this extends to fleets)."""
    how = how or {}
    if len(where._unit_pos) == len(where.of):  # single units only: the per-unit path as is
        return gather_units(inputs, where._unit_pos, where.n, defaults, how=how, error=error)
    single = {e: a for e, a in inputs.items() if not isinstance(where.of.get(e), slice)}
    out = gather_units(single, where._unit_pos, where.n, defaults, how=how, error=error)
    for eid, attrs in inputs.items():
        span = where.of.get(eid)
        if not isinstance(span, slice):
            continue
        n = span.stop - span.start
        for attr, sources in attrs.items():
            if attr not in out:
                raise error(f"input {attr!r} of {eid!r} is unknown; inputs: {', '.join(defaults)}")
            acc: np.ndarray | None = None
            for src, value in sources.items():
                units = _as_units(value, n, where.routes.get((eid, src)), eid, src)
                acc = units if acc is None else _reduce(acc, units, how.get(attr, "sum"), eid, attr)
            if acc is None:
                continue
            values, given = out[attr]
            present = ~np.isnan(acc)
            part = values[span]
            values[span] = np.where(present, acc, part)
            given[span] |= present
    return out


def output_data(
    request: Mapping[str, Sequence[str]],
    where: Positions,
    arrays: dict[str, np.ndarray],
    array_of: Callable[[str], np.ndarray],
    lists: dict[str, list[Any]],
) -> dict[str, dict[str, Any]]:
    """mosaik's get_data answer for single units (plain values) and fleets (:func:`on_wire`).

    ``array_of(attr)`` makes one output over all units (or raises for a non-output);
    ``arrays`` and ``lists`` cache this step's arrays and their lists (clear both each step).
    """
    data: dict[str, dict[str, Any]] = {}
    for eid, attrs in request.items():
        span = where.of.get(eid)
        if span is None:
            raise SimulationError(f"get_data for unknown entity {eid!r}")
        values = {}
        if isinstance(span, slice):
            for attr in attrs:
                array = arrays.get(attr)
                if array is None:
                    array = arrays[attr] = array_of(attr)
                values[attr] = on_wire(array[span])
        else:  # one lookup per attr and unit: this runs for every unit and attr of a step
            for attr in attrs:
                column = lists.get(attr)
                if column is None:
                    array = arrays.get(attr)
                    if array is None:
                        array = arrays[attr] = array_of(attr)
                    column = lists[attr] = array.tolist()
                values[attr] = column[span]
        data[eid] = values
    return data
