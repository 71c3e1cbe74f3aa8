"""Finding scenarios, and the Builder a scenario's ``build()`` uses to make its world.

A scenario is a module (built-in under ``scenarios/`` or any ``.py`` file) with

- ``Config``: a frozen dataclass subclassing :class:`cosim.run.config.RunConfig`;
- ``build(b: Builder, cfg: Config) -> None``: starts simulators, creates entities, connects
  and records them, all through ``b``;
- ``main()``: ``cosim.cli.main_for(__name__)``, so ``python scenarios/x.py --set ...`` works.

Nothing runs at import.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import mosaik

from cosim.analysis.economics import CAPACITY_KEYS
from cosim.core.errors import ConfigError, unknown
from cosim.core.fleet import FLEET, UNITS
from cosim.core.imports import FILE_MODULE_PREFIX, load_file
from cosim.run import coupling, manifest, registry
from cosim.run.config import RunConfig

BUILTIN_PACKAGE = "scenarios"

RECORDER = "cosim.run.recorder:RecorderSim"
CET = timezone(timedelta(hours=1), "CET")
"""The time zone of a ``start`` given without one (SimBench's profiles are CET all year)."""


_FORMING_LIMITS = {
    "storage": ("p_available_charge_mw", "p_available_discharge_mw"),
    "sgen": ("p_available_mw", "p_min_mw"),
}
"""What a grid-forming unit tells the grid it can give, by grid element (see ``attach``)."""


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario module."""

    name: str
    module: ModuleType

    @property
    def config_class(self) -> type[RunConfig]:
        return self.module.Config  # type: ignore[no-any-return]

    def build(self, builder: Builder, cfg: RunConfig) -> None:
        self.module.build(builder, cfg)


def aware_start(start: str) -> str:
    """``start`` as ISO 8601 with its UTC offset: CET (UTC+1) when it has none."""
    moment = datetime.fromisoformat(start)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CET)
    return moment.isoformat()


def builtin_names() -> list[str]:
    """Names of the built-in scenarios (modules of the ``scenarios`` package)."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    return sorted(
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_") and not m.ispkg  # sub-packages hold examples
    )


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario script by path."""
    path = Path(name_or_path)
    if path.suffix == ".py":
        if not path.is_file():
            raise ConfigError(f"scenario={name_or_path!r}: no such file")
        _importable_beside(path)
        module = load_file(path)
        name = path.stem
    elif name_or_path in builtin_names():
        module = importlib.import_module(f"{BUILTIN_PACKAGE}.{name_or_path}")
        name = name_or_path
    else:
        raise ConfigError(
            f"scenario={name_or_path!r} is unknown; known: {', '.join(builtin_names())} "
            "(or a path to a scenario .py file)"
        )
    for attr in ("Config", "build"):
        if not hasattr(module, attr):
            raise ConfigError(
                f"scenario {name!r} has no {attr}: a scenario needs Config and build()"
            )
    if not (isinstance(module.Config, type) and issubclass(module.Config, RunConfig)):
        raise ConfigError(f"scenario {name!r}: Config must subclass cosim.run.config.RunConfig")
    return Scenario(name, module)


def _importable_beside(path: Path) -> None:
    """Put the script's folder on ``sys.path`` and, for simulators started as their own OS
    processes, on ``PYTHONPATH``: a scenario may import the modules beside it."""
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if folder not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([folder, *filter(None, paths)])


def sim_config(processes: bool, extra: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """mosaik's sim_config: cosim's simulators in-process, or each as its own OS process.

    As processes, a built-in runs as ``python -m <its package>``; an installed one (entry point
    ``cosim.simulators``) through the generic host ``python -m cosim.run.coupling run NAME``.
    """
    config: dict[str, dict[str, str]] = {}
    builtin = {**registry.SIMULATORS, **(extra or {})}
    for name, target in {**registry.simulators(), **(extra or {})}.items():
        if processes and name in builtin:
            package = target.split(":")[0].rsplit(".", 1)[0]
            config[name] = {"cmd": f"%(python)s -m {package} --log-level warning %(addr)s"}
        elif processes:
            config[name] = {"cmd": f"%(python)s -m cosim.run.coupling run {name} %(addr)s"}
        else:
            config[name] = {"python": target}
    config["Recorder"] = {"python": RECORDER}  # the sink stays in-process: it owns the folder
    return config


class Builder:
    """What ``build()`` gets: the mosaik world, the run's Config, and helpers to record."""

    def __init__(
        self, world: mosaik.World, cfg: RunConfig, recorder: Any, sims: dict[str, Any] | None = None
    ) -> None:
        self.world = world
        self.cfg = cfg
        self._recorder = recorder
        self._sims: dict[str, Any] = dict(sims or {})  # sim id -> started simulator
        self.notes: dict[str, str] = {}
        """What the scenario built, ``label: text``; kept in the manifest, shown in the summary."""
        self.kinds: dict[str, str] = {}
        """Declared kinds of grid elements by full id (:meth:`declare`); kept in the manifest."""
        self.coupled: list[dict[str, Any]] = []  # what the manifest records of b.couple
        self.installed: dict[str, float] = {}
        """Installed capacity for the economics KPIs (:meth:`install`); kept in the manifest."""

    def declare(self, entities: Any, kind: str) -> None:
        """Count grid elements that no unit simulator drives (e.g. a SimBench grid's own
        rooftop PV sgens) as ``kind`` in the energy balance: ``pv`` or ``chp``."""
        if kind not in ("pv", "chp"):
            raise ConfigError(f"kind={kind!r} must be 'pv' or 'chp'")
        for entity in coupling.resolve(self.world, entities):
            self.kinds[entity.full_id] = kind

    def note(self, label: str, text: str) -> None:
        """Say what was built (e.g. how many units of each kind), for the manifest and summary."""
        self.notes[label] = text

    @property
    def start_iso(self) -> str:
        """The Config's ``start`` as ISO 8601 with its UTC offset; a ``start`` without one is
        CET (UTC+1), as cosim's simulators read it. Give this to a coupled simulator that
        takes a date: one that reads a bare date as UTC would otherwise run 1 h off."""
        return aware_start(self.cfg.start)

    def install(self, **capacity: float) -> None:
        """Declare installed capacity for the economics KPIs (``cosim.analysis.economics``),
        summed over calls: ``pv_mw`` (DC peak), ``battery_mwh`` (usable), ``chp_mw``
        (electrical)."""
        for key, value in capacity.items():
            if key not in CAPACITY_KEYS.values():
                raise unknown("installed capacity", key, list(CAPACITY_KEYS.values()))
            if not value >= 0:
                raise ConfigError(f"installed {key}={value!r} must be >= 0")
            self.installed[key] = self.installed.get(key, 0.0) + float(value)

    def start(self, sim_name: str, **params: Any) -> Any:
        """Start one of cosim's simulators by its mosaik name (``Grid``, ``Profiles``..., or
        one an installed package registers under entry point ``cosim.simulators``).

        ``step_s`` and ``start`` default to the Config's step size and start.
        """
        registry.target(sim_name)  # an unknown name lists the known ones
        params.setdefault("step_s", self.cfg.step_s)
        params.setdefault("start", self.cfg.start)
        return self._started(self.world.start(sim_name, **params))

    def _started(self, factory: Any) -> CheckedSim:
        sim = CheckedSim(factory)
        self._sims[factory._sid] = factory
        return sim

    def fleet(self, sim: Any, model: str | None = None, **params: Any) -> Any:
        """One fleet entity of a started simulator: ``model`` (default: the simulator's
        unit model, e.g. ``PV``) + ``Fleet``, with ``params`` scalar (shared) or one per unit
        (``cosim.core.fleet``). Its units are named as single entities would be."""
        models = [m for m in sim.meta["models"] if m.endswith(FLEET)]
        name = f"{model}{FLEET}" if model else (models[0] if len(models) == 1 else "")
        if name not in models:
            raise ConfigError(f"fleet model {name or model!r} is not one of {models}")
        return getattr(sim, name)(**params)

    def route(self, src: Any, dest: Any, positions: Sequence[int]) -> None:
        """Fleet ``dest``'s unit k takes position ``positions[k]`` of what ``src`` sends
        (``-1``: nothing), for every attr connected from ``src`` to ``dest``."""
        src, dest = coupling.entity(self.world, src), coupling.entity(self.world, dest)
        sim = self._sims.get(dest.sid)
        if sim is None or "route" not in sim.meta.get("extra_methods", ()):
            raise ConfigError(f"{dest.full_id} takes no route: it is not a fleet of cosim's")
        sim.route(dest.eid, src.full_id, [int(k) for k in positions])

    def connect(
        self,
        src: Any,
        dest: Any,
        *attrs: str | tuple[str, str],
        route: Sequence[int] | None = None,
        **options: Any,
    ) -> None:
        """``world.connect`` for one pair of entities; attributes of different declared units
        are a ConfigError naming both (:func:`cosim.run.coupling.connect`). ``route``: see
        :meth:`route` (between fleets of different units)."""
        coupling.connect(self.world, src, dest, *attrs, **options)
        if route is not None:
            self.route(src, dest, route)

    def attach(
        self,
        grid_sim: Any,
        units: Any,
        element: str,
        buses: Sequence[int],
        attrs: Sequence[str] = ("p_mw", "q_mvar"),
        grid_forming: bool = False,
        sn_mva: float | None = None,
    ) -> list[Any]:
        """Create a grid ``element`` (``load``, ``sgen``, ``storage``) at each bus, fed by its unit.

        ``units``: a sequence of unit entities, or one fleet entity (then one grid fleet of
        as many elements is created, fed by one connection).

        The unit's ``attrs`` flow to the new element every step (same step, no shift); its
        full id is the element's name in the net, ``sn_mva`` its apparent-power rating.
        ``grid_forming`` units (created with ``grid_forming=True`` in their own simulator too)
        hold an island that loses its external grid: what each can give this step
        (``p_available_charge_mw``/``p_available_discharge_mw`` of a storage,
        ``p_available_mw``/``p_min_mw`` of an sgen, those the unit outputs) goes to the grid in
        the same step, and the grid's ``p_slack_mw`` goes back to each one step late, for their
        SoC or fuel. Returns the new grid entities.
        """
        models = {"load": "Load", "sgen": "Sgen", "storage": "Storage"}
        if element not in models:
            raise unknown("element", element, list(models))
        fleet = units_of(units)
        if fleet is not None:  # a fleet: one grid fleet of as many elements, one connection
            if len(fleet) != len(buses):
                raise ConfigError(
                    f"fleet {units.full_id} has {len(fleet)} units but {len(buses)} buses: "
                    "give one bus per unit"
                )
            if not fleet:
                return []
            made = getattr(grid_sim, models[element] + FLEET)(
                buses=[int(b) for b in buses],
                names=fleet,
                grid_forming=grid_forming,
                sn_mva=sn_mva,
            )
            pairs = [(units, made)]
        else:
            if len(units) != len(buses):
                raise ConfigError(
                    f"{len(units)} units but {len(buses)} buses: give one bus per unit"
                )
            pairs = [
                (
                    unit,
                    getattr(grid_sim, models[element])(
                        bus=int(bus), name=unit.full_id, grid_forming=grid_forming, sn_mva=sn_mva
                    ),
                )
                for unit, bus in zip(units, buses, strict=True)
            ]
        for unit, target in pairs:
            coupling.connect(self.world, unit, target, *attrs)
            if grid_forming:
                outputs = unit.model_mock.output_attrs
                if given := [a for a in _FORMING_LIMITS.get(element, ()) if a in outputs]:
                    coupling.connect(self.world, unit, target, *given)
                self.check_attrs(unit, ["p_slack_mw"], "input")
                self.feed_back(target, unit, "p_slack_mw", initial={"p_slack_mw": float("nan")})
        return [target for _, target in pairs]

    def feed_back(
        self,
        src: Any,
        dest: Any,
        *attrs: str,
        initial: dict[str, Any],
        route: Sequence[int] | None = None,
    ) -> None:
        """Connect ``src`` to ``dest`` one step late (measured at t, used at t + step).

        For values that flow against the data flow of a step, such as a bus voltage going back
        to the unit that feeds the bus. ``initial`` holds each attr's value for the first step
        (a scalar reaches every unit of a fleet). ``route``: see :meth:`route`.
        """
        self.connect(src, dest, *attrs, route=route, time_shifted=True, initial_data=initial)

    def entity(self, full_id: str) -> Any:
        """The entity with mosaik full id ``full_id`` (``"Grid-0.bus_3"``) of a started sim;
        a ConfigError names the closest ones."""
        return coupling.entity(self.world, full_id)

    def entities(self, sid: str) -> list[Any]:
        """Every entity of the started simulator ``sid`` (``"Battery-0"``), in creation order."""
        factories = coupling.factories(self.world)
        if sid not in factories:
            raise ConfigError(f"no simulator {sid!r}; started: {sorted(factories)}")
        return list(factories[sid].entities.values())

    def fleets(self) -> dict[str, list[str]]:
        """Every fleet entity of the world (full id) and its units' full ids."""
        found = {}
        for factory in coupling.factories(self.world).values():
            for ent in factory.entities.values():
                if (units := units_of(ent)) is not None:
                    found[ent.full_id] = units
        return found

    def check_attrs(self, entity: Any, attrs: Iterable[str], role: str) -> None:
        """A ConfigError unless ``entity`` has every one of ``attrs`` as an ``input`` or
        ``output`` (``role``), listing the ones it has."""
        for attr in attrs:
            coupling.check_attr(self.world, entity, attr, role)

    def control(
        self,
        controller: str | type | None = None,
        options: dict[str, Any] | None = None,
        *,
        address: str | None = None,
    ) -> Any:
        """Plug a controller in: start it, observe its measurements, feed its set points back.

        ``controller`` is a name (built-in, entry point ``cosim.controllers``,
        ``"package.module:Class"``) or a Controller class; ``options`` are its keyword
        arguments (JSON-serialisable: they may cross to another process). Measurements flow
        in the same step (``observes_previous``: one step late); set points are time-shifted
        (decided at t, applied from t + step_s, starting from the initial values the
        controller declares) unless the controller is ``same_step``. Returns the controller's
        entity, whose ``reports`` can be recorded.

        ``address`` (``"HOST:PORT"``) reaches a controller host already running, started with
        ``python -m controllers HOST:PORT --remote [--controller NAME --options JSON]``;
        ``controller`` and ``options`` given here override those of its command line.
        """
        given: dict[str, Any] = {}
        if controller is not None:
            spec = controller if isinstance(controller, str) else _class_spec(controller)
            given["controller"] = spec
        if options is not None or controller is not None:
            given["options"] = options or {}
        try:
            json.dumps(given)
        except TypeError as err:
            raise ConfigError(f"options of controller {controller!r} must be JSON: {err}") from None
        if fleets := self.fleets():  # units inside fleets: the host observes and sets fleets
            given["fleets"] = fleets
        if address is None:
            if controller is None:
                raise ConfigError("control: give a controller, or the address of a running one")
            sim = self.start("Controller", **given)
        else:
            taken = sum(name.startswith("RemoteController") for name in self.world.sim_config)
            sim = self.couple(
                f"RemoteController{taken}",
                {"connect": address},
                step_s=self.cfg.step_s,
                start=self.cfg.start,
                **given,
            )
        declared = sim.meta["cosim"]
        ctrl = sim.Controller()
        for shifted in (False, True):  # wire checks every name before connecting
            key = "observes_previous" if shifted else "observes"
            for entity_id, attrs in _by_entity(declared[key]).items():
                initial = dict.fromkeys(attrs) if shifted else None
                coupling.wire(
                    self.world,
                    entity_id,
                    ctrl,
                    {a: a for a in attrs},
                    time_shifted=shifted,
                    initial=initial,
                )
        shift = not declared["same_step"]
        sets = _by_entity([(e, (k, a, v)) for e, a, k, v in declared["sets"]])
        for entity_id, points in sets.items():
            coupling.wire(
                self.world,
                ctrl,
                entity_id,
                {k: a for k, a, _ in points},
                time_shifted=shift,
                initial={k: v for k, _, v in points} if shift else None,
            )
        return ctrl

    def record(self, entities: Any, *attrs: str) -> int:
        """Record ``attrs`` of ``entities``: one entity or full id (``"Grid-0.bus_3"``), or a
        sequence of them. Each must output every attr (else a ConfigError listing its attrs).
        Returns the number of entities."""
        found = coupling.resolve(self.world, entities)
        for entity in found:
            for attr in attrs:
                coupling.check_attr(self.world, entity, attr, "output")
            if (units := units_of(entity)) is not None:  # one column per unit
                self._sims[self._recorder.sid].expand(entity.full_id, units)
            self.world.connect(entity, self._recorder, *attrs)
        return len(found)

    def couple(
        self, name: str, config: dict[str, Any], *, timeout_s: float | None = None, **params: Any
    ) -> Any:
        """Start any mosaik-API simulator by its mosaik sim config, guarded; see
        :func:`cosim.run.coupling.couple` (``{"python": ...}``, ``{"cmd": ...}``,
        ``{"connect": ...}``).
        """
        sim = self._started(
            coupling.couple(self.world, name, config, timeout_s=timeout_s, **params)
        )
        self.coupled.append(manifest.coupled(name, config))
        return sim

    def wire(
        self,
        src: Any,
        dest: Any,
        attrs: Any,
        *,
        time_shifted: bool = False,
        initial: dict[str, Any] | None = None,
    ) -> int:
        """Connect entities (objects or full ids) with renaming and transforms; see
        :func:`cosim.run.coupling.wire`."""
        return coupling.wire(
            self.world, src, dest, attrs, time_shifted=time_shifted, initial=initial
        )


def units_of(entity: Any) -> list[str] | None:
    """The full ids of a fleet entity's units (``cosim.core.fleet``); None for another entity."""
    info = getattr(entity, "extra_info", None) or {}
    units = info.get(UNITS) if isinstance(info, dict) else None
    if units is None:
        return None
    return [f"{entity.sid}.{eid}" for eid in units]


class CheckedSim:
    """A started simulator (mosaik's ModelFactory) whose models check create params first.

    mosaik refuses an unknown create param with a bare TypeError; here it is a ConfigError
    that lists the params the model declares. Everything else is the factory's own.
    """

    def __init__(self, factory: Any) -> None:
        self._factory = factory

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._factory, name)
        model = self._factory.meta.get("models", {}).get(name)
        return value if model is None else _CheckedModel(value, name, model.get("params", ()))


class _CheckedModel:
    """One model of a :class:`CheckedSim`: ``create`` and ``__call__`` check their params."""

    def __init__(self, mock: Any, name: str, params: Iterable[str]) -> None:
        self._mock, self._name, self._params = mock, name, tuple(params)

    def _check(self, params: dict[str, Any]) -> None:
        for key in params:
            if key not in self._params:
                raise unknown(f"{self._name} parameter", key, self._params)

    def __call__(self, **params: Any) -> Any:
        self._check(params)
        return self._mock(**params)

    def create(self, num: int, **params: Any) -> Any:
        self._check(params)
        return self._mock.create(num, **params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mock, name)


def _by_entity(points: Iterable[Sequence[Any]]) -> dict[str, list[Any]]:
    """Group ``(entity, x)`` pairs by entity, in order."""
    grouped: dict[str, list[Any]] = {}
    for entity, x in points:
        grouped.setdefault(entity, []).append(x)
    return grouped


def _class_spec(cls: type) -> str:
    """``"module:Class"`` of a class, by file path if it lives in a scenario script."""
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if cls.__module__.startswith(FILE_MODULE_PREFIX) and path:
        return f"{Path(path).resolve()}:{cls.__qualname__}"
    return f"{cls.__module__}:{cls.__qualname__}"
