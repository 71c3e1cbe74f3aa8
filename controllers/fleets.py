"""Controllers and fleets: a controller names units; the world may carry them in fleets.

A controller observes and sets ``(entity, attr)`` points. Where an entity is a unit inside a
fleet entity (``cosim.core.fleet``), the controller host observes the fleet once and hands
each unit its own value, and gathers the units' set points into the fleet's array (NaN: no
set point for that unit, which then follows its own default). A controller that names a
fleet entity itself (the vector form) sees its arrays and sets whole arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from controllers.base import Point
from cosim.core.errors import SimulationError
from cosim.core.fleet import on_wire


class Fleets:
    """The fleets of a world (full id -> its units' full ids), as seen by one controller."""

    def __init__(self, fleets: Mapping[str, list[str]] | None = None) -> None:
        self.size = {f: len(units) for f, units in (fleets or {}).items()}
        self.unit = {u: (f, k) for f, units in (fleets or {}).items() for k, u in enumerate(units)}
        self._split: dict[tuple[str, str], list[tuple[str, int]]] = {}  # (fleet, attr) -> units

    def observed(self, points: Iterable[Point]) -> list[Point]:
        """The points to wire for these observed ones: a unit inside a fleet becomes its
        fleet's point, once; every other point stays."""
        wired: dict[Point, None] = {}
        for entity, attr in points:
            if (at := self.unit.get(entity)) is None:
                wired[entity, attr] = None
                continue
            self._split.setdefault((at[0], attr), []).append((entity, at[1]))
            wired[at[0], attr] = None
        return list(wired)

    def split(self, values: dict[str, dict[str, Any]]) -> None:
        """Make every fleet's values numpy arrays (lists across processes), and give each
        observed unit its value from its fleet's array (in place)."""
        for fleet in self.size.keys() & values.keys():
            for attr, value in values[fleet].items():
                if value is not None:
                    values[fleet][attr] = np.asarray(value)
        for (fleet, attr), units in self._split.items():
            array = values.get(fleet, {}).get(attr)
            if array is None:
                continue
            for unit, k in units:
                values.setdefault(unit, {})[attr] = array[k].item()


class HeldSetPoints:
    """The set points a controller holds, per output attribute; a unit's set point inside a
    fleet is one position of its fleet's array."""

    def __init__(self, fleets: Fleets, declared: Mapping[Point, Any], key: Any) -> None:
        self._fleets = fleets
        self._key = key  # (entity, attr) -> output attribute name
        self._units: set[Point] = set()  # declared points of units inside fleets
        self.held: dict[str, Any] = {}
        self.points: list[tuple[str, str, str]] = []  # wired: (entity, attr, output attr)
        for (entity, attr), value in declared.items():
            self._declare(entity, attr)
            self.set(entity, attr, value)

    def _declare(self, entity: str, attr: str) -> None:
        at = self._fleets.unit.get(entity)
        target = entity if at is None else at[0]
        if at is not None:
            self._units.add((entity, attr))
        name = self._key(target, attr)
        if name not in self.held:
            self.points.append((target, attr, name))
            size = self._fleets.size.get(target)
            self.held[name] = None if size is None else np.full(size, np.nan)

    def set(self, entity: str, attr: str, value: Any) -> bool:
        """Hold ``value`` for ``(entity, attr)``; False if that point is not declared."""
        at = self._fleets.unit.get(entity)
        if at is not None:
            if (entity, attr) not in self._units:
                return False
            self.held[self._key(at[0], attr)][at[1]] = np.nan if value is None else float(value)
            return True
        name = self._key(entity, attr)
        if name not in self.held:
            return False
        size = self._fleets.size.get(entity)
        self.held[name] = value if size is None else _array(entity, attr, value, size)
        return True

    def value(self, name: str) -> Any:
        """The output ``name`` as it leaves the controller host."""
        value = self.held[name]
        return on_wire(value) if isinstance(value, np.ndarray) else value


def _array(fleet: str, attr: str, value: Any, n: int) -> np.ndarray:
    """A fleet's set point: None releases every unit; else one number (NaN: none) per unit."""
    if value is None:
        return np.full(n, np.nan)
    array = np.array(value, dtype=np.float64).reshape(-1)
    if array.shape != (n,):
        raise SimulationError(
            f"set point {attr!r} of fleet {fleet!r}: {array.shape[0]} values for {n} units"
        )
    return array
