"""The one generic mosaik adapter: any :class:`controllers.base.Controller` as a simulator.

Sim params: ``controller`` (a name :func:`controllers.registry.find` knows, or in-process a
Controller class), ``options`` (its constructor's keyword arguments), ``step_s``, ``start``.
The simulator has one entity, ``Controller`` (eid ``ctrl``), that takes any input: each
observed ``(entity, attr)`` arrives as input ``attr`` from source ``entity``. Its outputs are
one attribute per set point, named ``set_point_attr(entity, attr)``, plus the controller's
``reports``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import mosaik_api_v3
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from controllers import registry
from controllers.base import Controller, Measurements
from controllers.fleets import Fleets, HeldSetPoints
from cosim.core.errors import ConfigError, SimulationError
from cosim.core.simapi import API_VERSION, check_init

MODEL = "Controller"
EID = "ctrl"


def set_point_attr(entity: str, attr: str) -> str:
    """The controller entity's output that carries set point ``attr`` of ``entity``."""
    return f"{entity}:{attr}"


def build(
    controller: str | type[Controller], options: dict[str, Any] | None, step_s: int | None = None
) -> Controller:
    """The controller instance of a name or class and its options; a controller that takes a
    ``step_s`` option gets the simulator's ``step_s`` (one owner: the scenario's step)."""
    if options is not None and not isinstance(options, dict):
        raise ConfigError(f"options={options!r} must be a dict of the controller's options")
    cls = registry.find(controller) if isinstance(controller, str) else controller
    if not (isinstance(cls, type) and issubclass(cls, Controller)):
        raise ConfigError(f"controller={cls!r} is not a subclass of controllers.base.Controller")
    instance = registry.instantiate(cls, options or {}, step_s)
    check_declarations(instance)
    return instance


def check_declarations(ctrl: Controller) -> None:
    """observes() and sets() are lists/dicts of (entity, attr) string pairs."""
    name = type(ctrl).__name__
    points = [*ctrl.observes(), *ctrl.observes_previous(), *ctrl.sets()]
    for point in points:
        if not (
            isinstance(point, tuple) and len(point) == 2 and all(isinstance(p, str) for p in point)
        ):
            raise ConfigError(f"{name}: {point!r} is not an (entity full id, attr) pair of strings")
    clash = set(ctrl.reports) & {set_point_attr(*p) for p in ctrl.sets()}
    if clash:
        raise ConfigError(f"{name}: reports {sorted(clash)} clash with set point names")


class ControllerSim(mosaik_api_v3.Simulator):
    """Hosts one controller; steps every ``step_s`` after the units it observes."""

    def __init__(self, controller: str | None = None, options: dict[str, Any] | None = None):
        super().__init__({"api_version": API_VERSION, "type": "time-based", "models": {}})
        self._default: dict[str, Any] = {"controller": controller, "options": options}
        self.ctrl: Controller | None = None
        self.step_s = 0
        self._sets: HeldSetPoints | None = None  # output attr -> value now
        self._fleets = Fleets()
        self._observed: dict[str, set[str]] = {}
        self._created = False

    def configure(self, args: dict[str, Any]) -> None:
        """Command-line defaults of ``python -m controllers`` (``--controller``, ``--options``)."""
        import json

        if args.get("--controller"):
            self._default["controller"] = args["--controller"]
        if args.get("--options"):
            try:
                self._default["options"] = json.loads(args["--options"])
            except json.JSONDecodeError as err:
                raise SystemExit(f"--options is not valid JSON: {err}") from None

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        own: dict[str, Any] = {
            k: sim_params.pop(k) for k in ("controller", "options") if k in sim_params
        }
        self._fleets = Fleets(sim_params.pop("fleets", None))
        self.step_s, _ = check_init(time_resolution, sim_params)
        params: dict[str, Any] = {**self._default, **own}
        if params["controller"] is None:
            raise ConfigError("controller sim: no controller given (sim param 'controller')")
        self.ctrl = build(params["controller"], params["options"], self.step_s)
        for entity, attr in [*self.ctrl.observes(), *self.ctrl.observes_previous()]:
            self._observed.setdefault(entity, set()).add(attr)
        self._sets = sets = HeldSetPoints(self._fleets, self.ctrl.sets(), set_point_attr)
        attrs = [*sets.held, *self.ctrl.reports]
        self.meta["models"] = {
            MODEL: {"public": True, "params": [], "attrs": attrs, "any_inputs": True}
        }
        self.meta["cosim"] = {  # type: ignore[typeddict-unknown-key]  # what the scenario helper wires: measurements in, set points out
            "controller": type(self.ctrl).__name__,
            "observes": [list(p) for p in self._fleets.observed(self.ctrl.observes())],
            "observes_previous": [
                list(p) for p in self._fleets.observed(self.ctrl.observes_previous())
            ],
            "same_step": bool(self.ctrl.same_step),
            "sets": [[e, a, k, _json(sets.held[k])] for e, a, k in sets.points],
            "reports": list(self.ctrl.reports),
        }
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        if model != MODEL or num != 1 or model_params:
            raise ConfigError(f"create one {MODEL} without params; got {num} x {model!r}")
        if self.ctrl is None or self._created:
            raise ConfigError("one controller entity per controller sim, after init")
        self._created = True
        return [{"eid": EID, "type": MODEL, "rel": []}]

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        assert self.ctrl is not None
        values: dict[str, dict[str, Any]] = defaultdict(dict)
        for attr, sources in inputs.get(EID, {}).items():
            for src, value in sources.items():
                values[src][attr] = value
        self._fleets.split(values)
        decided = self.ctrl.decide(time, Measurements(values, self._observed))
        if not isinstance(decided, dict):
            raise SimulationError(
                f"{type(self.ctrl).__name__}.decide returned {type(decided).__name__} at "
                f"t_s={time}; it must return {{entity: {{attr: value}}}}"
            )
        assert self._sets is not None
        for entity, attrs in decided.items():
            for attr, value in attrs.items():
                if not self._sets.set(entity, attr, value):
                    raise SimulationError(
                        f"{type(self.ctrl).__name__} set {attr!r} of {entity!r} at t_s={time}, "
                        f"which it does not declare in sets(): {sorted(self.ctrl.sets())}"
                    )
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        assert self.ctrl is not None
        report = self.ctrl.report() if self.ctrl.reports else {}
        data: dict[str, Any] = {}
        held = self._sets.held if self._sets is not None else {}
        for attr in outputs.get(EID, ()):
            data[attr] = self._sets.value(attr) if attr in held else report.get(attr)  # type: ignore[union-attr]
        return {EID: data}


def _json(value: Any) -> Any:
    """A declared initial set point as the meta carries it (arrays as lists)."""
    return value.tolist() if hasattr(value, "tolist") else value
