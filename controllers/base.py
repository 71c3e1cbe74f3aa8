"""The controller contract: what a controller is, with no mosaik in sight.

A controller is a small class. It says which entity attributes it **observes** and which it
**sets**, and one method, :meth:`Controller.decide`, maps the time and this step's measurements
to set points. Entities are named by their full mosaik id (``"Grid-0.ext_grid_0"``,
``"Battery-0.battery_3"``), attributes by their cosim names (``"p_mw"``, ``"p_set_mw"``)::

    @dataclass
    class PeakShaving(Controller):
        feeder: str
        battery: str
        limit_mw: float

        def observes(self) -> list[Point]:
            return [(self.feeder, "p_mw")]

        def sets(self) -> dict[Point, Any]:
            return {(self.battery, "p_set_mw"): None}  # None: no set point yet

        def decide(self, t_s: int, seen: Measurements) -> SetPoints:
            excess_mw = seen[self.feeder]["p_mw"] - self.limit_mw
            return {self.battery: {"p_set_mw": -max(excess_mw, 0.0)}}

Timing (ARCHITECTURE.md): by default the controller sees the measurements of step ``t`` and its
set points apply from ``t + step_s``, which allows observing anything, the grid included. With
``same_step = True`` its set points apply in step ``t`` itself: the controller then runs
*before* the units it sets, so it may observe only what does not depend on them (profiles, PV,
heat-led CHP) at ``t``; their own state (SoC, EV needs) it observes one step late through
:meth:`Controller.observes_previous`. A set point the controller does not return keeps its last
value; ``None`` releases it (the unit follows its own default). Options are the constructor's
keyword arguments, so a controller can be rebuilt from a name and JSON in another process.

Fleets (``cosim.core.fleet``): where a scenario carries units as fleet entities, a controller
still names single units (``"Battery-0.battery_3"``); its host observes the fleet once and
hands each unit its value, and writes each unit's set point into the fleet's array. The
*vector form*: a controller that names the fleet entity itself (``"Battery-0.battery_fleet_0"``)
sees each observed attribute as one numpy array over the fleet's units and sets a whole array
(NaN: no set point for that unit; ``None``: none for any), for controllers of thousands of
units without a Python loop (``tests/test_fleet_controllers.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from cosim.core.errors import ConfigError, SimulationError

Point = tuple[str, str]
"""(entity full id, attribute)."""
SetPoints = dict[str, dict[str, Any]]
"""entity full id -> attribute -> value (``None`` releases the set point)."""


class Measurements(Mapping[str, Mapping[str, Any]]):
    """This step's measurements: entity full id -> attribute -> value.

    Looking up something the controller does not observe is an error that says what it does.
    """

    def __init__(self, values: Mapping[str, Mapping[str, Any]], observed: Mapping[str, Any]):
        self._values = values
        self._observed = observed

    def __getitem__(self, entity: str) -> Mapping[str, Any]:
        if entity not in self._observed:
            raise SimulationError(
                f"measurement of {entity!r} asked for, but the controller observes only "
                f"{sorted(self._observed)}; add it to observes()"
            )
        return _Attrs(entity, self._values.get(entity, {}), self._observed[entity])

    def __iter__(self) -> Iterator[str]:
        return iter(self._observed)

    def __len__(self) -> int:
        return len(self._observed)


def columns(seen: Measurements, entities: list[str], *attrs: str) -> list[np.ndarray]:
    """Each of ``attrs`` over ``entities`` as floats; a missing value (first step) is 0."""
    rows = [seen[e] for e in entities]
    return [np.array([r[a] or 0.0 for r in rows], dtype=np.float64) for a in attrs]


def check_ids(name: str, value: Any) -> None:
    """An option that must be a list of entity full ids: a ConfigError naming it otherwise."""
    if not (isinstance(value, list) and all(isinstance(v, str) and v for v in value)):
        raise ConfigError(f"{name}={value!r} must be a list of entity full ids")


class _Attrs(Mapping[str, Any]):
    def __init__(self, entity: str, values: Mapping[str, Any], observed: Any) -> None:
        self._entity, self._values, self._observed = entity, values, observed

    def __getitem__(self, attr: str) -> Any:
        if attr not in self._observed:
            raise SimulationError(
                f"measurement {attr!r} of {self._entity!r} asked for, but the controller "
                f"observes only {sorted(self._observed)} of it; add it to observes()"
            )
        return self._values.get(attr)

    def __iter__(self) -> Iterator[str]:
        return iter(self._observed)

    def __len__(self) -> int:
        return len(self._observed)


class Controller:
    """Base class of every controller; subclass it (a dataclass works well) and override
    :meth:`observes`, :meth:`sets` and :meth:`decide`.

    ``same_step`` chooses when set points apply (see the module docstring). ``reports`` names
    the controller's own outputs (e.g. energy shifted so far), which
    :meth:`report` returns each step; they can be recorded like any entity's attributes.
    """

    reports: tuple[str, ...] = ()
    same_step: bool = False

    def observes(self) -> list[Point]:
        """The (entity, attr) pairs measured every step, at this step."""
        return []

    def observes_previous(self) -> list[Point]:
        """The (entity, attr) pairs seen one step late (``None`` in the first step)."""
        return []

    def sets(self) -> dict[Point, Any]:
        """The (entity, attr) pairs this controller sets, each with its value before the first
        decision (``None``: no set point, the unit follows its own default)."""
        raise NotImplementedError(f"{type(self).__name__} must define sets()")

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        """Set points from the measurements of step ``t_s`` [s]; they apply from the next step."""
        raise NotImplementedError(f"{type(self).__name__} must define decide()")

    def report(self) -> dict[str, Any]:
        """The values of ``reports`` after the last decision."""
        return {}
