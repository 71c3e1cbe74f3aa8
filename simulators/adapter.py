"""One mosaik adapter for every unit type, as single units and as fleets, from a declared schema.

A unit type declares its :class:`Schema` (model name, entity id prefix, create params, inputs
with their defaults and reductions, outputs, its own sim params) and subclasses
:class:`UnitSim` with a few hooks: :meth:`~UnitSim.make` (one unit's params from create
params), :meth:`~UnitSim.extend` (add units to the model's state), :meth:`~UnitSim.advance`
(one step from the gathered input arrays) and, for outputs made on demand,
:meth:`~UnitSim.output`. The base does init, create, step, get_data and ``route`` for both
models of the type (:mod:`cosim.core.fleet`):

- ``<Model>``: one entity per unit, ``<prefix><k>`` with a running k, plain values;
- ``<Model>Fleet``: one entity ``<prefix>fleet_<j>`` for ``n_units`` units whose ids (its
  ``extra_info["units"]``) continue the same counter; each create param is a scalar (all units)
  or a list (one per unit); every attribute is an array over its units.

A fleet with scalar params is built as one ``create(n_units, "<Model>", ...)`` call would build
its units; a fleet with a list param as one ``create(1, ...)`` call per unit, in order. Both
give the per-unit path's results bit for bit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from cosim.core import fleet
from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.simapi import (
    DEFAULT_START,
    DEFAULT_STEP_S,
    Attr,
    Param,
    check_inputs,
    check_num,
    check_time_resolution,
    iso_datetime,
    model_meta,
    not_an_output,
    positive_int,
    sim_meta,
)

P = TypeVar("P")
Given = dict[str, tuple[np.ndarray, np.ndarray]]
"""Gathered inputs: attr -> (values over all units, whether a source gave one)."""

N_UNITS = Param(
    fleet.N_UNITS,
    "int",
    "-",
    None,
    "number of units of the fleet; None: the length of a list param",
)
STEP_S = Param("step_s", "int", "s", DEFAULT_STEP_S, "stepping interval")
START = Param("start", "str", "-", DEFAULT_START, "ISO date and time of t_s = 0")


@dataclass(frozen=True)
class Input:
    """One input attribute: its value where no source gives one, how several sources combine
    (:data:`cosim.core.simapi.REDUCTIONS`) and its check.

    ``nan_is_none``: NaN means "none" (only infinite values are refused), else a given value
    must be finite; ``min_value``: values below it are refused; ``checked=False``: the unit
    type checks it itself (or it is a bool).
    """

    attr: Attr
    default: Any
    how: str = "sum"
    nan_is_none: bool = False
    min_value: float | None = None
    checked: bool = True

    def check(self, values: np.ndarray, given: np.ndarray, eids: Sequence[str]) -> None:
        """A SimulationError naming the first unit whose value breaks the rule."""
        if not self.checked:
            return
        bad = np.isinf(values) if self.nan_is_none else given & ~np.isfinite(values)
        allowed = "finite"
        if self.min_value is not None:
            bad = bad | (values < self.min_value)
            allowed += f" and >= {self.min_value:g}"
        check_inputs(self.attr.name, values, bad, eids, allowed)


@dataclass(frozen=True)
class Schema:
    """What a unit type declares; its mosaik meta (both models) is made from it."""

    model: str
    """Name of the single-unit model (``PV``); the fleet model is this plus ``Fleet``."""
    prefix: str
    """Entity id prefix of its units (``pv_``)."""
    params: tuple[Param, ...]
    """Create params of one unit (``params_of(Params)`` plus any others)."""
    inputs: tuple[Input, ...]
    outputs: tuple[Attr, ...]
    sim_params: tuple[Param, ...] = ()
    """Sim params besides ``step_s`` and ``start``."""
    input_error: type[Exception] = ConfigError
    """Raised for an input attr the model does not have."""
    sim_param_label: str = "sim param"
    """How an unknown sim param is named in its error."""

    @property
    def fleet_model(self) -> str:
        """Name of the fleet model (``PVFleet``)."""
        return self.model + fleet.FLEET

    @property
    def attrs(self) -> tuple[Attr, ...]:
        """Inputs, then outputs, each attribute once."""
        return tuple(dict.fromkeys((*(i.attr for i in self.inputs), *self.outputs)))

    def meta(self) -> Meta:
        """The mosaik meta: both models from the declarations, and the extra method ``route``."""
        inputs = [i.attr for i in self.inputs]
        per_unit = [
            dataclasses.replace(p, doc=f"{p.doc} (scalar or one per unit)") for p in self.params
        ]
        models = {
            name: model_meta(self.attrs, params=params, inputs=inputs, outputs=self.outputs)
            for name, params in (
                (self.model, self.params),
                (self.fleet_model, (*per_unit, N_UNITS)),
            )
        }
        meta = sim_meta(models)
        meta["extra_methods"] = ["route"]
        return meta  # type: ignore[return-value]


def fleet_units(
    given: Mapping[str, Any], known: Sequence[str], model: str
) -> list[tuple[dict[str, Any], int]]:
    """A fleet's create params as (params, count) groups: ``[(params, n_units)]`` if all are
    scalars, else one group per unit (a list param gives one value per unit, a scalar the
    same to all). A ConfigError names the field and value that do not fit."""
    for key in given:
        if key not in known and key != N_UNITS.name:
            raise unknown(f"{model} param", key, [*known, N_UNITS.name])
    n, shared, per_unit = fleet.split_params(given, model)
    if not per_unit:
        return [(shared, n)]
    return [({**shared, **{k: v[j] for k, v in per_unit.items()}}, 1) for j in range(n)]


class UnitSim(mosaik_api_v3.Simulator, Generic[P]):
    """The mosaik adapter of one unit type: ``<Model>`` and ``<Model>Fleet`` entities over
    the same arrays of all units (position = creation order of the units)."""

    schema: ClassVar[Schema]

    def __init__(self) -> None:
        super().__init__(self.schema.meta())
        self.step_s = DEFAULT_STEP_S
        self.start = datetime.fromisoformat(DEFAULT_START)
        self.where = fleet.Positions()
        self.eids: list[str] = []
        """Unit ids of all units, in array order."""
        self.groups: list[tuple[P, int]] = []
        """(params, count) of all units, in order, as the create calls gave them."""
        self._fleets = 0
        self._how = {i.attr.name: i.how for i in self.schema.inputs}
        self._arrays: dict[str, np.ndarray] = {}
        self._lists: dict[str, list[Any]] = {}
        self._stepped = False

    # --- hooks of the unit type ------------------------------------------------------------

    def read_params(self, params: dict[str, Any]) -> None:
        """Check and keep the type's own sim params (``params``: every sim param, defaults
        filled in; ``step_s`` and ``start`` are already read)."""

    def make(self, params: dict[str, Any]) -> P:
        """One unit's params from create params (a ConfigError for a bad or unknown one)."""
        raise NotImplementedError

    def extend(self, groups: list[tuple[P, int]], first: int, eids: list[str]) -> None:
        """Add the units of one create call (``groups`` of (params, count), at positions from
        ``first`` on, ids ``eids``) to the model's state; raise before changing anything."""
        raise NotImplementedError

    def input_defaults(self) -> dict[str, Any]:
        """Each input's value where no source gives one (a scalar or an array over units)."""
        return {i.attr.name: i.default for i in self.schema.inputs}

    def advance(self, time: int, given: Given) -> dict[str, np.ndarray]:
        """One step of all units; returns the outputs known now (arrays over all units)."""
        raise NotImplementedError

    def output(self, attr: str) -> np.ndarray:
        """An output made on demand (may also fill ``self._arrays`` with its siblings)."""
        raise not_an_output(attr, self.schema.model, self.schema.outputs)

    def not_ready(self) -> str | None:
        """Why ``step`` cannot run yet, or None."""
        return None if self.eids else f"step() before create(): no {self.schema.model} units"

    # --- mosaik API --------------------------------------------------------------------------

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Check the time resolution (1 s per tick) and the sim params."""
        check_time_resolution(time_resolution)
        declared = (STEP_S, START, *self.schema.sim_params)
        for key in sim_params:
            if key not in [p.name for p in declared]:
                raise unknown(self.schema.sim_param_label, key, [p.name for p in declared])
        params = {**{p.name: p.default for p in declared}, **sim_params}
        self.step_s = positive_int("step_s", params["step_s"])
        self.start = iso_datetime("start", params["start"])
        self.read_params(params)
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        """``num`` units (``<Model>``) or ``num`` fleets (``<Model>Fleet``)."""
        schema = self.schema
        if model not in (schema.model, schema.fleet_model):
            raise unknown("model", model, [schema.model, schema.fleet_model])
        check_num(num)
        if model == schema.model:
            eids = self._add([(self.make(model_params), num)])
            for eid in eids:
                self.where.add_unit(eid)
            return [{"eid": eid, "type": model, "rel": []} for eid in eids]
        out: list[CreateResult] = []
        known = [p.name for p in schema.params]
        for _ in range(num):
            raw = fleet_units(model_params, known, schema.fleet_model)
            eids = self._add(self._fleet_groups(raw))
            feid = f"{schema.prefix}fleet_{self._fleets}"
            self._fleets += 1
            self.where.add_fleet(feid, len(eids))
            out.append({"eid": feid, "type": model, "rel": [], "extra_info": {fleet.UNITS: eids}})
        return out

    def _fleet_groups(self, raw: list[tuple[dict[str, Any], int]]) -> list[tuple[P, int]]:
        """``raw`` groups with each unit's params made; a bad value is a ConfigError naming
        the unit (when the units differ)."""
        if len(raw) == 1:
            return [(self.make(raw[0][0]), raw[0][1])]
        groups = []
        for k, (params, count) in enumerate(raw):
            try:
                groups.append((self.make(params), count))
            except ConfigError as err:
                eid = f"{self.schema.prefix}{len(self.eids) + k}"
                raise ConfigError(f"{self.schema.fleet_model} unit {k} ({eid}): {err}") from None
        return groups

    def _add(self, groups: list[tuple[P, int]]) -> list[str]:
        """Add the units of ``groups``; their unit ids."""
        first = len(self.eids)
        n = sum(count for _, count in groups)
        eids = [f"{self.schema.prefix}{k}" for k in range(first, first + n)]
        self.extend(groups, first, eids)
        self.groups += groups
        self.eids += eids
        self._stepped = False  # the new units have no outputs until the next step
        return eids

    def route(self, eid: str, src: str, positions: Sequence[int]) -> None:
        """Unit k of fleet ``eid`` takes position ``positions[k]`` of what ``src`` sends."""
        self.where.route(eid, src, positions)

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        """Gather the inputs over all units, check them, advance all units one step."""
        why = self.not_ready()
        if why is not None:
            raise SimulationError(why)
        given = fleet.gather(
            inputs, self.where, self.input_defaults(), how=self._how, error=self.schema.input_error
        )
        for declared in self.schema.inputs:
            declared.check(*given[declared.attr.name], self.eids)
        self._arrays = self.advance(time, given)
        self._lists = {}
        self._stepped = True
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """This step's outputs: plain values of single units, arrays (lists across processes)
        of fleets."""
        if not self._stepped:
            raise SimulationError("get_data() before the first step()")
        return fleet.output_data(outputs, self.where, self._arrays, self.output, self._lists)


def units_of(groups: Sequence[tuple[P, int]]) -> list[P]:
    """One params entry per unit from (params, count) groups."""
    return [params for params, count in groups for _ in range(count)]
